package x402

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestClientPaysWithBody: a POST is sent again, body and all, with the
// payment, and the server's handler sees the body once, paid.
func TestClientPaysWithBody(t *testing.T) {
	var bodies []string
	s := newPaidServer(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		_, _ = io.WriteString(w, "ok")
	})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/query", strings.NewReader(`{"q":"weather"}`))
	resp, err := testClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || len(bodies) != 1 || bodies[0] != `{"q":"weather"}` {
		t.Fatalf("status %d, handler saw %q", resp.StatusCode, bodies)
	}
}

// TestClientSpendControls: the client pays only within its configured
// caps, assets and networks, and picks the first payable requirement.
func TestClientSpendControls(t *testing.T) {
	evm := PaymentRequirements{Scheme: SchemeExact, Network: "eip155:8453", Amount: "1", Asset: "0xA0b8", PayTo: "0x1", MaxTimeoutSeconds: 60}
	expensive := testRequirements(SchemeExact, "2000000")
	eur := testRequirements(SchemeExact, "10")
	eur.Asset = "EUR"
	prod := testRequirements(SchemeExact, "10")
	prod.Network = "agentpay:prod"
	fine := testRequirements(SchemeUpto, "999")

	c := testClient()
	c.Networks = []string{testNetwork}
	got, err := c.choose([]PaymentRequirements{evm, expensive, eur, prod, fine})
	if err != nil || got.Scheme != SchemeUpto || got.Amount != "999" {
		t.Fatalf("chose %+v, %v", got, err)
	}
	_, err = c.choose([]PaymentRequirements{evm, expensive, eur, prod})
	wantReason(t, err, ReasonUnsupportedScheme)

	var zero Client
	zero.Key = keyA.private
	_, err = zero.choose([]PaymentRequirements{fine})
	wantReason(t, err, ReasonUnsupportedScheme)

	// End to end: a price above the cap is not paid, and no request is
	// retried.
	s := newPaidServer(t, Config{Accepts: []PaymentRequirements{expensive}}, nil)
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/r", nil)
	if _, err := testClient().Do(req); err == nil {
		t.Fatal("paid above the cap")
	}
	if v, _ := s.facilitator.counts(); v != 0 {
		t.Fatal("a payment was attempted")
	}
}

func TestClientPassesThrough(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain402" {
			w.WriteHeader(http.StatusPaymentRequired)
			_, _ = io.WriteString(w, "subscribe first")
			return
		}
		_, _ = io.WriteString(w, "free")
	}))
	defer s.Close()
	for path, want := range map[string]string{"/free": "free", "/plain402": "subscribe first"} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		resp, err := testClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := readBody(t, resp); got != want {
			t.Fatalf("%s: got %q", path, got)
		}
		resp.Body.Close()
		if sr, err := PaymentResponse(resp); sr != nil || err != nil {
			t.Fatalf("%s: settlement %+v %v", path, sr, err)
		}
	}
}

func TestClientRefusals(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", io.NopCloser(strings.NewReader("x")))
	if _, err := testClient().Do(req); err == nil || !strings.Contains(err.Error(), "GetBody") {
		t.Fatalf("a body that cannot be resent: %v", err)
	}
	if _, err := (&Client{}).Do(req); err == nil {
		t.Fatal("a client without a key")
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderPaymentRequired, "not base64!")
		w.WriteHeader(http.StatusPaymentRequired)
	}))
	defer s.Close()
	req, _ = http.NewRequest(http.MethodGet, s.URL, nil)
	_, err := testClient().Do(req)
	wantReason(t, err, ReasonInvalidPayload)
}

// TestClientV1Server pays a v1-only server: requirements in the body,
// payment in X-PAYMENT, settlement in X-PAYMENT-RESPONSE.
func TestClientV1Server(t *testing.T) {
	fake := newFakeFacilitator()
	req1 := testRequirements(SchemeExact, "250")
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := ResourceInfo{URL: srv.URL + "/v1"}
		h := r.Header.Get(HeaderXPayment)
		if h == "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusPaymentRequired)
			_ = json.NewEncoder(w).Encode(PaymentRequired{Error: "X-PAYMENT header is required", Resource: res, Accepts: []PaymentRequirements{req1}}.V1())
			return
		}
		p, err := DecodePaymentPayloadV1(h)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		freq := &FacilitatorRequest{X402Version: VersionV1, PaymentPayload: p.V2(req1, res), PaymentRequirements: req1}
		if v, _ := fake.Verify(r.Context(), freq); !v.IsValid {
			http.Error(w, v.InvalidReason, http.StatusPaymentRequired)
			return
		}
		sr, _ := fake.Settle(r.Context(), freq)
		hv, _ := EncodeHeader(sr)
		w.Header().Set(HeaderXPaymentResponse, hv)
		_, _ = io.WriteString(w, "v1 content")
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1", nil)
	resp, err := testClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sr, err := PaymentResponse(resp)
	if resp.StatusCode != 200 || readBody(t, resp) != "v1 content" || err != nil || sr == nil || !sr.Success || sr.Amount != "250" {
		t.Fatalf("status %d, settlement %+v %v", resp.StatusCode, sr, err)
	}
}

// TestClientWindow: the authorization is valid from a little before now
// until maxTimeoutSeconds from now, and never longer than the window
// allows.
func TestClientWindow(t *testing.T) {
	for _, c := range []struct {
		timeout int
		before  time.Time
	}{
		{60, testNow.Add(60 * time.Second)},
		{86400, testNow.Add(-clockSkew).Add(AuthorizationWindowMax)},
	} {
		r := testRequirements(SchemeExact, "1")
		r.MaxTimeoutSeconds = c.timeout
		pr := &PaymentRequired{X402Version: Version, Resource: ResourceInfo{URL: testResource}, Accepts: []PaymentRequirements{r}}
		req, _ := http.NewRequest(http.MethodGet, testResource, nil)
		_, value, err := testClient().pay(pr, &r, req)
		if err != nil {
			t.Fatal(err)
		}
		p, err := DecodePaymentPayload(value)
		if err != nil {
			t.Fatal(err)
		}
		lp, err := ParseLedgerPayload(p.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if !lp.Authorization.Expires().Equal(c.before) || lp.Authorization.CheckTime(testNow) != nil {
			t.Fatalf("timeout %d: valid %s..%s", c.timeout, lp.Authorization.ValidAfter, lp.Authorization.ValidBefore)
		}
		if err := VerifyAuthorization(&lp.Authorization, lp.Signature, keyA.public); err != nil {
			t.Fatal(err)
		}
	}
}
