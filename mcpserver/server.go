// Package mcpserver is agentpay as an MCP server: the tools a model uses to
// pay merchants for its user (link the account, find merchants, ask for a
// payment, wait for the user's decision, cancel, file a claim).
//
// The server is one agent installation. It holds its own Ed25519 agent key
// (created on first use in its directory, readable by its owner only) and
// calls the agentpay API with signed requests through the Go SDK, exactly
// as any SDK agent does: it has no powers an agent does not have. Above all
// it can never approve a payment. Every payment is approved by the user with
// their passkey on agentpay's approval page, never inside the model's
// conversation; the tools only tell the model, and through elicitation the
// user, where to approve.
package mcpserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/agentpay/agentpay/sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// DefaultServerURL is the agentpay server agentpay mcp talks to by default:
// the public URL agentpay serve has when run with no flags. Signatures cover
// the target URI, so this must be the server's public URL exactly (with
// "localhost", not 127.0.0.1).
const DefaultServerURL = "http://localhost:8080"

// Options configure a Server.
type Options struct {
	// ServerURL is the agentpay server's public base URL (its
	// --public-url); "" means DefaultServerURL.
	ServerURL string
	// Dir holds the agent key and link state; "" means DefaultDir().
	Dir string
	// Version is the version reported to MCP clients.
	Version string
	// HTTPClient sends the API requests (nil: http.DefaultClient); Sleep
	// waits between link polls and retries (nil: a timer). Tests replace
	// them.
	HTTPClient *http.Client
	Sleep      func(ctx context.Context, d time.Duration) error
	// ElicitTimeout bounds how long create_payment waits for the user to
	// acknowledge the approval link it shows through elicitation (0: two
	// minutes). The payment exists either way.
	ElicitTimeout time.Duration
	// Log receives what the server does (nil: discarded). Over stdio it
	// must not be stdout, which carries the protocol.
	Log *slog.Logger
}

// Server is an MCP server acting as one agentpay agent.
type Server struct {
	opts  Options
	agent *sdk.Agent
	home  *home
	mcp   *mcp.Server
	log   *slog.Logger

	names sync.Map // merchant id -> name, for the texts shown to the model

	// bg is the life of background link polls; Close ends it.
	bg       context.Context
	stopBg   context.CancelFunc
	polls    sync.WaitGroup
	linkMu   sync.Mutex // one link started at a time
	closedMu sync.Mutex
	closed   bool
}

// New opens (or on first use creates) the agent key in opts.Dir and
// returns a server with every tool registered.
func New(opts Options) (*Server, error) {
	if opts.ServerURL == "" {
		opts.ServerURL = DefaultServerURL
	}
	opts.ServerURL = strings.TrimRight(opts.ServerURL, "/")
	if opts.Dir == "" {
		dir, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		opts.Dir = dir
	}
	if opts.ElicitTimeout <= 0 {
		opts.ElicitTimeout = 2 * time.Minute
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h, err := openHome(opts.Dir)
	if err != nil {
		return nil, err
	}
	agent := sdk.NewAgent(opts.ServerURL, h.key)
	agent.HTTPClient, agent.Sleep = opts.HTTPClient, opts.Sleep
	bg, stop := context.WithCancel(context.Background())
	s := &Server{opts: opts, agent: agent, home: h, log: log, bg: bg, stopBg: stop}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "agentpay", Title: "agentpay", Version: opts.Version},
		&mcp.ServerOptions{Instructions: instructions, Logger: log})
	s.addTools()
	return s, nil
}

// instructions tell the model what the tools are for and the one rule it
// cannot bend: the user approves every payment with their passkey.
const instructions = `agentpay lets you pay merchants on the user's behalf, within limits the user set.
You can never approve a payment: the user approves each one with their passkey on agentpay's approval page.
First use: call link_account and show the user the link and code it returns; they approve the link with their passkey.
To buy: list_merchants (ids and the assets they take), get_grant (how much you may still spend), create_payment
(amounts in minor units; give a request_id you reuse if you retry), show the user the approval_url and ask them to
approve it with their passkey, then wait_for_approval until the status is no longer requires_approval.
A payment in_review was held by risk control for an operator; declined means it was refused (decline_code says why).
Use cancel_payment to call a payment off, and file_claim if a captured payment went wrong (never arrived, duplicate).`

// MCP returns the MCP server, to serve over any transport.
func (s *Server) MCP() *mcp.Server { return s.mcp }

// KeyID returns the fingerprint of the agent key (its RFC 7638
// thumbprint), which the linking page shows the user.
func (s *Server) KeyID() string { return s.agent.KeyID() }

// Run serves one client over t until the client disconnects or ctx ends,
// then stops background work.
func (s *Server) Run(ctx context.Context, t mcp.Transport) error {
	err := s.mcp.Run(ctx, t)
	s.Close()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // asked to stop
	}
	return err
}

// Close stops the background link polls and waits for them. A link the
// user approves later still links the key: the grant is the server's, and
// the next call finds it.
func (s *Server) Close() {
	s.closedMu.Lock()
	s.closed = true
	s.closedMu.Unlock()
	s.stopBg()
	s.polls.Wait()
}

// addTools registers every tool.
func (s *Server) addTools() {
	s.addLinkTools()
	s.addMerchantTools()
	s.addPaymentTools()
	s.addClaimTools()
	s.addTipTools()
	s.addSubscriptionTools()
	s.addProductTools()
}
