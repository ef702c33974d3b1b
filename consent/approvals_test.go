package consent_test

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/store"
)

type approvalObject struct {
	Link   string `json:"link"`
	Amount int64  `json:"amount"`
}

// approve runs a whole approval of obj by userID with a and returns the
// evidence.
func (e *env) approve(userID string, a *authenticator, obj any) (consent.Evidence, error) {
	e.t.Helper()
	id, assertion, err := e.pk.BeginApproval(e.ctx, userID, "lnk_1", obj)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.pk.FinishApproval(e.ctx, userID, id, a.Get(e.t, assertion))
}

func TestApprovalSignsTheObject(t *testing.T) {
	engines(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.signUp("ada@example.com")
		a := newAuthenticator(t)
		e.register(u.ID, a)
		obj := approvalObject{Link: "lnk_1", Amount: 12345}

		id, assertion, err := e.pk.BeginApproval(e.ctx, u.ID, "lnk_1", obj)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(assertion.Response.AllowedCredentials); n != 1 {
			t.Fatalf("allowed credentials = %d, want the user's one passkey", n)
		}
		ev, err := e.pk.FinishApproval(e.ctx, u.ID, id, a.Get(t, assertion))
		if err != nil {
			t.Fatal(err)
		}
		// The challenge the authenticator signed is SHA-256 of the stored
		// canonical object, which holds exactly what was shown.
		sum := sha256.Sum256([]byte(ev.Approval.Object))
		if assertion.Response.Challenge.String() != ev.Approval.Challenge || b64.EncodeToString(sum[:]) != ev.Approval.Challenge {
			t.Fatalf("challenge %s is not SHA-256 of the object", assertion.Response.Challenge)
		}
		var got approvalObject
		if err := json.Unmarshal(ev.Signed.Object, &got); err != nil || got != obj {
			t.Fatalf("signed object = %s (%v), want %+v", ev.Signed.Object, err, obj)
		}
		if ev.Signed.UserID != u.ID || ev.Signed.Subject != "lnk_1" || len(ev.Signed.Nonce) != 64 {
			t.Fatalf("signed = %+v", ev.Signed)
		}
		// Nothing is written until the caller commits the evidence.
		if list, err := db.ApprovalsOf(e.ctx, "lnk_1"); err != nil || len(list) != 0 {
			t.Fatalf("approvals before commit = %v, %v", list, err)
		}
		unit := &store.Unit{}
		ev.Add(unit)
		if err := db.Committer.Submit(e.ctx, unit).Err; err != nil {
			t.Fatal(err)
		}
		list, err := db.ApprovalsOf(e.ctx, "lnk_1")
		if err != nil || len(list) != 1 || list[0] != ev.Approval {
			t.Fatalf("approvals = %+v, %v", list, err)
		}
		keys, _ := e.pk.Passkeys(e.ctx, u.ID)
		if keys[0].LastUsedAt == 0 {
			t.Fatal("the passkey's last use was not recorded")
		}
		if err := e.pk.VerifyApproval(list[0], keys[0]); err != nil {
			t.Fatalf("stored approval does not re-verify: %v", err)
		}

		// Each approval has its own nonce, so the same object gets a new
		// challenge.
		_, again, err := e.pk.BeginApproval(e.ctx, u.ID, "lnk_1", obj)
		if err != nil || again.Response.Challenge.String() == assertion.Response.Challenge.String() {
			t.Fatalf("second approval of the same object reuses the challenge (%v)", err)
		}
	})
}

func TestVerifyApprovalDetectsTampering(t *testing.T) {
	engines(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.signUp("ada@example.com")
		a, other := newAuthenticator(t), newAuthenticator(t)
		e.register(u.ID, a)
		e.register(u.ID, other)
		ev, err := e.approve(u.ID, a, approvalObject{Link: "lnk_1", Amount: 100})
		if err != nil {
			t.Fatal(err)
		}
		keys, _ := e.pk.Passkeys(e.ctx, u.ID)
		var key, otherKey store.Passkey
		for _, k := range keys {
			if k.ID == ev.Approval.PasskeyID {
				key = k
			} else {
				otherKey = k
			}
		}
		otherAssertion, err := e.approve(u.ID, other, approvalObject{Link: "lnk_1", Amount: 100})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name   string
			change func(a *store.Approval, k *store.Passkey)
		}{
			{"amount changed in the object", func(a *store.Approval, _ *store.Passkey) {
				a.Object = strings.Replace(a.Object, `"amount":100`, `"amount":900`, 1)
			}},
			{"object and challenge both changed", func(a *store.Approval, _ *store.Passkey) {
				a.Object = strings.Replace(a.Object, `"amount":100`, `"amount":900`, 1)
				sum := sha256.Sum256([]byte(a.Object))
				a.Challenge = b64.EncodeToString(sum[:])
			}},
			{"another passkey's key", func(_ *store.Approval, k *store.Passkey) { *k = otherKey }},
			{"another approval's assertion", func(a *store.Approval, _ *store.Passkey) {
				a.Assertion = otherAssertion.Approval.Assertion
			}},
			{"assertion not JSON", func(a *store.Approval, _ *store.Passkey) { a.Assertion = "{" }},
			{"public key of the other passkey under this id", func(_ *store.Approval, k *store.Passkey) {
				k.PublicKey = otherKey.PublicKey
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a, k := ev.Approval, key
				tt.change(&a, &k)
				if err := e.pk.VerifyApproval(a, k); err == nil {
					t.Fatal("tampered approval verified")
				}
			})
		}
	})
}

func TestApprovalCeremonyRules(t *testing.T) {
	engines(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u, mallory := e.signUp("ada@example.com"), e.signUp("mallory@example.com")
		a, m := newAuthenticator(t), newAuthenticator(t)
		e.register(u.ID, a)
		e.register(mallory.ID, m)
		obj := approvalObject{Link: "lnk_1", Amount: 1}

		t.Run("another user cannot finish it", func(t *testing.T) {
			id, assertion, _ := e.pk.BeginApproval(e.ctx, u.ID, "lnk_1", obj)
			_, err := e.pk.FinishApproval(e.ctx, mallory.ID, id, m.Get(t, assertion))
			wantCode(t, "mallory finishing", err, "ceremony_invalid")
		})
		t.Run("single use", func(t *testing.T) {
			id, assertion, _ := e.pk.BeginApproval(e.ctx, u.ID, "lnk_1", obj)
			resp := a.Get(t, assertion)
			if _, err := e.pk.FinishApproval(e.ctx, u.ID, id, resp); err != nil {
				t.Fatal(err)
			}
			_, err := e.pk.FinishApproval(e.ctx, u.ID, id, resp)
			wantCode(t, "replayed", err, "ceremony_invalid")
		})
		t.Run("a login ceremony is not an approval, nor the other way", func(t *testing.T) {
			id, assertion, _ := e.pk.BeginLogin(e.ctx, u.ID)
			_, err := e.pk.FinishApproval(e.ctx, u.ID, id, a.Get(t, assertion))
			wantCode(t, "login as approval", err, "ceremony_invalid")
			id, assertion, _ = e.pk.BeginApproval(e.ctx, u.ID, "lnk_1", obj)
			_, err = e.pk.FinishLogin(e.ctx, id, a.Get(t, assertion))
			wantCode(t, "approval as login", err, "ceremony_invalid")
		})
		t.Run("an assertion over another challenge is refused", func(t *testing.T) {
			_, other, _ := e.pk.BeginApproval(e.ctx, u.ID, "lnk_1", approvalObject{Link: "lnk_1", Amount: 2})
			id, _, _ := e.pk.BeginApproval(e.ctx, u.ID, "lnk_1", obj)
			_, err := e.pk.FinishApproval(e.ctx, u.ID, id, a.Get(t, other))
			wantCode(t, "other challenge", err, "passkey_refused")
		})
		t.Run("another user's passkey is refused", func(t *testing.T) {
			id, assertion, _ := e.pk.BeginApproval(e.ctx, u.ID, "lnk_1", obj)
			_, err := e.pk.FinishApproval(e.ctx, u.ID, id, m.Get(t, assertion))
			wantCode(t, "mallory's passkey", err, "passkey_unknown")
		})
		t.Run("expired", func(t *testing.T) {
			id, assertion, _ := e.pk.BeginApproval(e.ctx, u.ID, "lnk_1", obj)
			e.clock.advance(consent.CeremonyTTL)
			_, err := e.pk.FinishApproval(e.ctx, u.ID, id, a.Get(t, assertion))
			wantCode(t, "expired", err, "ceremony_expired")
		})
		t.Run("a user without passkeys cannot approve", func(t *testing.T) {
			bare := e.signUp("bare@example.com")
			_, _, err := e.pk.BeginApproval(e.ctx, bare.ID, "lnk_1", obj)
			wantCode(t, "no passkeys", err, "no_passkeys")
		})
		t.Run("a cloned counter refuses and flags the passkey", func(t *testing.T) {
			c := newAuthenticator(t)
			e.register(mallory.ID, c)
			c.Counter = 5
			if _, err := e.approve(mallory.ID, c, obj); err != nil {
				t.Fatal(err)
			}
			_, err := e.approve(mallory.ID, c, obj) // counter stays at 5
			wantCode(t, "cloned", err, "passkey_cloned")
			c.Counter = 6
			_, err = e.approve(mallory.ID, c, obj)
			wantCode(t, "flagged", err, "passkey_cloned")
		})
	})
}
