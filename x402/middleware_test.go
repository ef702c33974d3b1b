package x402

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// paidServer serves handler behind Middleware with a fake facilitator.
type paidServer struct {
	*httptest.Server
	facilitator *fakeFacilitator
	calls       atomic.Int32 // how often the handler ran
}

func newPaidServer(t *testing.T, cfg Config, handler http.HandlerFunc) *paidServer {
	t.Helper()
	s := &paidServer{facilitator: newFakeFacilitator()}
	if cfg.Facilitator == nil {
		cfg.Facilitator = s.facilitator
	}
	if cfg.Accepts == nil && cfg.AcceptsFunc == nil {
		cfg.Accepts = []PaymentRequirements{testRequirements(SchemeExact, "1500")}
	}
	if handler == nil {
		handler = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Handler", "ran")
			_, _ = io.WriteString(w, "the forecast")
		}
	}
	s.Server = httptest.NewServer(Middleware(cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		handler(w, r)
	})))
	t.Cleanup(s.Close)
	return s
}

func testClient() *Client {
	return &Client{Key: keyA.private, MaxAmount: map[string]int64{"USDC": 1_000_000}, Now: func() time.Time { return testNow }}
}

func get(t *testing.T, url string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// paymentRequiredOf decodes the PAYMENT-REQUIRED header of resp.
func paymentRequiredOf(t *testing.T, resp *http.Response) *PaymentRequired {
	t.Helper()
	pr, err := DecodePaymentRequired(resp.Header.Get(HeaderPaymentRequired))
	if err != nil {
		t.Fatalf("PAYMENT-REQUIRED: %v", err)
	}
	return pr
}

func TestMiddlewareUnpaid(t *testing.T) {
	s := newPaidServer(t, Config{Resource: ResourceInfo{Description: "weather", MimeType: "text/plain"}}, nil)
	resp := get(t, s.URL+"/weather?city=x", nil)
	if resp.StatusCode != http.StatusPaymentRequired {
		t.Fatalf("status %d", resp.StatusCode)
	}
	pr := paymentRequiredOf(t, resp)
	if pr.Error != "PAYMENT-SIGNATURE header is required" || pr.Resource.URL != s.URL+"/weather?city=x" || pr.Resource.Description != "weather" || len(pr.Accepts) != 1 || pr.Accepts[0].Amount != "1500" {
		t.Fatalf("PaymentRequired: %+v", pr)
	}
	// The body is the v1 PaymentRequired, for v1 clients.
	v1, err := DecodePaymentRequiredV1([]byte(readBody(t, resp)))
	if err != nil {
		t.Fatal(err)
	}
	if v1.Error != "X-PAYMENT header is required" || v1.Accepts[0].MaxAmountRequired != "1500" || v1.Accepts[0].Resource != pr.Resource.URL {
		t.Fatalf("v1 body: %+v", v1)
	}
	if s.calls.Load() != 0 {
		t.Fatal("the handler ran unpaid")
	}
}

// TestMiddlewarePaid pays with the Client, v2: the handler's response
// arrives with PAYMENT-RESPONSE, and the facilitator settled it once.
func TestMiddlewarePaid(t *testing.T) {
	s := newPaidServer(t, Config{BaseURL: "https://api.example"}, nil)
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/weather", nil)
	resp, err := testClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || readBody(t, resp) != "the forecast" || resp.Header.Get("X-Handler") != "ran" {
		t.Fatalf("status %d", resp.StatusCode)
	}
	sr, err := PaymentResponse(resp)
	if err != nil || sr == nil || !sr.Success || sr.Transaction != "trf_1" || sr.Payer != keyA.id || sr.Amount != "1500" || sr.Network != testNetwork {
		t.Fatalf("PAYMENT-RESPONSE: %v %+v", err, sr)
	}
	if resp.Header.Get(HeaderXPaymentResponse) != "" {
		t.Fatal("a v2 client got X-PAYMENT-RESPONSE")
	}
	if v, st := s.facilitator.counts(); v != 1 || st != 1 || s.calls.Load() != 1 {
		t.Fatalf("verified %d, settled %d, handler ran %d times", v, st, s.calls.Load())
	}
	// The agent signed the resource the server named, from its BaseURL.
	p, _ := ParseLedgerPayload(s.facilitator.settled[0].PaymentPayload.Payload)
	if p.Authorization.Resource != "https://api.example/weather" {
		t.Fatalf("signed resource %q", p.Authorization.Resource)
	}
}

// TestMiddlewareReplay: the same PAYMENT-SIGNATURE twice pays once.
func TestMiddlewareReplay(t *testing.T) {
	s := newPaidServer(t, Config{}, nil)
	pr := paymentRequiredOf(t, get(t, s.URL+"/r", nil))
	header := signV2(t, pr, &pr.Accepts[0], keyA)
	if resp := get(t, s.URL+"/r", map[string]string{HeaderPaymentSignature: header}); resp.StatusCode != http.StatusOK {
		t.Fatalf("first payment: %d", resp.StatusCode)
	}
	resp := get(t, s.URL+"/r", map[string]string{HeaderPaymentSignature: header})
	if resp.StatusCode != http.StatusPaymentRequired || strings.Contains(readBody(t, resp), "the forecast") {
		t.Fatalf("replayed payment: %d", resp.StatusCode)
	}
	sr, _ := PaymentResponse(resp)
	if sr == nil || sr.Success || sr.ErrorReason != ReasonInvalidTransactionState {
		t.Fatalf("replay settlement: %+v", sr)
	}
}

// signV2 builds a PAYMENT-SIGNATURE paying r of pr with key.
func signV2(t *testing.T, pr *PaymentRequired, r *PaymentRequirements, key testKey) string {
	t.Helper()
	a := testAuthorization(r.Scheme, r.Amount, pr.Resource.URL)
	a.From = key.id
	a.Nonce = NewNonce()
	payload, err := NewLedgerPayload(&a, key.private)
	if err != nil {
		t.Fatal(err)
	}
	h, err := EncodeHeader(PaymentPayload{X402Version: Version, Resource: &pr.Resource, Accepted: *r, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// signV1 builds an X-PAYMENT paying r for resource with keyA.
func signV1(t *testing.T, r *PaymentRequirementsV1) string {
	t.Helper()
	a := testAuthorization(r.Scheme, r.MaxAmountRequired, r.Resource)
	a.Nonce = NewNonce()
	payload, err := NewLedgerPayload(&a, keyA.private)
	if err != nil {
		t.Fatal(err)
	}
	h, err := EncodeHeader(PaymentPayloadV1{X402Version: VersionV1, Scheme: r.Scheme, Network: r.Network, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestMiddlewarePaidV1(t *testing.T) {
	s := newPaidServer(t, Config{}, nil)
	resp := get(t, s.URL+"/r", nil)
	v1, err := DecodePaymentRequiredV1([]byte(readBody(t, resp)))
	if err != nil {
		t.Fatal(err)
	}
	resp = get(t, s.URL+"/r", map[string]string{HeaderXPayment: signV1(t, &v1.Accepts[0])})
	if resp.StatusCode != http.StatusOK || readBody(t, resp) != "the forecast" {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if resp.Header.Get(HeaderPaymentResponse) != "" {
		t.Fatal("a v1 client got PAYMENT-RESPONSE")
	}
	sr, err := DecodeSettleResponse(resp.Header.Get(HeaderXPaymentResponse))
	if err != nil || !sr.Success {
		t.Fatalf("X-PAYMENT-RESPONSE: %v %+v", err, sr)
	}
	got := s.facilitator.settled[0]
	if got.X402Version != VersionV1 || got.PaymentPayload.Resource.URL != s.URL+"/r" {
		t.Fatalf("the facilitator got %+v", got)
	}
	// The same client is refused when v1 is disabled.
	off := newPaidServer(t, Config{DisableV1: true, Resource: ResourceInfo{URL: v1.Accepts[0].Resource}}, nil)
	resp = get(t, off.URL+"/r", map[string]string{HeaderXPayment: signV1(t, &v1.Accepts[0])})
	if resp.StatusCode != http.StatusPaymentRequired || off.calls.Load() != 0 {
		t.Fatalf("v1 disabled: status %d", resp.StatusCode)
	}
	var body PaymentRequired
	if err := json.Unmarshal([]byte(readBody(t, resp)), &body); err != nil || body.X402Version != Version {
		t.Fatalf("with v1 disabled the body is the v2 PaymentRequired: %v %+v", err, body)
	}
}

// TestMiddlewareRefusals covers every way a paid request can fail before
// the handler runs, or after.
func TestMiddlewareRefusals(t *testing.T) {
	s := newPaidServer(t, Config{}, nil)
	pr := paymentRequiredOf(t, get(t, s.URL+"/r", nil))
	good := signV2(t, pr, &pr.Accepts[0], keyA)
	cheaper := pr.Accepts[0]
	cheaper.Amount = "1"
	otherNetwork := pr.Accepts[0]
	otherNetwork.Network = "agentpay:prod"
	otherScheme := pr.Accepts[0]
	otherScheme.Scheme = SchemeUpto

	for _, c := range []struct {
		name      string
		header    map[string]string
		setup     func(f *fakeFacilitator)
		status    int
		reason    string // PaymentRequired.error
		settled   string // errorReason in PAYMENT-RESPONSE, if any
		handlerOK bool   // whether the handler may run
	}{
		{name: "not base64", header: map[string]string{HeaderPaymentSignature: "%%"}, status: 400, reason: ReasonInvalidPayload},
		{name: "not JSON", header: map[string]string{HeaderPaymentSignature: b64("nope")}, status: 400, reason: ReasonInvalidPayload},
		{name: "wrong version", header: map[string]string{HeaderPaymentSignature: b64(`{"x402Version":3}`)}, status: 400, reason: ReasonInvalidX402Version},
		{name: "malformed v1", header: map[string]string{HeaderXPayment: b64(`{"x402Version":1}`)}, status: 400, reason: ReasonInvalidScheme},
		{name: "accepted a lower price", header: map[string]string{HeaderPaymentSignature: signV2(t, pr, &cheaper, keyA)}, status: 402, reason: ReasonInvalidPaymentRequirements},
		{name: "network not offered", header: map[string]string{HeaderPaymentSignature: signV2(t, pr, &otherNetwork, keyA)}, status: 402, reason: ReasonInvalidNetwork},
		{name: "scheme not offered", header: map[string]string{HeaderPaymentSignature: signV2(t, pr, &otherScheme, keyA)}, status: 402, reason: ReasonUnsupportedScheme},
		{name: "unknown key", header: map[string]string{HeaderPaymentSignature: signV2(t, pr, &pr.Accepts[0], newTestKey(7))}, status: 402, reason: ReasonLedgerPayer},
		{name: "verify refused", header: map[string]string{HeaderPaymentSignature: good}, setup: func(f *fakeFacilitator) { f.refuseVerify = ReasonInsufficientFunds }, status: 402, reason: ReasonInsufficientFunds},
		{name: "verify unreachable", header: map[string]string{HeaderPaymentSignature: good}, setup: func(f *fakeFacilitator) { f.verifyErr = errFacilitatorDown }, status: 500, reason: ReasonUnexpectedVerifyError},
		{name: "settle refused", header: map[string]string{HeaderPaymentSignature: good}, setup: func(f *fakeFacilitator) { f.refuseSettle = ReasonInsufficientFunds }, status: 402, reason: ReasonInsufficientFunds, settled: ReasonInsufficientFunds, handlerOK: true},
		{name: "settle unreachable", header: map[string]string{HeaderPaymentSignature: good}, setup: func(f *fakeFacilitator) { f.settleErr = errFacilitatorDown }, status: 402, reason: ReasonUnexpectedSettleError, settled: ReasonUnexpectedSettleError, handlerOK: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newPaidServer(t, Config{Resource: pr.Resource}, nil)
			if c.setup != nil {
				c.setup(s.facilitator)
			}
			resp := get(t, s.URL+"/r", c.header)
			body := readBody(t, resp)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if got := paymentRequiredOf(t, resp).Error; got != c.reason {
				t.Fatalf("error %q, want %q", got, c.reason)
			}
			if strings.Contains(body, "the forecast") || resp.Header.Get("X-Handler") != "" {
				t.Fatal("the handler's response was sent")
			}
			if !c.handlerOK && s.calls.Load() != 0 {
				t.Fatal("the handler ran")
			}
			sr, err := PaymentResponse(resp)
			if c.settled == "" && sr != nil {
				t.Fatalf("unexpected settlement %+v", sr)
			}
			if c.settled != "" && (err != nil || sr == nil || sr.Success || sr.ErrorReason != c.settled) {
				t.Fatalf("settlement %v %+v, want failure %s", err, sr, c.settled)
			}
		})
	}
}

func TestMiddlewareHeaders(t *testing.T) {
	s := newPaidServer(t, Config{}, nil)
	pr := paymentRequiredOf(t, get(t, s.URL+"/r", nil))
	v2 := signV2(t, pr, &pr.Accepts[0], keyA)

	t.Run("both styles: v2 wins", func(t *testing.T) {
		resp := get(t, s.URL+"/r", map[string]string{HeaderPaymentSignature: v2, HeaderXPayment: "garbage"})
		if resp.StatusCode != http.StatusOK || resp.Header.Get(HeaderPaymentResponse) == "" {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("two payment headers", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/r", nil)
		req.Header.Add(HeaderPaymentSignature, v2)
		req.Header.Add(HeaderPaymentSignature, v2)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

// TestMiddlewareHandlerOutcomes: a failing handler is not charged; a
// response too large to hold is refused and not charged; upto settles the
// usage the handler reports.
func TestMiddlewareHandlerOutcomes(t *testing.T) {
	t.Run("handler error is not charged", func(t *testing.T) {
		s := newPaidServer(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream broke", http.StatusBadGateway)
		})
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/r", nil)
		resp, err := testClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway || resp.Header.Get(HeaderPaymentResponse) != "" {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if _, settled := s.facilitator.counts(); settled != 0 {
			t.Fatal("a failed request was settled")
		}
	})
	t.Run("response too large", func(t *testing.T) {
		s := newPaidServer(t, Config{ResponseBytesMax: 10}, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "more than ten bytes")
		})
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/r", nil)
		resp, err := testClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError || strings.Contains(readBody(t, resp), "more than") {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if _, settled := s.facilitator.counts(); settled != 0 {
			t.Fatal("an undelivered response was settled")
		}
	})
	t.Run("upto settles usage", func(t *testing.T) {
		var setErr error
		s := newPaidServer(t, Config{Accepts: []PaymentRequirements{testRequirements(SchemeUpto, "5000")}}, func(w http.ResponseWriter, r *http.Request) {
			p, ok := PaymentFromContext(r.Context())
			if !ok || p.Payer != keyA.id || p.Requirements.Amount != "5000" {
				t.Errorf("payment in context: %v %+v", ok, p)
			}
			if err := p.SetSettleAmount("5001"); err == nil {
				t.Error("usage above the maximum was accepted")
			}
			setErr = p.SetSettleAmount("1234")
			_, _ = io.WriteString(w, "1234 tokens")
		})
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/r", nil)
		resp, err := testClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sr, _ := PaymentResponse(resp)
		if setErr != nil || resp.StatusCode != 200 || sr == nil || sr.Amount != "1234" || s.facilitator.amounts[0] != 1234 {
			t.Fatalf("status %d, settlement %+v, %v", resp.StatusCode, sr, setErr)
		}
	})
	t.Run("exact has no settle amount", func(t *testing.T) {
		p := &Payment{Requirements: testRequirements(SchemeExact, "10")}
		if err := p.SetSettleAmount("5"); err == nil {
			t.Fatal("an exact payment took a settle amount")
		}
	})
}

func TestMiddlewareAcceptsFunc(t *testing.T) {
	s := newPaidServer(t, Config{AcceptsFunc: func(r *http.Request) ([]PaymentRequirements, error) {
		if r.URL.Query().Get("member") == "1" {
			return nil, nil // free for members
		}
		if r.URL.Query().Get("broken") == "1" {
			return nil, io.ErrUnexpectedEOF
		}
		return []PaymentRequirements{testRequirements(SchemeExact, "7")}, nil
	}}, nil)
	if resp := get(t, s.URL+"/r?member=1", nil); resp.StatusCode != 200 {
		t.Fatalf("free request: %d", resp.StatusCode)
	}
	if resp := get(t, s.URL+"/r?broken=1", nil); resp.StatusCode != 500 {
		t.Fatalf("pricing failure: %d", resp.StatusCode)
	}
	resp := get(t, s.URL+"/r", nil)
	if resp.StatusCode != 402 || paymentRequiredOf(t, resp).Accepts[0].Amount != "7" {
		t.Fatalf("priced request: %d", resp.StatusCode)
	}
}

func TestMiddlewareConfigPanics(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no facilitator":      {Accepts: []PaymentRequirements{testRequirements(SchemeExact, "1")}},
		"no accepts":          {Facilitator: newFakeFacilitator()},
		"invalid requirement": {Facilitator: newFakeFacilitator(), Accepts: []PaymentRequirements{testRequirements(SchemeExact, "1.5")}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			Middleware(cfg)
		})
	}
}
