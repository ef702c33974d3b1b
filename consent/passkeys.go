// Package consent holds what users consent with: their passkeys (the
// WebAuthn registration and login ceremonies, through go-webauthn) and the
// page sessions a login opens.
//
// Ceremony state lives server-side in webauthn_ceremonies: begin stores it
// with a short expiry, finish consumes it with a versioned update, so each
// ceremony completes at most once on any node. Every write goes through a
// unit of work.
package consent

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// CeremonyTTL is how long a begun ceremony may be finished.
const CeremonyTTL = 5 * time.Minute

// PasskeysPerUserMax bounds how many passkeys one user may register.
const PasskeysPerUserMax = 20

// Ceremony kinds.
const (
	kindRegister = "register"
	kindLogin    = "login"
)

// Passkeys runs WebAuthn ceremonies over a store. User verification is
// always required.
type Passkeys struct {
	DB       *store.DB
	WebAuthn *webauthn.WebAuthn
	Now      func() time.Time // nil: time.Now
}

// RelyingParty returns the WebAuthn relying party ID and origin of a public
// base URL: the host without port, and scheme://host[:port].
func RelyingParty(publicBaseURL string) (rpID, origin string, err error) {
	u, err := url.Parse(publicBaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", agentpay.Errorf(agentpay.EINVALID, "invalid_public_url", "the public base URL must be http(s)://host[:port]")
	}
	if net.ParseIP(u.Hostname()) != nil {
		return "", "", agentpay.Errorf(agentpay.EINVALID, "invalid_public_url",
			"the public base URL must name a host, not an IP address: passkeys are bound to a domain (use localhost in development)")
	}
	return u.Hostname(), u.Scheme + "://" + u.Host, nil
}

// NewPasskeys configures WebAuthn for the server reached at publicBaseURL.
func NewPasskeys(db *store.DB, publicBaseURL string) (*Passkeys, error) {
	rpID, origin, err := RelyingParty(publicBaseURL)
	if err != nil {
		return nil, err
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: "agentpay",
		RPOrigins:     []string{origin},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil, err
	}
	return &Passkeys{DB: db, WebAuthn: w}, nil
}

func (p *Passkeys) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// webUser adapts a user and their passkeys to go-webauthn. The user handle
// is the user id.
type webUser struct {
	user  agentpay.User
	creds []webauthn.Credential
}

func (u *webUser) WebAuthnID() []byte { return []byte(u.user.ID) }
func (u *webUser) WebAuthnName() string {
	if u.user.Email != "" {
		return u.user.Email
	}
	return u.user.Phone
}
func (u *webUser) WebAuthnDisplayName() string                { return u.user.DisplayName }
func (u *webUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

var b64 = base64.RawURLEncoding

func credentialOf(k store.Passkey) (webauthn.Credential, error) {
	id, err := b64.DecodeString(k.ID)
	if err != nil {
		return webauthn.Credential{}, err
	}
	pub, err := b64.DecodeString(k.PublicKey)
	if err != nil {
		return webauthn.Credential{}, err
	}
	aaguid, err := hex.DecodeString(k.AAGUID)
	if err != nil {
		return webauthn.Credential{}, err
	}
	c := webauthn.Credential{ID: id, PublicKey: pub, Flags: webauthn.CredentialFlagsFromMsgpByte(byte(k.Flags)),
		Authenticator: webauthn.Authenticator{AAGUID: aaguid, SignCount: uint32(k.SignCount)}}
	for _, t := range strings.Split(k.Transports, ",") {
		if t != "" {
			c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
		}
	}
	return c, nil
}

// loadUser reads a user and their passkeys.
func (p *Passkeys) loadUser(ctx context.Context, userID string) (*webUser, []store.Passkey, error) {
	if !agentpay.ValidID(userID) {
		return nil, nil, agentpay.Errorf(agentpay.ENOTFOUND, "user_not_found", "user not found")
	}
	u, err := p.DB.User(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	keys, err := p.DB.UserPasskeys(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	wu := &webUser{user: u.User}
	for _, k := range keys {
		c, err := credentialOf(k)
		if err != nil {
			return nil, nil, err
		}
		wu.creds = append(wu.creds, c)
	}
	return wu, keys, nil
}

// Passkeys returns a user's passkeys, oldest first.
func (p *Passkeys) Passkeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	return p.DB.UserPasskeys(ctx, userID)
}

// begin stores a ceremony's state (go-webauthn's session data, or a value
// holding it).
func (p *Passkeys) begin(ctx context.Context, kind, userID string, state any) (string, error) {
	data, err := json.Marshal(state)
	if err != nil {
		return "", err
	}
	now := p.now()
	c := store.Ceremony{ID: agentpay.NewID("wac"), Kind: kind, UserID: userID, Data: string(data), Status: "open",
		ExpiresAt: now.Add(CeremonyTTL).UnixMicro(), CreatedAt: now.UnixMicro()}
	if res := p.DB.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{c.Row()}}); res.Err != nil {
		return "", res.Err
	}
	return c.ID, nil
}

// consume spends a ceremony: only an open, unexpired ceremony of kind can
// be spent, once.
func (p *Passkeys) consume(ctx context.Context, kind, id string) (store.Ceremony, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	c, err := p.consumeInto(ctx, kind, id, &sd)
	return c, sd, err
}

// consumeInto spends a ceremony and decodes its stored state into state.
func (p *Passkeys) consumeInto(ctx context.Context, kind, id string, state any) (store.Ceremony, error) {
	c, err := p.open(ctx, kind, id, state)
	if err != nil {
		return c, err
	}
	if err := p.DB.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{spend(c)}}).Err; err != nil {
		return c, ceremonyRace(err)
	}
	return c, nil
}

func badCeremony() error {
	return agentpay.Errorf(agentpay.EINVALID, "ceremony_invalid", "the passkey ceremony is unknown, used or expired; start again")
}

// ceremonyRace turns losing the race to spend a ceremony into the refusal
// a used ceremony gets.
func ceremonyRace(err error) error {
	if agentpay.ErrorCode(err) == "version_conflict" {
		return badCeremony()
	}
	return err
}

// open reads an open, unexpired ceremony of kind and decodes its stored
// state into state, without spending it: the caller spends it (spend) in
// the unit that records the ceremony's outcome, so that each ceremony
// completes at most once on any node.
func (p *Passkeys) open(ctx context.Context, kind, id string, state any) (store.Ceremony, error) {
	if !agentpay.ValidID(id) {
		return store.Ceremony{}, badCeremony()
	}
	c, err := p.DB.Ceremony(ctx, id)
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
		return c, badCeremony()
	}
	if err != nil {
		return c, err
	}
	if c.Kind != kind || c.Status != "open" {
		return c, badCeremony()
	}
	if p.now().UnixMicro() >= c.ExpiresAt {
		return c, agentpay.Errorf(agentpay.EINVALID, "ceremony_expired", "the passkey ceremony expired; start again")
	}
	if err := json.Unmarshal([]byte(c.Data), state); err != nil {
		return c, err
	}
	return c, nil
}

// spend is the versioned update that uses a ceremony up.
func spend(c store.Ceremony) store.Update {
	return store.Update{Table: store.CeremoniesTable, Key: c.ID, Version: c.Version, Set: []string{"status"}, Values: []any{"used"}}
}

// refuse spends a ceremony whose response was refused, so it cannot be
// tried again, and returns the refusal.
func (p *Passkeys) refuse(ctx context.Context, c store.Ceremony, refusal error) error {
	_ = p.DB.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{spend(c)}}) // a lost race spent it already
	return refusal
}

// BeginRegistration starts adding a passkey for a user. It returns the
// ceremony's id and the options for navigator.credentials.create. The
// user's passkeys are excluded, so one authenticator is not registered
// twice.
func (p *Passkeys) BeginRegistration(ctx context.Context, userID string) (string, *protocol.CredentialCreation, error) {
	wu, keys, err := p.loadUser(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	if len(keys) >= PasskeysPerUserMax {
		return "", nil, agentpay.Errorf(agentpay.ECONFLICT, "passkeys_too_many", "a user may have at most %d passkeys", PasskeysPerUserMax)
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range wu.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := p.WebAuthn.BeginRegistration(wu,
		webauthn.WithExclusions(exclude),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationRequired,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return "", nil, agentpay.Errorf(agentpay.EINTERNAL, "webauthn_failed", "%v", err)
	}
	id, err := p.begin(ctx, kindRegister, userID, sd)
	if err != nil {
		return "", nil, err
	}
	return id, creation, nil
}

func refused(err error) error {
	msg := err.Error()
	if pe, ok := err.(*protocol.Error); ok && pe.DevInfo != "" {
		msg += ": " + pe.DevInfo
	}
	return agentpay.Errorf(agentpay.EINVALID, "passkey_refused", "the passkey response was refused: %s", msg)
}

// FinishRegistration verifies the authenticator's response (the JSON of
// PublicKeyCredential.toJSON()) and stores the new passkey. The ceremony
// must be the user's own.
func (p *Passkeys) FinishRegistration(ctx context.Context, userID, ceremonyID string, response []byte) (store.Passkey, error) {
	c, sd, err := p.consume(ctx, kindRegister, ceremonyID)
	if err != nil {
		return store.Passkey{}, err
	}
	if c.UserID != userID {
		return store.Passkey{}, agentpay.Errorf(agentpay.EINVALID, "ceremony_invalid", "the passkey ceremony is unknown, used or expired; start again")
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return store.Passkey{}, refused(err)
	}
	wu, _, err := p.loadUser(ctx, userID)
	if err != nil {
		return store.Passkey{}, err
	}
	cred, err := p.WebAuthn.CreateCredential(wu, sd, parsed)
	if err != nil {
		return store.Passkey{}, refused(err)
	}
	var transports []string
	for _, t := range cred.Transport {
		transports = append(transports, string(t))
	}
	now := p.now().UnixMicro()
	k := store.Passkey{ID: b64.EncodeToString(cred.ID), UserID: userID, PublicKey: b64.EncodeToString(cred.PublicKey),
		SignCount: int64(cred.Authenticator.SignCount), AAGUID: hex.EncodeToString(cred.Authenticator.AAGUID),
		Transports: strings.Join(transports, ","), Flags: int64(cred.Flags.MsgpByte()), CreatedAt: now, LastUsedAt: 0, Version: 1}
	res := p.DB.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{k.Row()}})
	if agentpay.ErrorCode(res.Err) == "already_exists" {
		return store.Passkey{}, agentpay.Errorf(agentpay.ECONFLICT, "passkey_exists", "this passkey is already registered")
	}
	if res.Err != nil {
		return store.Passkey{}, res.Err
	}
	return k, nil
}

// BeginLogin starts a login. With userID "" it is discoverable: the
// authenticator offers its passkeys for this site; otherwise only the
// user's passkeys are allowed.
func (p *Passkeys) BeginLogin(ctx context.Context, userID string) (string, *protocol.CredentialAssertion, error) {
	var (
		assertion *protocol.CredentialAssertion
		sd        *webauthn.SessionData
		err       error
	)
	uv := webauthn.WithUserVerification(protocol.VerificationRequired)
	if userID == "" {
		assertion, sd, err = p.WebAuthn.BeginDiscoverableLogin(uv)
	} else {
		wu, _, lerr := p.loadUser(ctx, userID)
		if lerr != nil {
			return "", nil, lerr
		}
		if len(wu.creds) == 0 {
			return "", nil, agentpay.Errorf(agentpay.ECONFLICT, "no_passkeys", "the user has no passkeys")
		}
		assertion, sd, err = p.WebAuthn.BeginLogin(wu, uv)
	}
	if err != nil {
		return "", nil, agentpay.Errorf(agentpay.EINTERNAL, "webauthn_failed", "%v", err)
	}
	id, err := p.begin(ctx, kindLogin, userID, sd)
	if err != nil {
		return "", nil, err
	}
	return id, assertion, nil
}

// FinishLogin verifies an assertion (the JSON of
// PublicKeyCredential.toJSON()) and returns the user it authenticates. A
// counter that is non-zero and does not increase means the passkey may be
// cloned: the login is refused (passkey_cloned) and the passkey flagged, so
// it is refused from then on.
func (p *Passkeys) FinishLogin(ctx context.Context, ceremonyID string, response []byte) (string, error) {
	var sd webauthn.SessionData
	c, err := p.open(ctx, kindLogin, ceremonyID, &sd)
	if err != nil {
		return "", err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return "", p.refuse(ctx, c, refused(err))
	}
	userID := c.UserID
	if userID == "" {
		userID = string(parsed.Response.UserHandle)
	}
	_, counter, err := p.verify(ctx, userID, c.UserID == "", sd, parsed)
	if err != nil {
		return "", p.refuse(ctx, c, err)
	}
	// The ceremony is spent with the counter, in one unit: a concurrent
	// finish of the same ceremony, or a concurrent use of the same passkey,
	// fails here.
	if res := p.DB.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{spend(c), counter}}); res.Err != nil {
		return "", ceremonyRace(res.Err)
	}
	return userID, nil
}

// verify checks an assertion by one of userID's passkeys. It returns the
// passkey and the versioned update of its counter and last use, for the
// caller to commit with whatever the assertion authorizes. A counter that
// did not increase flags the passkey as cloned (committed here) and
// refuses.
func (p *Passkeys) verify(ctx context.Context, userID string, discoverable bool, sd webauthn.SessionData,
	parsed *protocol.ParsedCredentialAssertionData) (store.Passkey, store.Update, error) {
	unknown := agentpay.Errorf(agentpay.EUNAUTHORIZED, "passkey_unknown", "this passkey is not registered")
	wu, keys, err := p.loadUser(ctx, userID)
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
		return store.Passkey{}, store.Update{}, unknown
	}
	if err != nil {
		return store.Passkey{}, store.Update{}, err
	}
	credID := b64.EncodeToString(parsed.RawID)
	i := slices.IndexFunc(keys, func(k store.Passkey) bool { return k.ID == credID })
	if i < 0 {
		return store.Passkey{}, store.Update{}, unknown
	}
	stored := keys[i]
	if stored.Cloned {
		return stored, store.Update{}, agentpay.Errorf(agentpay.EFORBIDDEN, "passkey_cloned", "this passkey was flagged as possibly cloned; use another passkey")
	}
	var cred *webauthn.Credential
	if discoverable {
		cred, err = p.WebAuthn.ValidateDiscoverableLogin(func(_, _ []byte) (webauthn.User, error) { return wu, nil }, sd, parsed)
	} else {
		cred, err = p.WebAuthn.ValidateLogin(wu, sd, parsed)
	}
	if err != nil {
		return stored, store.Update{}, refused(err)
	}
	if cred.Authenticator.CloneWarning {
		res := p.DB.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{{Table: store.PasskeysTable, Key: stored.ID,
			Version: stored.Version, Set: []string{"cloned"}, Values: []any{int64(1)}}}})
		if res.Err != nil && agentpay.ErrorCode(res.Err) != "version_conflict" {
			return stored, store.Update{}, res.Err
		}
		return stored, store.Update{}, agentpay.Errorf(agentpay.EFORBIDDEN, "passkey_cloned", "the passkey's signature counter did not increase: it may be cloned, and is refused from now on")
	}
	return stored, store.Update{Table: store.PasskeysTable, Key: stored.ID, Version: stored.Version,
		Set:    []string{"sign_count", "flags", "last_used_at"},
		Values: []any{int64(cred.Authenticator.SignCount), int64(cred.Flags.MsgpByte()), p.now().UnixMicro()}}, nil
}
