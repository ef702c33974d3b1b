package x402

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestHeaderRoundTrip encodes each header message and decodes it back.
func TestHeaderRoundTrip(t *testing.T) {
	req := testRequirements(SchemeExact, "1500")
	req.Extra = json.RawMessage(`{"name":"USDC"}`)
	res := ResourceInfo{URL: "https://api.example/weather?city=x&y=<z>", Description: "weather", MimeType: "application/json"}
	ext := map[string]json.RawMessage{"payment-identifier": json.RawMessage(`{"info":{"id":"pi_1"}}`)}

	pr := PaymentRequired{X402Version: Version, Error: "PAYMENT-SIGNATURE header is required", Resource: res, Accepts: []PaymentRequirements{req}, Extensions: ext}
	h, err := EncodeHeader(pr)
	if err != nil {
		t.Fatal(err)
	}
	gotPR, err := DecodePaymentRequired(h)
	if err != nil || !reflect.DeepEqual(*gotPR, pr) {
		t.Fatalf("PaymentRequired: %v\n%+v", err, gotPR)
	}

	pp := PaymentPayload{X402Version: Version, Resource: &res, Accepted: req, Payload: json.RawMessage(`{"signature":"s"}`), Extensions: ext}
	h, _ = EncodeHeader(pp)
	gotPP, err := DecodePaymentPayload(h)
	if err != nil || !reflect.DeepEqual(*gotPP, pp) {
		t.Fatalf("PaymentPayload: %v\n%+v", err, gotPP)
	}

	p1 := PaymentPayloadV1{X402Version: VersionV1, Scheme: SchemeExact, Network: "base-sepolia", Payload: json.RawMessage(`{"a":[1,2]}`)}
	h, _ = EncodeHeader(p1)
	gotP1, err := DecodePaymentPayloadV1(h)
	if err != nil || !reflect.DeepEqual(*gotP1, p1) {
		t.Fatalf("PaymentPayloadV1: %v\n%+v", err, gotP1)
	}

	for _, sr := range []SettleResponse{
		{Success: true, Payer: keyA.id, Transaction: "trf_1", Network: testNetwork, Amount: "1500"},
		{Success: false, ErrorReason: ReasonInsufficientFunds, Transaction: "", Network: testNetwork},
	} {
		h, _ = EncodeHeader(sr)
		got, err := DecodeSettleResponse(h)
		if err != nil || !reflect.DeepEqual(*got, sr) {
			t.Fatalf("SettleResponse: %v\n%+v", err, got)
		}
	}

	v1 := pr.V1()
	got1, err := DecodePaymentRequiredV1(mustJSON(t, v1))
	if err != nil || !reflect.DeepEqual(*got1, v1) {
		t.Fatalf("PaymentRequiredV1: %v\n%+v", err, got1)
	}
}

// TestDecodeRefusals feeds the decoders malformed headers; each must be
// refused with the spec's reason, never accepted or answered with a panic.
func TestDecodeRefusals(t *testing.T) {
	valid := `{"x402Version":2,"accepted":{"scheme":"exact","network":"agentpay:test","amount":"10","asset":"USDC","payTo":"m","maxTimeoutSeconds":60},"payload":{}}`
	replace := func(old, new string) string { return b64(strings.Replace(valid, old, new, 1)) }
	if _, err := DecodePaymentPayload(b64(valid)); err != nil {
		t.Fatalf("the base case must decode: %v", err)
	}
	for _, c := range []struct {
		name, header, reason string
	}{
		{"empty", "", ReasonInvalidPayload},
		{"too long", strings.Repeat("A", HeaderSizeMax+4), ReasonInvalidPayload},
		{"not base64", "%%%", ReasonInvalidPayload},
		{"url-safe alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(b64(valid + "  ?>")), ReasonInvalidPayload},
		{"unpadded", strings.TrimRight(b64(valid+" "), "="), ReasonInvalidPayload},
		{"not JSON", b64("hello"), ReasonInvalidPayload},
		{"array", b64(`[` + valid + `]`), ReasonInvalidPayload},
		{"trailing data", b64(valid + `{}`), ReasonInvalidPayload},
		{"invalid UTF-8", b64(strings.Replace(valid, `"m"`, "\"m\xff\"", 1)), ReasonInvalidPayload},
		{"duplicate member", replace(`"payload":{}`, `"payload":{},"payload":{"x":1}`), ReasonInvalidPayload},
		{"duplicate nested member", replace(`"amount":"10"`, `"amount":"10","amount":"1"`), ReasonInvalidPayload},
		{"member twice in other case", replace(`"amount":"10"`, `"amount":"10","Amount":"1"`), ReasonInvalidPayload},
		{"too deep", replace(`"payload":{}`, `"payload":{"a":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`), ReasonInvalidPayload},
		{"version 1", replace(`"x402Version":2`, `"x402Version":1`), ReasonInvalidX402Version},
		{"version 2.0", replace(`"x402Version":2`, `"x402Version":2.0`), ReasonInvalidX402Version},
		{"version string", replace(`"x402Version":2`, `"x402Version":"2"`), ReasonInvalidX402Version},
		{"no version", replace(`"x402Version":2,`, ``), ReasonInvalidX402Version},
		{"no accepted", replace(`"accepted"`, `"chosen"`), ReasonInvalidPaymentRequirements},
		{"accepted not an object", b64(`{"x402Version":2,"accepted":"exact","payload":{}}`), ReasonInvalidPayload},
		{"amount with leading zero", replace(`"10"`, `"010"`), ReasonInvalidPaymentRequirements},
		{"negative amount", replace(`"10"`, `"-10"`), ReasonInvalidPaymentRequirements},
		{"decimal amount", replace(`"10"`, `"1.5"`), ReasonInvalidPaymentRequirements},
		{"amount as number", replace(`"10"`, `10`), ReasonInvalidPayload},
		{"network without colon", replace(`"agentpay:test"`, `"agentpay"`), ReasonInvalidNetwork},
		{"empty scheme", replace(`"exact"`, `""`), ReasonInvalidPaymentRequirements},
		{"zero timeout", replace(`60`, `0`), ReasonInvalidPaymentRequirements},
		{"fractional timeout", replace(`60`, `1.5`), ReasonInvalidPayload},
		{"extra null", replace(`"maxTimeoutSeconds":60`, `"maxTimeoutSeconds":60,"extra":null`), ReasonInvalidPaymentRequirements},
		{"extra array", replace(`"maxTimeoutSeconds":60`, `"maxTimeoutSeconds":60,"extra":[]`), ReasonInvalidPaymentRequirements},
		{"payload missing", replace(`,"payload":{}`, ``), ReasonInvalidPayload},
		{"payload a string", replace(`"payload":{}`, `"payload":"sig"`), ReasonInvalidPayload},
		{"payload null", replace(`"payload":{}`, `"payload":null`), ReasonInvalidPayload},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodePaymentPayload(c.header)
			wantReason(t, err, c.reason)
		})
	}
}

func TestDecodeRefusalsOtherMessages(t *testing.T) {
	t.Run("PAYMENT-REQUIRED without resource", func(t *testing.T) {
		_, err := DecodePaymentRequired(b64(`{"x402Version":2,"accepts":[{"scheme":"exact","network":"agentpay:test","amount":"1","asset":"USDC","payTo":"m","maxTimeoutSeconds":1}]}`))
		wantReason(t, err, ReasonInvalidPayload)
	})
	t.Run("PAYMENT-REQUIRED with no accepts", func(t *testing.T) {
		_, err := DecodePaymentRequired(b64(`{"x402Version":2,"resource":{"url":"https://a/"},"accepts":[]}`))
		wantReason(t, err, ReasonInvalidPaymentRequirements)
	})
	t.Run("X-PAYMENT of version 2", func(t *testing.T) {
		_, err := DecodePaymentPayloadV1(b64(`{"x402Version":2,"scheme":"exact","network":"n","payload":{}}`))
		wantReason(t, err, ReasonInvalidX402Version)
	})
	t.Run("X-PAYMENT without scheme", func(t *testing.T) {
		_, err := DecodePaymentPayloadV1(b64(`{"x402Version":1,"network":"n","payload":{}}`))
		wantReason(t, err, ReasonInvalidScheme)
	})
	t.Run("v1 body without resource", func(t *testing.T) {
		_, err := DecodePaymentRequiredV1([]byte(`{"x402Version":1,"error":"","accepts":[{"scheme":"exact","network":"n","maxAmountRequired":"1","description":"","payTo":"m","maxTimeoutSeconds":1,"asset":"A"}]}`))
		wantReason(t, err, ReasonInvalidPaymentRequirements)
	})
	t.Run("v1 body with extra null", func(t *testing.T) {
		_, err := DecodePaymentRequiredV1([]byte(`{"x402Version":1,"error":"","accepts":[{"scheme":"exact","network":"n","maxAmountRequired":"1","resource":"https://a/","description":"","payTo":"m","maxTimeoutSeconds":1,"asset":"A","extra":null,"outputSchema":null}]}`))
		if err != nil {
			t.Fatalf("v1 allows extra and outputSchema to be null: %v", err)
		}
	})
	t.Run("PAYMENT-RESPONSE without success", func(t *testing.T) {
		_, err := DecodeSettleResponse(b64(`{"transaction":"t","network":"n"}`))
		wantReason(t, err, ReasonInvalidPayload)
	})
	t.Run("PAYMENT-RESPONSE with a bad amount", func(t *testing.T) {
		_, err := DecodeSettleResponse(b64(`{"success":true,"transaction":"t","network":"n","amount":"1e3"}`))
		wantReason(t, err, ReasonInvalidPayload)
	})
}

// TestEncodeHeaderLimit refuses to produce a header a peer would refuse.
func TestEncodeHeaderLimit(t *testing.T) {
	if _, err := EncodeHeader(map[string]string{"x": strings.Repeat("a", HeaderSizeMax)}); err == nil {
		t.Fatal("an oversized header was encoded")
	}
}
