package subscriptions_test

import (
	"slices"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/subscriptions"
)

// offer makes a merchant's offer of req's plan (no grant) and commits it.
func (w *world) offer(req subscriptions.CreateRequest) store.Subscription {
	w.t.Helper()
	req.Grant = agentpay.Grant{}
	sub, u, err := w.svc.PrepareOffer(w.ctx, req)
	if err == nil {
		err = w.db.Committer.Submit(w.ctx, u).Err
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return sub
}

// accept takes offer id for userID and commits it.
func (w *world) accept(userID, id string) (store.Subscription, error) {
	sub, u, err := w.svc.PrepareAccept(w.ctx, userID, id)
	if err == nil && u != nil {
		err = w.db.Committer.Submit(w.ctx, u).Err
	}
	return sub, err
}

// A merchant offers a plan; the customer who accepts it gets it as their
// subscription, scheduled from the acceptance, with a mandate in their
// name (no agent) they approve with their passkey; then it is charged like
// any other. The merchant never names the user.
func TestOfferAccepted(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		req := w.monthly(9_00)
		req.TrialDays = 3
		off := w.offer(req)
		if off.Status != subscriptions.Offered || off.UserID != "" || off.MandateID != "" || off.GrantID != "" {
			t.Fatalf("offer %+v", off)
		}
		w.clock.advance(2 * day) // the trial counts from the acceptance
		sub, err := w.accept(w.user.ID, off.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sub.Status != subscriptions.Incomplete || sub.UserID != w.user.ID || sub.MandateID == "" {
			t.Fatalf("accepted %+v", sub)
		}
		if want := w.clock.Now().Add(3 * day).UnixMicro(); sub.Anchor != want {
			t.Fatalf("first period at %d, want the trial's end from acceptance %d", sub.Anchor, want)
		}
		m, err := w.db.Mandate(w.ctx, sub.MandateID)
		if err != nil {
			t.Fatal(err)
		}
		if m.UserID != w.user.ID || m.GrantID != "" || m.MerchantID != w.merchant.ID || m.PerPaymentMax != 9_00 {
			t.Fatalf("mandate %+v", m)
		}
		// Accepting again changes nothing.
		again, err := w.accept(w.user.ID, off.ID)
		if err != nil || again.MandateID != sub.MandateID {
			t.Fatalf("accepted again: %v %s", err, again.MandateID)
		}
		w.approve(sub.MandateID)
		w.run()
		if s := w.sub(sub.ID); s.Status != subscriptions.Trialing {
			t.Fatalf("after approval: %s", s.Status)
		}
		w.clock.advance(3 * day)
		w.run()
		if got := w.merchantBalance(); got != 9_00 {
			t.Fatalf("charged %d, want 9_00", got)
		}
		want := []string{"subscription.offered", "subscription.accepted", "subscription.activated", "subscription.charged"}
		if got := w.events(sub.ID); !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", got, want)
		}
		w.checkLedger()
	})
}

// An offer is one subscription: another user cannot take it once taken,
// nobody can after it expired or the merchant withdrew it, and a user who
// cannot pay yet (unverified) is refused before anything is written.
func TestOfferRefused(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		off := w.offer(w.monthly(9_00))
		if _, err := w.accept(w.user.ID, off.ID); err != nil {
			t.Fatal(err)
		}
		bob := w.newUser("bob@example.com")
		_, err := w.accept(bob.ID, off.ID)
		wantCode(t, "taken", err, "offer_taken")

		unverified, err := w.ids.SignUp(w.ctx, identity.SignUpRequest{Email: "eve@example.com", DisplayName: "Eve", Country: "GB"})
		if err != nil {
			t.Fatal(err)
		}
		fresh := w.offer(w.monthly(9_00))
		_, err = w.accept(unverified.ID, fresh.ID)
		wantCode(t, "unverified", err, "tier_unverified")
		if s := w.sub(fresh.ID); s.Status != subscriptions.Offered || s.UserID != "" {
			t.Fatalf("a refused acceptance wrote %+v", s)
		}

		withdrawn := w.offer(w.monthly(9_00))
		s, err := w.svc.ForMerchant(w.ctx, w.merchant.ID, withdrawn.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, u, err := w.svc.PrepareAction(w.ctx, s, subscriptions.ActionCancel, "merchant")
		if err == nil {
			err = w.db.Committer.Submit(w.ctx, u).Err
		}
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.accept(w.user.ID, withdrawn.ID)
		wantCode(t, "withdrawn", err, "offer_canceled")

		w.clock.advance(subscriptions.OfferTTL)
		w.run()
		if s := w.sub(fresh.ID); s.Status != subscriptions.Canceled || s.DeclineCode != "offer_expired" {
			t.Fatalf("expired offer: %s %s", s.Status, s.DeclineCode)
		}
		_, err = w.accept(w.user.ID, fresh.ID)
		wantCode(t, "expired", err, "offer_canceled")

		for name, req := range map[string]subscriptions.CreateRequest{
			"no amount":       func() subscriptions.CreateRequest { r := w.monthly(0); return r }(),
			"zero interval":   func() subscriptions.CreateRequest { r := w.monthly(1_00); r.Interval.Count = 0; return r }(),
			"absurd count":    func() subscriptions.CreateRequest { r := w.monthly(1_00); r.Interval.Count = 1_000_000; return r }(),
			"unknown asset":   func() subscriptions.CreateRequest { r := w.monthly(1_00); r.Asset = "XXZ"; return r }(),
			"asset not taken": func() subscriptions.CreateRequest { r := w.monthly(1_00); r.Asset = "EUR"; return r }(),
			"with a grant":    func() subscriptions.CreateRequest { r := w.monthly(1_00); r.Grant = w.grant; return r }(),
		} {
			if _, u, err := w.svc.PrepareOffer(w.ctx, req); err == nil || u != nil {
				t.Errorf("%s: offered (%v)", name, err)
			}
		}
	})
}
