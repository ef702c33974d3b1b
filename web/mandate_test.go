package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
)

// proposeMandate records a mandate of sh's agent with m (or, m nil, with
// grocery stores and food stores): at most 4.00 a charge, 10.00 a month.
func (s *paySite) proposeMandate(sh shopper, m *agentpay.Merchant) agentpay.Mandate {
	s.t.Helper()
	md := agentpay.Mandate{Kind: agentpay.MandateOpen, UserID: sh.user.ID, GrantID: sh.grant.ID, Asset: "USD",
		PerPaymentMax: 4_00, Budget: 10_00, Period: agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 1},
		TimeZone: "Europe/London", Description: "Tea for the office, <b>every</b> month"}
	if m != nil {
		md.MerchantID = m.ID
	} else {
		md.Categories = []string{"5411", "5499"}
	}
	md, u, err := s.svc.PrepareProposeMandate(s.ctx, md)
	if err == nil {
		err = s.db.Committer.Submit(s.ctx, u).Err
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return md
}

func (s *paySite) mandateStatus(id string) agentpay.MandateStatus {
	s.t.Helper()
	m, err := s.db.Mandate(s.ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return m.Status
}

func (p *person) beginMandate(id string) begunApproval {
	p.t.Helper()
	var begun begunApproval
	p.postJSON("/mandates/"+id+"/approve/begin", nil, &begun)
	return begun
}

func (p *person) finishMandate(id string, begun begunApproval) *httptest.ResponseRecorder {
	p.t.Helper()
	return p.doBody("POST", "/mandates/"+id+"/approve/finish?ceremony="+url.QueryEscape(begun.Ceremony), p.key.Get(p.t, &begun.Options),
		map[string]string{"X-CSRF-Token": p.csrf, "Content-Type": "application/json"})
}

func TestMandatePageShowsTerms(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 100_00)
	m := s.proposeMandate(ada, &s.merchant)
	page := "/mandates/" + m.ID

	anon := &browser{t: t, h: s.h, cookies: map[string]*http.Cookie{}}
	w := anon.do("GET", page, nil, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next="+url.QueryEscape(page) {
		t.Fatalf("anonymous: %d %s", w.Code, w.Header().Get("Location"))
	}

	w = ada.do("GET", page, nil, nil)
	wantBody(t, "page", w, 200, "Tea Shop", "food stores (5499)", "and no other merchant",
		"at most 10.00 USD per month, each charge at most 4.00 USD", `id="per-payment">at most 4.00 USD`,
		`id="budget">at most 10.00 USD per month`, "the calendar of Europe/London", "you revoke it",
		"Shopping helper", "unverified: the agent chose this name", ada.grant.ID,
		"Tea for the office, &lt;b&gt;every&lt;/b&gt; month", "the proposer's words, unverified",
		"waiting for your approval", `id="approve-mandate"`, `action="/mandates/`+m.ID+`/decline"`, ada.csrf,
		`src="/assets/mandate.js"`)
	if body := w.Body.String(); strings.Contains(body, "<script>") || strings.Contains(body, "style=") || strings.Contains(body, "<b>every") {
		t.Fatal("the page has inline script or style, or unescaped words of the proposer")
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}

	// A mandate of categories names them, and no merchant.
	cats := s.proposeMandate(ada, nil)
	w = ada.do("GET", "/mandates/"+cats.ID, nil, nil)
	wantBody(t, "categories", w, 200, "any merchant of category grocery stores and supermarkets (5411)",
		"any merchant of category food stores (5499)")
	if strings.Contains(w.Body.String(), "Tea Shop") {
		t.Fatal("a mandate of categories shows a merchant")
	}

	if w := anon.do("GET", "/assets/mandate.js", nil, nil); w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") ||
		!strings.Contains(w.Body.String(), "/approve/finish") {
		t.Fatalf("mandate.js: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
}

func TestMandateApprove(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 100_00)
	m := s.proposeMandate(ada, &s.merchant)

	noToken := map[string]string{"Content-Type": "application/json"}
	wantStatus(t, "begin without token", ada.doBody("POST", "/mandates/"+m.ID+"/approve/begin", []byte(`{}`), noToken), 403, "csrf_failed")
	wantStatus(t, "finish without token", ada.doBody("POST", "/mandates/"+m.ID+"/approve/finish?ceremony=x", []byte(`{}`), noToken), 403, "csrf_failed")
	wantStatus(t, "decline without token", ada.do("POST", "/mandates/"+m.ID+"/decline", url.Values{}, nil), 403, "csrf_failed")

	w := ada.finishMandate(m.ID, ada.beginMandate(m.ID))
	wantBody(t, "finish", w, 200, `"status":"active"`, `"redirect":"/mandates/`+m.ID+`?notice=approved"`)
	if got := s.mandateStatus(m.ID); got != agentpay.MandateActive {
		t.Fatalf("status %s", got)
	}
	if approvals, err := s.db.ApprovalsOf(s.ctx, m.ID); err != nil || len(approvals) != 1 {
		t.Fatalf("evidence: %d %v", len(approvals), err)
	}
	wantBody(t, "approved page", ada.do("GET", "/mandates/"+m.ID+"?notice=approved", nil, nil), 200,
		"Approved. Charges within these terms", "active: charges within these terms", `href="/account#mandates"`)
	if w := ada.do("GET", "/mandates/"+m.ID, nil, nil); strings.Contains(w.Body.String(), `id="approve-mandate"`) {
		t.Fatal("an active mandate offers approval again")
	}
	// Approving again is answered without a second ceremony.
	wantBody(t, "begin again", ada.postJSONStatus("/mandates/"+m.ID+"/approve/begin", nil), 200, `"already_approved":true`)

	// A ceremony of one mandate cannot approve another.
	m2, m3 := s.proposeMandate(ada, &s.merchant), s.proposeMandate(ada, &s.merchant)
	wantStatus(t, "ceremony of another mandate", ada.finishMandate(m3.ID, ada.beginMandate(m2.ID)), 400, "approval_mismatch")

	// Declining revokes the proposal; it cannot be approved after.
	w = ada.form("/mandates/"+m3.ID+"/decline", url.Values{})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/mandates/"+m3.ID+"?notice=declined" {
		t.Fatalf("decline: %d %s", w.Code, w.Header().Get("Location"))
	}
	if got := s.mandateStatus(m3.ID); got != agentpay.MandateRevoked {
		t.Fatalf("declined: %s", got)
	}
	wantStatus(t, "approve a declined mandate", ada.postJSONStatus("/mandates/"+m3.ID+"/approve/begin", nil), 409, "mandate_revoked")
}

func TestMandateOtherUser(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 100_00)
	eve := s.newShopper("eve@example.com", 100_00)
	m := s.proposeMandate(ada, &s.merchant)

	w := eve.do("GET", "/mandates/"+m.ID, nil, nil)
	wantBody(t, "eve's page", w, 404, `id="not-found"`)
	if strings.Contains(w.Body.String(), "Tea Shop") {
		t.Fatal("another user's mandate shows its merchant")
	}
	wantStatus(t, "eve begins", eve.postJSONStatus("/mandates/"+m.ID+"/approve/begin", nil), 404, "mandate_not_found")
	begun := ada.beginMandate(m.ID)
	assertion := ada.key.Get(t, &begun.Options)
	w = eve.doBody("POST", "/mandates/"+m.ID+"/approve/finish?ceremony="+url.QueryEscape(begun.Ceremony), assertion,
		map[string]string{"X-CSRF-Token": eve.csrf})
	wantStatus(t, "eve finishes", w, 404, "mandate_not_found")
	wantStatus(t, "eve declines", eve.form("/mandates/"+m.ID+"/decline", url.Values{}), 404, "")
	wantStatus(t, "eve revokes from her account", eve.form("/account/mandates/"+m.ID+"/revoke", url.Values{}), 404, "")
	if got := s.mandateStatus(m.ID); got != agentpay.MandateRequiresApproval {
		t.Fatalf("after eve: %s", got)
	}
	// Ada's own ceremony still approves it.
	w = ada.doBody("POST", "/mandates/"+m.ID+"/approve/finish?ceremony="+url.QueryEscape(begun.Ceremony), assertion,
		map[string]string{"X-CSRF-Token": ada.csrf})
	wantBody(t, "ada finishes", w, 200, `"status":"active"`)
}

func TestAccountMandates(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 100_00)
	wantBody(t, "no mandates", ada.do("GET", "/account", nil, nil), 200, `id="no-mandates"`)
	m := s.proposeMandate(ada, &s.merchant)
	ada.finishMandate(m.ID, ada.beginMandate(m.ID))

	wantBody(t, "listed", ada.do("GET", "/account", nil, nil), 200, `id="mandate-`+m.ID+`"`, "Tea Shop",
		"at most 10.00 USD per month, each charge at most 4.00 USD", `action="/account/mandates/`+m.ID+`/pause"`,
		`action="/account/mandates/`+m.ID+`/revoke"`)
	wantStatus(t, "without token", ada.do("POST", "/account/mandates/"+m.ID+"/pause", url.Values{}, nil), 403, "csrf_failed")
	for _, step := range []struct {
		action string
		status agentpay.MandateStatus
		button string
	}{{"pause", agentpay.MandatePaused, "/resume"}, {"resume", agentpay.MandateActive, "/pause"}, {"revoke", agentpay.MandateRevoked, ""}} {
		w := ada.form("/account/mandates/"+m.ID+"/"+step.action, url.Values{})
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/account?notice=mandate_"+step.action) {
			t.Fatalf("%s: %d %s", step.action, w.Code, w.Body)
		}
		if got := s.mandateStatus(m.ID); got != step.status {
			t.Fatalf("%s: %s", step.action, got)
		}
		page := ada.do("GET", "/account?notice=mandate_"+step.action, nil, nil)
		wantBody(t, step.action+" page", page, 200, `data-status="`+string(step.status)+`"`)
		if step.button != "" {
			wantBody(t, step.action+" page", page, 200, `action="/account/mandates/`+m.ID+step.button+`"`)
		}
	}
	w := ada.form("/account/mandates/"+m.ID+"/resume", url.Values{})
	wantBody(t, "resume a revoked mandate", w, 409, "cannot become active")
	wantStatus(t, "unknown action", ada.form("/account/mandates/"+m.ID+"/delete", url.Values{}), 404, "route_not_found")
}
