package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
	"github.com/agentpay/agentpay/subscriptions"
	"github.com/agentpay/agentpay/web"
)

// subsSite is the pages with payments over db (either engine) and the
// subscriptions service an agent's proposals and the scheduler go through.
type subsSite struct {
	*paySite
	subs *subscriptions.Service
}

func newSubsSite(t *testing.T, db *store.DB) *subsSite {
	pk, err := consent.NewPasskeys(db, linkOrigin)
	if err != nil {
		t.Fatal(err)
	}
	codes := &codeBox{}
	ids := &identity.Service{DB: db, Notifier: codes}
	h := web.New(ids, pk, &consent.Sessions{DB: db, Secure: true})
	h.Links = &linking.Service{DB: db}
	h.Code = &identity.CodeVerifier{Service: ids}
	// Permissive risk control: the test is about the page, not velocity.
	h.Payments = &payments.Service{DB: db, Identity: ids, Risk: risk.NewEngine(risk.MustCompile(""), 1)}
	ls := &linkSite{t: t, db: db, ids: ids, pk: pk, links: h.Links, h: h, codes: codes}
	s := &subsSite{paySite: &paySite{linkSite: ls, svc: h.Payments, ctx: context.Background()}}
	s.merchant = s.newMerchant("Tea Shop", "5499", "USD")
	s.subs = &subscriptions.Service{DB: db, Payments: h.Payments}
	return s
}

// subscribe proposes a monthly plan at amount as sh's agent would.
func (s *subsSite) subscribe(sh shopper, plan string, amount int64) store.Subscription {
	s.t.Helper()
	sub, u, err := s.subs.PrepareCreate(s.ctx, subscriptions.CreateRequest{Grant: sh.grant, MerchantID: s.merchant.ID,
		Plan: plan, Asset: "USD", Amount: amount, Interval: agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 1},
		TimeZone: "Europe/London"})
	if err == nil {
		err = s.db.Committer.Submit(s.ctx, u).Err
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return sub
}

// run runs the scheduler once: approved mandates activate their
// subscriptions, due periods are charged.
func (s *subsSite) run() {
	s.t.Helper()
	if _, err := s.subs.RunDue(s.ctx); err != nil {
		s.t.Fatal(err)
	}
}

func (s *subsSite) sub(id string) store.Subscription {
	s.t.Helper()
	sub, err := s.db.Subscription(s.ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return sub
}

// action is the form of a subscription's button.
func action(id, name string) string {
	return `action="/account/subscriptions/` + id + `/` + name + `"`
}

// wantButtons checks which of the subscription's buttons the page offers.
func wantButtons(t *testing.T, what, body, id string, want ...string) {
	t.Helper()
	for _, name := range []string{"pause", "resume", "cancel"} {
		offered := strings.Contains(body, action(id, name))
		wanted := false
		for _, w := range want {
			wanted = wanted || w == name
		}
		if offered != wanted {
			t.Fatalf("%s: button %s offered %v, want %v", what, name, offered, wanted)
		}
	}
}

// The account page lists the user's subscriptions, and its buttons pause,
// resume and cancel them at once, with their mandates; refusals change
// nothing and show on the page.
func TestAccountSubscriptions(t *testing.T) {
	storetest.Engines(t, "web", func(t *testing.T, open func() *store.DB) {
		s := newSubsSite(t, open())
		ada := s.newShopper("ada@example.com", 100_00)
		bob := s.newShopper("bob@example.com", 100_00)
		wantBody(t, "no subscriptions", ada.do("GET", "/account", nil, nil), 200, `id="no-subscriptions"`,
			`<script src="/assets/subscriptions.js" defer>`)

		// Proposed: the user is asked to approve its mandate; only Cancel.
		sub := s.subscribe(ada, "Tea <b>box</b>", 9_99)
		page := ada.do("GET", "/account", nil, nil)
		wantBody(t, "incomplete", page, 200, `id="subscription-`+sub.ID+`" data-status="incomplete"`,
			`<td class="merchant">Tea Shop</td>`, "Tea &lt;b&gt;box&lt;/b&gt;", `class="num price">9.99 USD per month`,
			"waiting for your approval", `href="/mandates/`+sub.MandateID+`" class="approve-mandate`)
		wantButtons(t, "incomplete", page.Body.String(), sub.ID, "cancel")

		// Approved with the passkey, then charged by the scheduler.
		if w := ada.finishMandate(sub.MandateID, ada.beginMandate(sub.MandateID)); w.Code != 200 {
			t.Fatalf("approve: %d %s", w.Code, w.Body)
		}
		s.run()
		sub = s.sub(sub.ID)
		if sub.Status != subscriptions.Active || sub.NextPeriod != 1 {
			t.Fatalf("after approval: %s, next period %d", sub.Status, sub.NextPeriod)
		}
		next := time.UnixMicro(sub.NextAttemptAt).In(mustZone(t, "Europe/London")).Format("2006-01-02 15:04 MST")
		page = ada.do("GET", "/account", nil, nil)
		wantBody(t, "active", page, 200, `data-status="active"`, `<td class="next-charge">`+next+`</td>`)
		wantButtons(t, "active", page.Body.String(), sub.ID, "pause", "cancel")
		if strings.Contains(page.Body.String(), `class="approve-mandate`) {
			t.Fatal("an approved subscription still asks for approval")
		}
		if body := bob.do("GET", "/account", nil, nil).Body.String(); strings.Contains(body, sub.ID) || !strings.Contains(body, `id="no-subscriptions"`) {
			t.Fatal("bob sees ada's subscription")
		}

		// Refusals change nothing.
		stranger := &browser{t: t, h: s.h, cookies: map[string]*http.Cookie{}}
		for _, c := range []struct {
			name   string
			b      *browser
			path   string
			form   url.Values
			status int
			want   string
		}{
			{"no CSRF token", ada.browser, "/account/subscriptions/" + sub.ID + "/cancel", url.Values{}, 403, "csrf_failed"},
			{"a wrong CSRF token", ada.browser, "/account/subscriptions/" + sub.ID + "/pause", url.Values{"csrf_token": {strings.Repeat("0", 64)}}, 403, "csrf_failed"},
			{"another session's token", ada.browser, "/account/subscriptions/" + sub.ID + "/cancel", url.Values{"csrf_token": {bob.csrf}}, 403, "csrf_failed"},
			{"no session", stranger, "/account/subscriptions/" + sub.ID + "/cancel", url.Values{"csrf_token": {ada.csrf}}, 401, "session_required"},
			{"another user's subscription", bob.browser, "/account/subscriptions/" + sub.ID + "/cancel", url.Values{"csrf_token": {bob.csrf}}, 404, "subscription not found"},
			{"another user's subscription, pause", bob.browser, "/account/subscriptions/" + sub.ID + "/pause", url.Values{"csrf_token": {bob.csrf}}, 404, "subscription not found"},
			{"an unknown subscription", ada.browser, "/account/subscriptions/sub_nope/cancel", url.Values{"csrf_token": {ada.csrf}}, 404, "subscription not found"},
			{"an unknown action", ada.browser, "/account/subscriptions/" + sub.ID + "/delete", url.Values{"csrf_token": {ada.csrf}}, 404, "route_not_found"},
			{"resume an active one", ada.browser, "/account/subscriptions/" + sub.ID + "/resume", url.Values{"csrf_token": {ada.csrf}}, 303, ""},
		} {
			wantBody(t, c.name, c.b.do("POST", c.path, c.form, nil), c.status, c.want)
			if got := s.sub(sub.ID); got.Status != subscriptions.Active || got.Version != sub.Version {
				t.Fatalf("%s: the subscription changed: %s v%d", c.name, got.Status, got.Version)
			}
			if got := s.mandateStatus(sub.MandateID); got != agentpay.MandateActive {
				t.Fatalf("%s: the mandate changed: %s", c.name, got)
			}
		}

		// Pause, resume and cancel take effect at once, with the mandate;
		// posting an action again (a second click) answers as the first
		// did and changes nothing.
		for _, step := range []struct {
			action  string
			status  string
			mandate agentpay.MandateStatus
			notice  string
			buttons []string
		}{
			{"pause", subscriptions.Paused, agentpay.MandatePaused, "nothing is charged until you resume it", []string{"resume", "cancel"}},
			{"pause", subscriptions.Paused, agentpay.MandatePaused, "nothing is charged until you resume it", []string{"resume", "cancel"}},
			{"resume", subscriptions.Active, agentpay.MandateActive, "The subscription is active again", []string{"pause", "cancel"}},
			{"cancel", subscriptions.Canceled, agentpay.MandateRevoked, "nothing more will be charged", nil},
			{"cancel", subscriptions.Canceled, agentpay.MandateRevoked, "nothing more will be charged", nil},
		} {
			before := s.sub(sub.ID)
			w := ada.form("/account/subscriptions/"+sub.ID+"/"+step.action, url.Values{})
			loc := "/account?notice=subscription_" + step.action + "#subscription-" + sub.ID
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != loc {
				t.Fatalf("%s: %d %s %s", step.action, w.Code, w.Header().Get("Location"), w.Body)
			}
			after := s.sub(sub.ID)
			if after.Status != step.status || s.mandateStatus(sub.MandateID) != step.mandate {
				t.Fatalf("%s: %s, mandate %s", step.action, after.Status, s.mandateStatus(sub.MandateID))
			}
			if repeat := before.Status == step.status; repeat != (after.Version == before.Version) {
				t.Fatalf("%s from %s: version %d → %d", step.action, before.Status, before.Version, after.Version)
			}
			page := ada.do("GET", strings.Split(loc, "#")[0], nil, nil) // a browser keeps the fragment
			wantBody(t, step.action, page, 200, `id="notice"`, step.notice, `data-status="`+step.status+`"`)
			wantButtons(t, step.action, page.Body.String(), sub.ID, step.buttons...)
		}
		if got := s.sub(sub.ID); got.CanceledBy != "user" {
			t.Fatalf("canceled by %q", got.CanceledBy)
		}
		wantBody(t, "canceled", ada.do("GET", "/account", nil, nil), 200, "canceled by you")

		// A canceled subscription cannot be paused or resumed: a clear
		// error on the page, nothing changed.
		canceled := s.sub(sub.ID)
		for _, a := range []struct{ action, want string }{
			{"pause", "This subscription is canceled, so it cannot be paused."},
			{"resume", "This subscription is canceled, so it cannot be resumed."},
		} {
			w := ada.form("/account/subscriptions/"+sub.ID+"/"+a.action, url.Values{})
			wantBody(t, a.action+" a canceled subscription", w, http.StatusConflict, `id="error" role="alert">`+a.want,
				`id="subscription-`+sub.ID+`" data-status="canceled"`)
			if got := s.sub(sub.ID); got.Version != canceled.Version || got.Status != subscriptions.Canceled {
				t.Fatalf("%s a canceled subscription changed it: %s v%d", a.action, got.Status, got.Version)
			}
		}
		if err := s.db.CheckLedger(s.ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A price increase waiting for the user's approval links to its mandate,
// with the new price; a metered plan shows its most per period.
func TestAccountSubscriptionPrices(t *testing.T) {
	s := newSubsSite(t, openDB(t))
	ada := s.newShopper("ada@example.com", 100_00)
	sub := s.subscribe(ada, "Tea box", 9_99)
	if w := ada.finishMandate(sub.MandateID, ada.beginMandate(sub.MandateID)); w.Code != 200 {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	s.run()
	sub, u, err := s.subs.PrepareChange(s.ctx, s.sub(sub.ID), 12_50, "agent")
	if err == nil {
		err = s.db.Committer.Submit(s.ctx, u).Err
	}
	if err != nil {
		t.Fatal(err)
	}
	page := ada.do("GET", "/account", nil, nil)
	wantBody(t, "price change", page, 200, `class="num price">9.99 USD per month`,
		`href="/mandates/`+sub.WaitingMandateID+`" class="approve-mandate needs-you">Approve the new price: 12.50 USD per month`)
	wantButtons(t, "price change", page.Body.String(), sub.ID, "pause", "cancel")

	// A charge the wallet cannot pay: past due, with why and the next try.
	cy := s.newShopper("cy@example.com", 1_00)
	due := s.subscribe(cy, "Tea box", 9_99)
	if w := cy.finishMandate(due.MandateID, cy.beginMandate(due.MandateID)); w.Code != 200 {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	s.run()
	if due = s.sub(due.ID); due.Status != subscriptions.PastDue {
		t.Fatalf("an unpaid charge: %s", due.Status)
	}
	page = cy.do("GET", "/account", nil, nil)
	wantBody(t, "past due", page, 200, `data-status="past_due"`, "Your wallet had too little money",
		`<td class="next-charge">`+time.UnixMicro(due.NextAttemptAt).In(mustZone(t, "Europe/London")).Format("2006-01-02 15:04 MST"))
	wantButtons(t, "past due", page.Body.String(), due.ID, "pause", "cancel")

	for _, c := range []struct {
		base int64
		want string
	}{
		{2_00, "2.00 USD per month plus usage, at most 20.00 USD per month"},
		{0, "usage, at most 20.00 USD per month"},
	} {
		metered, u, err := s.subs.PrepareCreate(s.ctx, subscriptions.CreateRequest{Grant: ada.grant, MerchantID: s.merchant.ID,
			Plan: "API calls", Asset: "USD", Amount: c.base, MaxAmount: 20_00,
			Interval: agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 1}, TimeZone: "UTC"})
		if err == nil {
			err = s.db.Committer.Submit(s.ctx, u).Err
		}
		if err != nil {
			t.Fatal(err)
		}
		wantBody(t, "metered", ada.do("GET", "/account", nil, nil), 200,
			`id="subscription-`+metered.ID+`" data-status="incomplete"`, `class="num price">`+c.want+`<`)
	}
}

// The section's event stream sends the user's subscriptions again when
// one changes elsewhere (here: the agent cancels it through the service).
func TestAccountSubscriptionEvents(t *testing.T) {
	storetest.Engines(t, "web", func(t *testing.T, open func() *store.DB) {
		s := newSubsSite(t, open())
		ada := s.newShopper("ada@example.com", 100_00)
		srv := httptest.NewServer(s.h)
		t.Cleanup(srv.Close)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()

		anon := &person{browser: &browser{t: t, cookies: map[string]*http.Cookie{}}}
		resp, _ := openStream(t, ctx, srv, anon, "/account/subscriptions/events")
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("no session: %d", resp.StatusCode)
		}

		resp, events := openStream(t, ctx, srv, ada.person, "/account/subscriptions/events")
		defer resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var list []struct {
			ID, Status string
			Version    int64
		}
		read := func(what string) {
			t.Helper()
			ev := next(t, ctx, events)
			if ev.name != "subscriptions" || json.Unmarshal([]byte(ev.data), &list) != nil {
				t.Fatalf("%s: %+v", what, ev)
			}
		}
		if read("first"); len(list) != 0 {
			t.Fatalf("first: %+v", list)
		}
		sub := s.subscribe(ada, "Tea box", 9_99)
		if read("proposed"); len(list) != 1 || list[0].ID != sub.ID || list[0].Status != subscriptions.Incomplete {
			t.Fatalf("proposed: %+v", list)
		}
		_, u, err := s.subs.PrepareAction(s.ctx, sub, subscriptions.ActionCancel, "agent")
		if err == nil {
			err = s.db.Committer.Submit(s.ctx, u).Err
		}
		if err != nil {
			t.Fatal(err)
		}
		if read("canceled"); len(list) != 1 || list[0].Status != subscriptions.Canceled || list[0].Version != sub.Version+1 {
			t.Fatalf("canceled: %+v", list)
		}
	})
}
