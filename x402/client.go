package x402

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
)

// clientBodyMax bounds the v1 402 body a Client reads.
const clientBodyMax = 1 << 20

// clockSkew is how far before now a Client starts an authorization's
// window, so a server whose clock is a little behind still accepts it.
const clockSkew = 30 * time.Second

// Client is an HTTP client for agents that pays for x402-priced resources
// with the agentpay ledger scheme. Its zero value pays for nothing: an
// agent spends only in assets, and up to amounts, it was configured for.
type Client struct {
	// Key is the agent's Ed25519 key.
	Key ed25519.PrivateKey
	// KeyID is the key's RFC 7638 thumbprint; empty means computed from Key.
	KeyID string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// MaxAmount caps one payment per asset code, in atomic units.
	// Requirements in other assets, or above the cap, are never paid.
	MaxAmount map[string]int64
	// Networks, if not empty, are the only ledger networks paid on.
	Networks []string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Do sends req. If the answer is 402 with x402 requirements (the
// PAYMENT-REQUIRED header of v2, or a v1 body), Do picks the first
// requirement it may pay (ledger scheme exact or upto, an allowed network
// and asset, within MaxAmount), signs an Authorization for it and sends req
// again once with the payment (PAYMENT-SIGNATURE, or X-PAYMENT for v1). It
// returns the final response; PaymentResponse reads its settlement. Any
// other answer is returned as it is.
//
// A request with a body must have GetBody (http.NewRequest sets it for
// in-memory bodies), since it may be sent twice.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if len(c.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("x402: Client.Key is not an Ed25519 private key")
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return nil, errors.New("x402: a request with a body needs GetBody to be paid for and sent again")
	}
	resp, err := c.http().Do(req)
	if err != nil || resp.StatusCode != http.StatusPaymentRequired {
		return resp, err
	}
	pr, err := readPaymentRequired(resp)
	if err != nil {
		discard(resp)
		return nil, err
	}
	if pr == nil {
		return resp, nil // a 402 that is not x402's
	}
	discard(resp)

	chosen, err := c.choose(pr.Accepts)
	if err != nil {
		return nil, err
	}
	name, value, err := c.pay(pr, chosen, req)
	if err != nil {
		return nil, err
	}
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return nil, fmt.Errorf("x402: request body: %w", err)
		}
	}
	retry.Header.Del(HeaderPaymentSignature)
	retry.Header.Del(HeaderXPayment)
	retry.Header.Set(name, value)
	return c.http().Do(retry)
}

// discard drains a little of resp's body, so the connection can be reused,
// and closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// readPaymentRequired reads the requirements of a 402: the v2 header, else
// a v1 body. It returns nil if the 402 carries neither, leaving resp's body
// readable.
func readPaymentRequired(resp *http.Response) (*PaymentRequired, error) {
	if h := resp.Header.Get(HeaderPaymentRequired); h != "" {
		return DecodePaymentRequired(h)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, clientBodyMax+1))
	if err != nil {
		return nil, fmt.Errorf("x402: reading the 402 body: %w", err)
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > clientBodyMax || headerVersion(body) != VersionV1 {
		return nil, nil
	}
	v1, err := DecodePaymentRequiredV1(body)
	if err != nil {
		return nil, err
	}
	pr := v1.V2()
	return &pr, nil
}

// choose returns the first requirement c may pay, in the server's order of
// preference.
func (c *Client) choose(accepts []PaymentRequirements) (*PaymentRequirements, error) {
	for i := range accepts {
		r := &accepts[i]
		if !IsLedgerScheme(r.Scheme) || !IsLedgerNetwork(r.Network) || !agentpay.ValidID(r.PayTo) {
			continue
		}
		if len(c.Networks) > 0 && !slices.Contains(c.Networks, r.Network) {
			continue
		}
		limit, ok := c.MaxAmount[r.Asset]
		amount, valid := parseAmount64(r.Amount)
		if ok && valid && amount > 0 && amount <= limit {
			return r, nil
		}
	}
	return nil, errorf(ReasonUnsupportedScheme, "none of the %d requirements offered is an agentpay ledger payment this client may make", len(accepts))
}

// pay signs an authorization for r and returns the header to send it in.
func (c *Client) pay(pr *PaymentRequired, r *PaymentRequirements, req *http.Request) (string, string, error) {
	keyID := c.KeyID
	if keyID == "" {
		keyID = agentauth.Thumbprint(c.Key.Public().(ed25519.PublicKey))
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	after := now.Add(-clockSkew)
	window := time.Duration(r.MaxTimeoutSeconds)*time.Second + clockSkew
	window = min(window, AuthorizationWindowMax)
	resource := pr.Resource.URL
	if resource == "" {
		resource = req.URL.String()
	}
	a := &Authorization{
		Scheme:      r.Scheme,
		Network:     r.Network,
		Asset:       r.Asset,
		From:        keyID,
		To:          r.PayTo,
		Value:       r.Amount,
		Resource:    resource,
		ValidAfter:  strconv.FormatInt(after.Unix(), 10),
		ValidBefore: strconv.FormatInt(after.Add(window).Unix(), 10),
		Nonce:       NewNonce(),
	}
	payload, err := NewLedgerPayload(a, c.Key)
	if err != nil {
		return "", "", err
	}
	if pr.X402Version == VersionV1 {
		value, err := EncodeHeader(PaymentPayloadV1{X402Version: VersionV1, Scheme: r.Scheme, Network: r.Network, Payload: payload})
		return HeaderXPayment, value, err
	}
	res := pr.Resource
	value, err := EncodeHeader(PaymentPayload{X402Version: Version, Resource: &res, Accepted: *r, Payload: payload, Extensions: pr.Extensions})
	return HeaderPaymentSignature, value, err
}

// PaymentResponse returns the settlement resp carries in PAYMENT-RESPONSE
// or X-PAYMENT-RESPONSE, or nil if it carries none.
func PaymentResponse(resp *http.Response) (*SettleResponse, error) {
	h := resp.Header.Get(HeaderPaymentResponse)
	if h == "" {
		h = resp.Header.Get(HeaderXPaymentResponse)
	}
	if h == "" {
		return nil, nil
	}
	return DecodeSettleResponse(h)
}
