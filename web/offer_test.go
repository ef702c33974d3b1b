package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/subscriptions"
)

// offer records the merchant's offer of a metered plan with a trial.
func (s *paySite) offer() store.Subscription {
	s.t.Helper()
	svc := &subscriptions.Service{DB: s.db, Payments: s.svc}
	sub, u, err := svc.PrepareOffer(s.ctx, subscriptions.CreateRequest{MerchantID: s.merchant.ID, Plan: "Tea <b>club</b>",
		Asset: "USD", Amount: 2_00, MaxAmount: 20_00, Interval: agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 1},
		TimeZone: "Europe/London", TrialDays: 14})
	if err == nil {
		err = s.db.Committer.Submit(s.ctx, u).Err
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return sub
}

// A customer opens the merchant's link, signs in, reads the offer and
// accepts it: the subscription is theirs and its mandate waits for their
// passkey on the mandate page. Accepting needs the CSRF token; the offer
// is one subscription, so another user finds it taken; nothing else shows.
func TestOfferPage(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 100_00)
	eve := s.newShopper("eve@example.com", 100_00)
	off := s.offer()

	anon := &browser{t: t, h: s.h, cookies: map[string]*http.Cookie{}} // no session: sent to log in and back
	w := anon.do("GET", "/subscribe/"+off.ID, nil, nil)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login?next=") {
		t.Fatalf("anonymous: %d %s", w.Code, w.Header().Get("Location"))
	}
	wantBody(t, "offer page", ada.do("GET", "/subscribe/"+off.ID, nil, nil), 200, `id="offer-plan">Tea &lt;b&gt;club&lt;/b&gt;`,
		"2.00 USD per month plus usage, at most 20.00 USD per month", "14 days free", `id="accept-offer"`)
	wantStatus(t, "accept without token", ada.do("POST", "/subscribe/"+off.ID, url.Values{}, nil), 403, "csrf_failed")
	if sub, err := s.db.Subscription(s.ctx, off.ID); err != nil || sub.UserID != "" {
		t.Fatalf("accepted without a token: %+v %v", sub, err)
	}

	w = ada.form("/subscribe/"+off.ID, url.Values{})
	sub, err := s.db.Subscription(s.ctx, off.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/mandates/"+sub.MandateID ||
		sub.UserID != ada.user.ID || sub.Status != subscriptions.Incomplete {
		t.Fatalf("accept: %d %s %+v", w.Code, w.Header().Get("Location"), sub)
	}
	wantBody(t, "mandate page", ada.do("GET", "/mandates/"+sub.MandateID, nil, nil), 200, `id="approve-mandate"`, "at most 20.00")
	// Back on the link, the user goes on to the mandate; another user is told it is taken.
	if w := ada.do("GET", "/subscribe/"+off.ID, nil, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("accepted offer page: %d", w.Code)
	}
	w = eve.form("/subscribe/"+off.ID, url.Values{})
	wantBody(t, "eve accepts", w, 409, "accepted already")
	if strings.Contains(w.Body.String(), "Ada") {
		t.Fatal("the page shows who accepted")
	}
	if got, _ := s.db.Subscription(s.ctx, off.ID); got.UserID != ada.user.ID {
		t.Fatal("eve took ada's subscription")
	}
	wantBody(t, "no such offer", ada.do("GET", "/subscribe/sub_nothere", nil, nil), 404, "no such offer")
}
