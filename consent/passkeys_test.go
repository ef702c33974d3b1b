package consent_test

import (
	"testing"
	"time"

	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/store"
)

func TestRegisterAndLogin(t *testing.T) {
	engines(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.signUp("ada@example.com")
		a, b := newAuthenticator(t), newAuthenticator(t)
		e.register(u.ID, a)
		e.register(u.ID, b) // several passkeys per user
		keys, err := e.pk.Passkeys(e.ctx, u.ID)
		if err != nil || len(keys) != 2 {
			t.Fatalf("passkeys = %d, %v", len(keys), err)
		}
		// Registering again excludes both.
		_, creation, err := e.pk.BeginRegistration(e.ctx, u.ID)
		if err != nil || len(creation.Response.CredentialExcludeList) != 2 {
			t.Fatalf("exclude list = %v, %v", creation.Response.CredentialExcludeList, err)
		}
		if creation.Response.AuthenticatorSelection.UserVerification != "required" {
			t.Fatalf("user verification = %q", creation.Response.AuthenticatorSelection.UserVerification)
		}
		for _, who := range []string{"", u.ID} { // discoverable and by user
			for _, auth := range []*authenticator{a, b} {
				auth.Counter++
				got, err := e.login(who, auth)
				if err != nil || got != u.ID {
					t.Fatalf("login(%q) = %q, %v", who, got, err)
				}
			}
		}
		k, err := db.Passkey(e.ctx, b64.EncodeToString(a.ID))
		if err != nil || k.SignCount != 2 || k.LastUsedAt == 0 {
			t.Fatalf("stored passkey %+v, %v", k, err)
		}
		// Another user's credential is not theirs.
		other := e.signUp("bob@example.com")
		c := newAuthenticator(t)
		e.register(other.ID, c)
		c.User = a.User // claims to be Ada
		c.Counter++
		if _, err := e.login("", c); err == nil {
			t.Fatal("a passkey of another user logged in")
		}
	})
}

func TestCeremonySingleUseAndExpiry(t *testing.T) {
	engines(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.signUp("ada@example.com")
		a := newAuthenticator(t)
		id, creation, err := e.pk.BeginRegistration(e.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		resp := a.Create(t, creation)
		// Another user cannot finish this user's ceremony, and it is spent.
		other := e.signUp("bob@example.com")
		_, err = e.pk.FinishRegistration(e.ctx, other.ID, id, resp)
		wantCode(t, "foreign ceremony", err, "ceremony_invalid")
		_, err = e.pk.FinishRegistration(e.ctx, u.ID, id, resp)
		wantCode(t, "spent ceremony", err, "ceremony_invalid")

		id, creation, _ = e.pk.BeginRegistration(e.ctx, u.ID)
		if _, err := e.pk.FinishRegistration(e.ctx, u.ID, id, a.Create(t, creation)); err != nil {
			t.Fatal(err)
		}
		_, err = e.pk.FinishRegistration(e.ctx, u.ID, id, a.Create(t, creation))
		wantCode(t, "replayed registration", err, "ceremony_invalid")

		// A login ceremony completes once.
		lid, assertion, err := e.pk.BeginLogin(e.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		a.Counter++
		resp = a.Get(t, assertion)
		if _, err := e.pk.FinishLogin(e.ctx, lid, resp); err != nil {
			t.Fatal(err)
		}
		_, err = e.pk.FinishLogin(e.ctx, lid, resp)
		wantCode(t, "replayed login", err, "ceremony_invalid")
		// A registration ceremony is not a login ceremony.
		rid, _, _ := e.pk.BeginRegistration(e.ctx, u.ID)
		_, err = e.pk.FinishLogin(e.ctx, rid, resp)
		wantCode(t, "wrong kind", err, "ceremony_invalid")
		_, err = e.pk.FinishLogin(e.ctx, "wac_unknown", resp)
		wantCode(t, "unknown", err, "ceremony_invalid")

		// An expired ceremony is refused.
		lid, assertion, _ = e.pk.BeginLogin(e.ctx, u.ID)
		e.clock.advance(consent.CeremonyTTL + time.Second)
		a.Counter++
		_, err = e.pk.FinishLogin(e.ctx, lid, a.Get(t, assertion))
		wantCode(t, "expired", err, "ceremony_expired")
	})
}

func TestClonedCounter(t *testing.T) {
	engines(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.signUp("ada@example.com")
		a, b := newAuthenticator(t), newAuthenticator(t)
		e.register(u.ID, a)
		e.register(u.ID, b)
		a.Counter = 5
		if _, err := e.login("", a); err != nil {
			t.Fatal(err)
		}
		// The same counter again: a clone.
		_, err := e.login("", a)
		wantCode(t, "repeated counter", err, "passkey_cloned")
		k, err := db.Passkey(e.ctx, b64.EncodeToString(a.ID))
		if err != nil || !k.Cloned {
			t.Fatalf("not flagged: %+v, %v", k, err)
		}
		// Flagged: refused even with a higher counter.
		a.Counter = 10
		_, err = e.login(u.ID, a)
		wantCode(t, "flagged", err, "passkey_cloned")
		// The other passkey still works; a zero counter (authenticators
		// without one) is no clone.
		for range 2 {
			if _, err := e.login("", b); err != nil {
				t.Fatalf("counterless passkey: %v", err)
			}
		}
	})
}
