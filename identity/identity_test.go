package identity_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/store"
)

func TestSignUp(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		for _, c := range []struct {
			name string
			req  identity.SignUpRequest
			code string
		}{
			{"email", identity.SignUpRequest{Email: "  Ada@Example.com ", DisplayName: "Ada", Country: "GB"}, ""},
			{"phone", identity.SignUpRequest{Phone: "+447700900123", DisplayName: "Bob", Country: "GB"}, ""},
			{"both", identity.SignUpRequest{Email: "cy@example.org", Phone: "+14155550100", DisplayName: "Cy", Country: "US"}, ""},
			{"neither", identity.SignUpRequest{DisplayName: "Dee", Country: "US"}, "contact_required"},
			{"bad email", identity.SignUpRequest{Email: "dee@", DisplayName: "Dee", Country: "US"}, "invalid_email"},
			{"bad phone", identity.SignUpRequest{Phone: "0044 7700", DisplayName: "Dee", Country: "US"}, "invalid_phone"},
			{"no name", identity.SignUpRequest{Email: "dee@example.com", Country: "US"}, "invalid_display_name"},
			{"bad country", identity.SignUpRequest{Email: "dee@example.com", DisplayName: "Dee", Country: "USA"}, "invalid_country"},
			{"same email other case", identity.SignUpRequest{Email: "ADA@example.com", DisplayName: "Eve", Country: "GB"}, "user_exists"},
			{"same phone", identity.SignUpRequest{Phone: "+447700900123", DisplayName: "Eve", Country: "GB"}, "user_exists"},
			{"new email but taken phone", identity.SignUpRequest{Email: "new@example.com", Phone: "+14155550100", DisplayName: "Eve", Country: "US"}, "user_exists"},
		} {
			u, err := e.svc.SignUp(e.ctx, c.req)
			if c.code != "" {
				wantCode(t, c.name, err, c.code)
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			got, err := e.svc.User(e.ctx, u.ID)
			if err != nil || got != u || got.Tier != agentpay.TierUnverified || !strings.HasPrefix(got.ID, "usr_") {
				t.Fatalf("%s: stored %+v, %v; want %+v", c.name, got, err, u)
			}
		}
		// The partly new sign-up claimed nothing: its email is still free.
		if _, err := e.svc.SignUp(e.ctx, identity.SignUpRequest{Email: "new@example.com", DisplayName: "Eve", Country: "US"}); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.SignUp(e.ctx, identity.SignUpRequest{Email: "ada@example.com", DisplayName: "X", Country: "GB"})
		if pe, ok := err.(*agentpay.Error); !ok || pe.Kind != agentpay.ECONFLICT || pe.Param != "email" {
			t.Fatalf("duplicate email: %v", err)
		}
		_, err = e.svc.User(e.ctx, "usr_nope")
		wantCode(t, "unknown user", err, "user_not_found")
	})
}

// Eight sign-ups with one email address, on two nodes, make one user.
func TestSignUpConcurrent(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		nodes := []*identity.Service{newEnv(t, open()).svc, newEnv(t, open()).svc}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ok, exists int
		for i := range 8 {
			wg.Go(func() {
				req := identity.SignUpRequest{Email: "same@example.com", Phone: fmt.Sprintf("+1415555%04d", i), DisplayName: "S", Country: "US"}
				if i%2 == 0 {
					req = identity.SignUpRequest{Phone: "+14155559999", Email: fmt.Sprintf("u%d@example.com", i), DisplayName: "S", Country: "US"}
				}
				_, err := nodes[i%2].SignUp(context.Background(), req)
				mu.Lock()
				defer mu.Unlock()
				switch agentpay.ErrorCode(err) {
				case "user_exists":
					exists++
				default:
					if err != nil {
						t.Error(err)
					}
					ok++
				}
			})
		}
		wg.Wait()
		// Four raced for the email and four for the phone number.
		if ok != 2 || exists != 6 {
			t.Fatalf("ok=%d exists=%d, want 2 and 6", ok, exists)
		}
		var users int
		if err := nodes[0].DB.Reader().QueryRow(`SELECT COUNT(*) FROM users`).Scan(&users); err != nil || users != 2 {
			t.Fatalf("users = %d, %v", users, err)
		}
	})
}

func TestCodeVerification(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		u := e.signUp("ada@example.com")
		ch, err := e.code.Start(e.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		m, code := e.out.last(t)
		if m.channel != identity.ChannelEmail || m.destination != "ada@example.com" {
			t.Fatalf("sent %+v", m)
		}
		// The code is stored only as a salted hash.
		var hash, salt string
		if err := e.db.Reader().QueryRow(`SELECT code_hash, salt FROM verification_challenges WHERE id = $1`, ch).Scan(&hash, &salt); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(hash, code) || len(hash) != 64 || len(salt) != 32 {
			t.Fatalf("stored hash %q salt %q", hash, salt)
		}
		// Another user cannot answer it; an unknown challenge is not found.
		other := e.signUp("bob@example.com")
		_, err = e.code.Confirm(e.ctx, other.ID, ch, code)
		wantCode(t, "other user's challenge", err, "challenge_not_found")
		_, err = e.code.Confirm(e.ctx, u.ID, "vch_nope", code)
		wantCode(t, "unknown challenge", err, "challenge_not_found")
		tier, err := e.code.Confirm(e.ctx, u.ID, ch, code)
		if err != nil || tier != agentpay.TierContact || e.tier(u.ID) != agentpay.TierContact {
			t.Fatalf("confirm = %v, %v", tier, err)
		}
		_, err = e.code.Confirm(e.ctx, u.ID, ch, code)
		wantCode(t, "reused code", err, "challenge_used")
		evs, err := e.db.Evidence(e.ctx, u.ID)
		if err != nil || len(evs) != 1 || evs[0].Kind != "code" || evs[0].EvidenceType != "email" || evs[0].Tier != 1 ||
			strings.Contains(evs[0].ReferenceHash, "ada@example.com") || evs[0].ChallengeID != ch {
			t.Fatalf("evidence %+v, %v", evs, err)
		}
		// A phone-only user gets a text message.
		p, err := e.svc.SignUp(e.ctx, identity.SignUpRequest{Phone: "+447700900123", DisplayName: "P", Country: "GB"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.code.Start(e.ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if m, _ := e.out.last(t); m.channel != identity.ChannelSMS || m.destination != "+447700900123" {
			t.Fatalf("sent %+v", m)
		}
		_, err = e.code.Start(e.ctx, "usr_nope")
		wantCode(t, "unknown user", err, "user_not_found")
	})
}

func TestCodeAttemptsAndLock(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		u := e.signUp("ada@example.com")
		ch, err := e.code.Start(e.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, code := e.out.last(t)
		wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
		for i, guess := range []string{wrong, "", "12345", "abcdef"} {
			_, err := e.code.Confirm(e.ctx, u.ID, ch, guess)
			wantCode(t, fmt.Sprintf("wrong attempt %d", i+1), err, "challenge_failed")
		}
		var attempts int64
		if err := e.db.Reader().QueryRow(`SELECT attempts FROM verification_challenges WHERE id = $1`, ch).Scan(&attempts); err != nil || attempts != 4 {
			t.Fatalf("attempts = %d, %v", attempts, err)
		}
		_, err = e.code.Confirm(e.ctx, u.ID, ch, wrong)
		wantCode(t, "fifth wrong attempt", err, "challenge_locked")
		// Locked: even the right code fails now.
		_, err = e.code.Confirm(e.ctx, u.ID, ch, code)
		wantCode(t, "right code after lock", err, "challenge_locked")
		if e.tier(u.ID) != agentpay.TierUnverified {
			t.Fatal("tier raised by a locked challenge")
		}
		// A new challenge works.
		e.verifyContact(u.ID)
		if e.tier(u.ID) != agentpay.TierContact {
			t.Fatal("not verified")
		}
	})
}

// Concurrent wrong guesses are each counted: no more than five are judged.
func TestCodeAttemptsConcurrent(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		u := e.signUp("ada@example.com")
		ch, err := e.code.Start(e.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, code := e.out.last(t)
		wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for range 12 {
			wg.Go(func() {
				_, err := e.code.Confirm(e.ctx, u.ID, ch, wrong)
				mu.Lock()
				codes[agentpay.ErrorCode(err)]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes["challenge_failed"] != 4 || codes["challenge_locked"] != 8 {
			t.Fatalf("answers %v", codes)
		}
	})
}

func TestCodeExpiry(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		u := e.signUp("ada@example.com")
		ch, err := e.code.Start(e.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, code := e.out.last(t)
		e.clock.advance(identity.CodeTTL)
		_, err = e.code.Confirm(e.ctx, u.ID, ch, code)
		wantCode(t, "expired", err, "challenge_expired")
		if e.tier(u.ID) != agentpay.TierUnverified {
			t.Fatal("tier raised by an expired challenge")
		}
		// Just before expiry it is still good.
		ch, err = e.code.Start(e.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, code = e.out.last(t)
		e.clock.advance(identity.CodeTTL - time.Microsecond)
		if _, err := e.code.Confirm(e.ctx, u.ID, ch, code); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCodeResendLimit(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		u := e.signUp("ada@example.com")
		// Concurrent starts cannot together pass the limit.
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for range 8 {
			wg.Go(func() {
				_, err := e.code.Start(e.ctx, u.ID)
				mu.Lock()
				codes[agentpay.ErrorCode(err)]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes["internal_error"] != identity.CodeChallengesPerHr || codes["verification_rate_limited"] != 8-identity.CodeChallengesPerHr {
			t.Fatalf("answers %v", codes) // "internal_error" is ErrorCode(nil)
		}
		if len(e.out.sent) != identity.CodeChallengesPerHr {
			t.Fatalf("%d messages sent", len(e.out.sent))
		}
		e.clock.advance(59 * time.Minute)
		_, err := e.code.Start(e.ctx, u.ID)
		wantCode(t, "within the hour", err, "verification_rate_limited")
		e.clock.advance(time.Minute)
		if _, err := e.code.Start(e.ctx, u.ID); err != nil {
			t.Fatalf("after the hour: %v", err)
		}
		// A failed delivery is an unavailable error.
		e.out.fail = true
		e.clock.advance(2 * time.Hour)
		_, err = e.code.Start(e.ctx, u.ID)
		wantCode(t, "delivery failure", err, "delivery_failed")
	})
}

func TestDocumentVerification(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		u := e.signUp("ada@example.com")
		_, err := e.doc.Start(e.ctx, u.ID)
		wantCode(t, "document before tier 1", err, "tier_required")
		e.verifyContact(u.ID)
		ch, err := e.doc.Start(e.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"", "passport", "passport:", "passport:X1", "selfie:X1234567", "passport:X12 34567",
			"passport:" + strings.Repeat("A", 200)} {
			_, err := e.doc.Confirm(e.ctx, u.ID, ch, bad)
			wantCode(t, "reference "+bad, err, "invalid_document")
		}
		// A code challenge id is not a document challenge.
		cch, err := e.code.Start(e.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.doc.Confirm(e.ctx, u.ID, cch, "passport:X1234567")
		wantCode(t, "code challenge as document", err, "challenge_not_found")
		tier, err := e.doc.Confirm(e.ctx, u.ID, ch, "passport:X1234567")
		if err != nil || tier != agentpay.TierDocument || e.tier(u.ID) != agentpay.TierDocument {
			t.Fatalf("confirm = %v, %v", tier, err)
		}
		_, err = e.doc.Confirm(e.ctx, u.ID, ch, "passport:X1234567")
		wantCode(t, "reused", err, "challenge_used")
		evs, err := e.db.Evidence(e.ctx, u.ID)
		if err != nil || len(evs) != 2 {
			t.Fatalf("evidence %+v, %v", evs, err)
		}
		doc := evs[1]
		if evs[0].Kind == "document" {
			doc = evs[0]
		}
		if doc.Kind != "document" || doc.EvidenceType != "passport" || doc.Tier != 2 || strings.Contains(doc.ReferenceHash, "X123") ||
			doc.CreatedAt != e.clock.Now().UnixMicro() {
			t.Fatalf("evidence %+v", doc)
		}
		// Tier never goes down: verifying the contact again keeps tier 2.
		_, code := e.out.last(t)
		if tier, err := e.code.Confirm(e.ctx, u.ID, cch, code); err != nil || tier != agentpay.TierDocument {
			t.Fatalf("code after document = %v, %v", tier, err)
		}
		e.verifyContact(u.ID)
		if e.tier(u.ID) != agentpay.TierDocument {
			t.Fatal("tier went down")
		}
		// An expired document challenge fails.
		ch, err = e.doc.Start(e.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.advance(identity.DocumentTTL)
		_, err = e.doc.Confirm(e.ctx, u.ID, ch, "id_card:AB-123456")
		wantCode(t, "expired document", err, "challenge_expired")
		if e.tier(u.ID) != agentpay.TierDocument {
			t.Fatal("tier went down")
		}
	})
}

func TestWallet(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		nodes := []*env{newEnv(t, open()), newEnv(t, open())}
		e := nodes[0]
		u := e.signUp("ada@example.com")
		if len(mustAccounts(t, e, u.ID)) != 0 {
			t.Fatal("wallet made at sign-up")
		}
		var wg sync.WaitGroup
		ids := make([]string, 8)
		for i := range 8 {
			wg.Go(func() {
				id, err := nodes[i%2].svc.Wallet(e.ctx, u.ID, "USD")
				if err != nil {
					t.Error(err)
				}
				ids[i] = id
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != identity.WalletID(u.ID, "USD") {
				t.Fatalf("wallet ids %v", ids)
			}
		}
		accs := mustAccounts(t, e, u.ID)
		if len(accs) != 1 || accs[0].Kind != agentpay.AccountUserWallet || accs[0].Asset != "USD" ||
			accs[0].Flags != agentpay.AccountDebitsMustNotExceedCredits || accs[0].OwnerID != u.ID {
			t.Fatalf("accounts %+v", accs)
		}
		if id, err := e.svc.Wallet(e.ctx, u.ID, "JPY"); err != nil || id != identity.WalletID(u.ID, "JPY") {
			t.Fatalf("JPY wallet %q, %v", id, err)
		}
		if len(mustAccounts(t, e, u.ID)) != 2 {
			t.Fatal("want two wallets")
		}
		_, err := e.svc.Wallet(e.ctx, u.ID, "NOPE1")
		wantCode(t, "unknown asset", err, "unknown_asset")
		_, err = e.svc.Wallet(e.ctx, "usr_nope", "USD")
		wantCode(t, "unknown user", err, "user_not_found")
	})
}

func TestAllowByTier(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		e := newEnv(t, open())
		u := e.signUp("ada@example.com")
		usd := func(n int64) agentpay.Money { return agentpay.Money{Amount: n, Asset: "USD"} }
		wantCode(t, "tier 0", e.svc.Allow(e.ctx, u.ID, usd(1), 0, 0), "tier_unverified")
		e.verifyContact(u.ID)
		if err := e.svc.Allow(e.ctx, u.ID, usd(200_00), 0, 0); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "tier 1 above per payment", e.svc.Allow(e.ctx, u.ID, usd(200_01), 0, 0), "tier_limit_per_payment")
		wantCode(t, "tier 1 day", e.svc.Allow(e.ctx, u.ID, usd(100_00), 450_00, 450_00), "tier_limit_per_day")
		wantCode(t, "unconfigured asset", e.svc.Allow(e.ctx, u.ID, agentpay.Money{Amount: 1, Asset: "CHF"}, 0, 0), "tier_limit_unconfigured")
		ch, err := e.doc.Start(e.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.doc.Confirm(e.ctx, u.ID, ch, "passport:X1234567"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Allow(e.ctx, u.ID, usd(5_000_00), 0, 0); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "tier 2 month", e.svc.Allow(e.ctx, u.ID, usd(1), 0, 50_000_00), "tier_limit_per_month")
	})
}

func TestLogNotifier(t *testing.T) {
	var buf bytes.Buffer
	n := identity.LogNotifier{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	if err := n.Send(context.Background(), identity.ChannelEmail, "ada@example.com", "code 123456"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "123456") || !strings.Contains(buf.String(), "development") {
		t.Fatalf("log %s", buf.String())
	}
}

func mustAccounts(t *testing.T, e *env, owner string) []agentpay.Account {
	t.Helper()
	accs, err := e.db.AccountsByOwner(e.ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	return accs
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
