package consent

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gowebpki/jcs"
)

// kindApprove is the ceremony kind of an approval: an assertion whose
// challenge is derived from what the user approves. It can never log in.
const kindApprove = "approve"

// ApprovalObjectBytesMax bounds the canonical JSON a user approves.
const ApprovalObjectBytesMax = 32 << 10

// Signed is what an approval's challenge is computed over (DESIGN §5): the
// object the user agrees to, whose it is, what it approves and a random
// server nonce, so that no two approvals share a challenge.
type Signed struct {
	Nonce   string          `json:"nonce"`
	Object  json.RawMessage `json:"object"`
	Subject string          `json:"subject"`
	UserID  string          `json:"user_id"`
}

// approvalState is an approval ceremony's stored state.
type approvalState struct {
	Session webauthn.SessionData `json:"session"`
	Signed  json.RawMessage      `json:"signed"` // canonical JSON of Signed
}

// Canonical returns v as canonical JSON (RFC 8785).
func Canonical(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jcs.Transform(b)
}

// BeginApproval starts a passkey approval by userID of object (any JSON
// value) about subject (the id of what is approved). The authenticator
// signs SHA-256 of the canonical JSON of Signed, so the assertion proves
// what the user saw. It returns the ceremony's id and the options for
// navigator.credentials.get, limited to the user's passkeys.
func (p *Passkeys) BeginApproval(ctx context.Context, userID, subject string, object any) (string, *protocol.CredentialAssertion, error) {
	obj, err := Canonical(object)
	if err != nil {
		return "", nil, fmt.Errorf("consent: approval object: %w", err)
	}
	signed, err := Canonical(Signed{Nonce: RandomToken(), Object: obj, Subject: subject, UserID: userID})
	if err != nil {
		return "", nil, fmt.Errorf("consent: approval object: %w", err)
	}
	if len(signed) > ApprovalObjectBytesMax {
		return "", nil, agentpay.Errorf(agentpay.ETOOLARGE, "approval_too_large", "what is to be approved exceeds %d bytes", ApprovalObjectBytesMax)
	}
	wu, _, err := p.loadUser(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	if len(wu.creds) == 0 {
		return "", nil, agentpay.Errorf(agentpay.ECONFLICT, "no_passkeys", "add a passkey before approving")
	}
	challenge := sha256.Sum256(signed)
	assertion, sd, err := p.WebAuthn.BeginLogin(wu, webauthn.WithChallenge(challenge[:]),
		webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return "", nil, agentpay.Errorf(agentpay.EINTERNAL, "webauthn_failed", "%v", err)
	}
	id, err := p.begin(ctx, kindApprove, userID, approvalState{Session: *sd, Signed: signed})
	if err != nil {
		return "", nil, err
	}
	return id, assertion, nil
}

// Evidence is a verified approval, not yet committed: Add puts it into the
// unit of work of what it approves, so the effect and its proof commit
// together or not at all.
type Evidence struct {
	Approval store.Approval
	Signed   Signed
}

// Add appends the approval's row to u.
func (e Evidence) Add(u *store.Unit) {
	u.Rows = append(u.Rows, e.Approval.Row())
}

// FinishApproval verifies the assertion (the JSON of
// PublicKeyCredential.toJSON()) of an approval ceremony begun for userID and
// returns the evidence, with the object as the user approved it. The
// ceremony is spent whatever the outcome, and the passkey's counter and last
// use are recorded here, as for a login: the authenticator did sign, whether
// or not what it approved then commits. The caller must check that
// Signed.Object is still what it is about to do.
func (p *Passkeys) FinishApproval(ctx context.Context, userID, ceremonyID string, response []byte) (Evidence, error) {
	var st approvalState
	c, err := p.open(ctx, kindApprove, ceremonyID, &st)
	if err != nil {
		return Evidence{}, err
	}
	if c.UserID != userID {
		return Evidence{}, p.refuse(ctx, c, badCeremony())
	}
	var signed Signed
	if err := json.Unmarshal(st.Signed, &signed); err != nil {
		return Evidence{}, fmt.Errorf("consent: stored approval: %w", err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Evidence{}, p.refuse(ctx, c, refused(err))
	}
	key, counter, err := p.verify(ctx, userID, false, st.Session, parsed)
	if err != nil {
		return Evidence{}, p.refuse(ctx, c, err)
	}
	if err := p.DB.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{spend(c), counter}}).Err; err != nil {
		return Evidence{}, ceremonyRace(err)
	}
	challenge := sha256.Sum256(st.Signed)
	return Evidence{Signed: signed, Approval: store.Approval{ID: agentpay.NewID("apv"), UserID: userID,
		PasskeyID: key.ID, Subject: signed.Subject, Object: string(st.Signed), Challenge: b64.EncodeToString(challenge[:]),
		Assertion: string(response), CreatedAt: p.now().UnixMicro()}}, nil
}

// VerifyApproval re-verifies stored evidence offline: the assertion is
// parsed again, its challenge must be SHA-256 of the stored object, and its
// signature must verify with the passkey's public key for this relying
// party, with the user present and verified. It needs no ceremony state,
// so an auditor can run it years later.
func (p *Passkeys) VerifyApproval(a store.Approval, key store.Passkey) error {
	if a.PasskeyID != key.ID {
		return agentpay.Errorf(agentpay.EINVALID, "approval_invalid", "the approval was made with passkey %s, not %s", a.PasskeyID, key.ID)
	}
	challenge := sha256.Sum256([]byte(a.Object))
	if b64.EncodeToString(challenge[:]) != a.Challenge {
		return agentpay.Errorf(agentpay.EINVALID, "approval_invalid", "the approval's challenge is not the hash of its object")
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(a.Assertion))
	if err != nil {
		return agentpay.Errorf(agentpay.EINVALID, "approval_invalid", "the stored assertion does not parse: %v", err)
	}
	if b64.EncodeToString(parsed.RawID) != key.ID {
		return agentpay.Errorf(agentpay.EINVALID, "approval_invalid", "the assertion is by another passkey")
	}
	pub, err := b64.DecodeString(key.PublicKey)
	if err != nil {
		return fmt.Errorf("consent: stored passkey key: %w", err)
	}
	cfg := p.WebAuthn.Config
	err = parsed.Verify(a.Challenge, cfg.RPID, "", cfg.RPOrigins, nil, nil, cfg.RPTopOriginVerificationMode,
		cfg.RPAllowCrossOrigin, true, true, pub, cfg.Signature)
	if err != nil {
		return agentpay.Errorf(agentpay.EINVALID, "approval_invalid", "the assertion does not verify: %v", err)
	}
	return nil
}
