package x402

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// facilitatorServer serves a fake facilitator through NewFacilitatorHandler
// under /x402, as agentpay mounts its own.
func facilitatorServer(t *testing.T) (*HTTPFacilitator, *fakeFacilitator) {
	t.Helper()
	fake := newFakeFacilitator()
	mux := http.NewServeMux()
	mux.Handle("/x402/", http.StripPrefix("/x402", NewFacilitatorHandler(fake)))
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return &HTTPFacilitator{URL: s.URL + "/x402/", Client: s.Client(), Header: http.Header{"Authorization": {"Bearer t"}}}, fake
}

// TestHTTPFacilitatorRoundTrip: HTTPFacilitator and NewFacilitatorHandler
// carry both versions' requests across HTTP without loss.
func TestHTTPFacilitatorRoundTrip(t *testing.T) {
	ctx := context.Background()
	hf, fake := facilitatorServer(t)
	exact := testRequirements(SchemeExact, "1500")

	req := signedRequest(t, exact, testAuthorization(SchemeExact, "1500", testResource), keyA.private, testResource)
	v, err := hf.Verify(ctx, req)
	if err != nil || !v.IsValid || v.Payer != keyA.id {
		t.Fatalf("verify: %v %+v", err, v)
	}
	s, err := hf.Settle(ctx, req)
	if err != nil || !s.Success || s.Amount != "1500" || s.Network != testNetwork {
		t.Fatalf("settle: %v %+v", err, s)
	}
	s, err = hf.Settle(ctx, req)
	if err != nil || s.Success || s.ErrorReason != ReasonInvalidTransactionState {
		t.Fatalf("second settle of one nonce: %v %+v", err, s)
	}

	// v1: the request crosses the wire in v1 shape and arrives the same.
	a := testAuthorization(SchemeExact, "1500", testResource)
	a.Nonce = NewNonce()
	v1 := signedRequest(t, exact, a, keyA.private, testResource)
	v1.X402Version, v1.PaymentPayload.X402Version = VersionV1, VersionV1
	if v, err := hf.Verify(ctx, v1); err != nil || !v.IsValid {
		t.Fatalf("verify v1: %v %+v", err, v)
	}
	got := fake.verified[len(fake.verified)-1]
	if got.X402Version != VersionV1 || !reflect.DeepEqual(got.PaymentRequirements, v1.PaymentRequirements) || *got.PaymentPayload.Resource != *v1.PaymentPayload.Resource {
		t.Fatalf("v1 arrived as %+v", got)
	}

	sup, err := hf.Supported(ctx)
	if err != nil || len(sup.Kinds) != 3 || sup.Signers[NetworkPattern][0] != "agentpay" {
		t.Fatalf("supported: %v %+v", err, sup)
	}

	// Refusals arrive as refusals, not errors.
	bad := signedRequest(t, exact, testAuthorization(SchemeExact, "1500", testResource), keyA.private, testResource)
	bad.PaymentRequirements.Amount = "1499"
	if v, err := hf.Verify(ctx, bad); err != nil || v.IsValid || v.InvalidReason != ReasonLedgerValueMismatch {
		t.Fatalf("refused verify: %v %+v", err, v)
	}
}

// TestFacilitatorHandlerRefusals: malformed bodies get 400 in the
// protocol's own format.
func TestFacilitatorHandlerRefusals(t *testing.T) {
	h := NewFacilitatorHandler(newFakeFacilitator())
	for _, c := range []struct {
		path, body, reason string
	}{
		{"/verify", `not json`, ReasonInvalidPayload},
		{"/verify", `{"x402Version":7}`, ReasonInvalidX402Version},
		{"/settle", `{"x402Version":2,"paymentPayload":{"x402Version":2},"paymentRequirements":{}}`, ReasonInvalidPaymentRequirements},
		{"/settle", `{"x402Version":2,"paymentPayload":{},"paymentRequirements":{}}`, ReasonInvalidX402Version},
		{"/settle", `{"x402Version":2,` + strings.Repeat(" ", facilitatorRequestMax) + `}`, ReasonInvalidPayload},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, c.path, strings.NewReader(c.body)))
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("%s %.40s: status %d", c.path, c.body, rec.Code)
		}
		var got map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		key, flag := "invalidReason", "isValid"
		if c.path == "/settle" {
			key, flag = "errorReason", "success"
		}
		if got[key] != c.reason || got[flag] != false {
			t.Fatalf("%s %.40s: %v", c.path, c.body, got)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/verify", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /verify: %d", rec.Code)
	}
}

// TestHTTPFacilitatorBadAnswers: an answer that is not the protocol's is an
// error, so the middleware never mistakes it for a verdict.
func TestHTTPFacilitatorBadAnswers(t *testing.T) {
	ctx := context.Background()
	req := signedRequest(t, testRequirements(SchemeExact, "1"), testAuthorization(SchemeExact, "1", testResource), keyA.private, testResource)
	for _, c := range []struct {
		name   string
		status int
		body   string
		ok     bool // a refusal in protocol format
	}{
		{"refusal with 400", 400, `{"isValid":false,"invalidReason":"insufficient_funds"}`, true},
		{"html error page", 502, `<html>bad gateway</html>`, false},
		{"missing isValid", 200, `{"invalidReason":"x"}`, false},
		{"isValid true with 500", 500, `{"isValid":true}`, false},
		{"duplicate isValid", 200, `{"isValid":false,"isValid":true}`, false},
		{"too large", 200, `{"isValid":true,"x":"` + strings.Repeat("a", facilitatorBodyMax) + `"}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			}))
			defer s.Close()
			hf := &HTTPFacilitator{URL: s.URL}
			v, err := hf.Verify(ctx, req)
			if c.ok && (err != nil || v.IsValid || v.InvalidReason != ReasonInsufficientFunds) {
				t.Fatalf("%v %+v", err, v)
			}
			if !c.ok && err == nil {
				t.Fatalf("accepted %+v", v)
			}
			if _, err := hf.Settle(ctx, req); err == nil {
				t.Fatal("settle accepted a verify answer")
			}
			if _, err := hf.Supported(ctx); err == nil && c.status != 200 {
				t.Fatal("supported accepted an error status")
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		s := httptest.NewServer(http.NotFoundHandler())
		s.Close()
		if _, err := (&HTTPFacilitator{URL: s.URL}).Verify(ctx, req); err == nil {
			t.Fatal("no error from a closed server")
		}
	})
}
