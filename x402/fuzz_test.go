package x402

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The decoders face untrusted input from any client, server or
// facilitator. Their fuzz targets check that nothing panics and that what
// decodes is stable: encoding it and decoding again gives the same message,
// which still validates. Run one with, e.g.,
// go test -run '^$' -fuzz FuzzDecodePaymentPayload -fuzztime 60s ./x402

// roundTrip checks that v, decoded from fuzzed input, survives encoding
// and decoding unchanged.
func roundTrip[T any](t *testing.T, v *T, decode func(string) (*T, error)) {
	t.Helper()
	h, err := EncodeHeader(v)
	if err != nil {
		return // a decoded header can grow when re-escaped past the limit
	}
	again, err := decode(h)
	if err != nil {
		t.Fatalf("re-encoded message does not decode: %v\n%s", err, mustJSON(t, v))
	}
	if a, b := mustJSON(t, v), mustJSON(t, again); !bytes.Equal(a, b) {
		t.Fatalf("round trip changed the message:\n%s\n%s", a, b)
	}
}

// seedHeaders seeds with the JSON of msgs and some malformed JSON. The
// targets take JSON, not header values, so the fuzzer explores the JSON
// decoding rather than mostly producing invalid base64; each target also
// decodes the input as a raw header value, to cover the base64 layer.
func seedHeaders(f *testing.F, msgs ...any) {
	for _, m := range msgs {
		b, _ := json.Marshal(m)
		f.Add(b)
	}
	for _, s := range []string{"", "{}", "e30=", `{"x402Version":2,"x402Version":2}`, `{"x402Version":1}`, `[]`, `{"x402Version":2,"accepted":{"extra":null}}`} {
		f.Add([]byte(s))
	}
}

// fuzzHeader decodes data as a header value and as JSON inside one, and
// round-trips whatever decodes.
func fuzzHeader[T any](t *testing.T, data []byte, decode func(string) (*T, error)) {
	_, _ = decode(string(data))
	v, err := decode(b64(string(data)))
	if err != nil {
		if ReasonOf(err, "") == "" {
			t.Fatalf("refusal without a reason: %v", err)
		}
		return
	}
	roundTrip(t, v, decode)
}

func fuzzPayload() PaymentPayload {
	res := ResourceInfo{URL: testResource, Description: "d"}
	return PaymentPayload{X402Version: Version, Resource: &res, Accepted: testRequirements(SchemeExact, "10"), Payload: json.RawMessage(`{"signature":"s","authorization":{}}`),
		Extensions: map[string]json.RawMessage{"e": json.RawMessage(`{"info":{}}`)}}
}

func FuzzDecodePaymentPayload(f *testing.F) {
	seedHeaders(f, fuzzPayload())
	f.Fuzz(func(t *testing.T, data []byte) { fuzzHeader(t, data, DecodePaymentPayload) })
}

func FuzzDecodePaymentPayloadV1(f *testing.F) {
	seedHeaders(f, PaymentPayloadV1{X402Version: VersionV1, Scheme: SchemeExact, Network: "base", Payload: json.RawMessage(`{"a":1}`)})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzHeader(t, data, DecodePaymentPayloadV1) })
}

func FuzzDecodePaymentRequired(f *testing.F) {
	seedHeaders(f, PaymentRequired{X402Version: Version, Error: "e", Resource: ResourceInfo{URL: testResource}, Accepts: []PaymentRequirements{testRequirements(SchemeUpto, "7")}})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzHeader(t, data, DecodePaymentRequired) })
}

func FuzzDecodeSettleResponse(f *testing.F) {
	seedHeaders(f, SettleResponse{Success: true, Transaction: "trf_1", Network: testNetwork, Amount: "5"}, SettleResponse{ErrorReason: "x"})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzHeader(t, data, DecodeSettleResponse) })
}

func FuzzDecodeFacilitatorRequest(f *testing.F) {
	p := fuzzPayload()
	for _, version := range []int{Version, VersionV1} {
		p.X402Version = version
		b, _ := json.Marshal(FacilitatorRequest{X402Version: version, PaymentPayload: p, PaymentRequirements: p.Accepted})
		f.Add(b)
	}
	f.Add([]byte(`{"x402Version":1,"paymentPayload":{"x402Version":1},"paymentRequirements":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeFacilitatorRequest(body)
		if err != nil {
			if ReasonOf(err, "") == "" {
				t.Fatalf("refusal without a reason: %v", err)
			}
			return
		}
		again, err := DecodeFacilitatorRequest(mustJSON(t, r))
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if a, b := mustJSON(t, r), mustJSON(t, again); !bytes.Equal(a, b) {
			t.Fatalf("round trip changed the request:\n%s\n%s", a, b)
		}
	})
}

// FuzzLedgerPayload: whatever bytes arrive, a payload that parses and
// verifies under keyA is exactly one keyA signed: the same authorization,
// member for member, and the same signature string. So no encoding trick
// turns a signature into a payment keyA did not make, and no second
// spelling of a signed payment exists to slip past replay protection.
func FuzzLedgerPayload(f *testing.F) {
	var signed []LedgerPayload
	for _, a := range []Authorization{
		testAuthorization(SchemeExact, "1500", testResource),
		testAuthorization(SchemeUpto, "9223372036854775807", "https://a.example/<&>"),
	} {
		raw, err := NewLedgerPayload(&a, keyA.private)
		if err != nil {
			f.Fatal(err)
		}
		var p LedgerPayload
		_ = json.Unmarshal(raw, &p)
		signed = append(signed, p)
		f.Add([]byte(raw))
	}
	f.Add([]byte(`{"authorization":{},"signature":""}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := ParseLedgerPayload(raw)
		if err != nil {
			if ReasonOf(err, "") == "" {
				t.Fatalf("refusal without a reason: %v", err)
			}
			return
		}
		if VerifyAuthorization(&p.Authorization, p.Signature, keyA.public) != nil {
			return
		}
		for _, s := range signed {
			if s == *p {
				return
			}
		}
		t.Fatalf("a payload keyA never signed verified: %+v", p)
	})
}
