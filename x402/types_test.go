package x402

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestWireNames pins every member name to the reference implementation's
// (typescript/packages/core/src/types/payments.ts, facilitator.ts,
// v1/index.ts): a renamed field would silently break interoperability.
func TestWireNames(t *testing.T) {
	extra := json.RawMessage(`{"k":"v"}`)
	req := PaymentRequirements{Scheme: "exact", Network: "agentpay:test", Amount: "10", Asset: "USDC", PayTo: "mer_1", MaxTimeoutSeconds: 60, Extra: extra}
	res := ResourceInfo{URL: "https://api.example/r", Description: "d", MimeType: "application/json"}
	ext := map[string]json.RawMessage{"payment-identifier": json.RawMessage(`{"id":"x"}`)}
	reqJSON := `{"scheme":"exact","network":"agentpay:test","amount":"10","asset":"USDC","payTo":"mer_1","maxTimeoutSeconds":60,"extra":{"k":"v"}}`
	resJSON := `{"url":"https://api.example/r","description":"d","mimeType":"application/json"}`
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"PaymentRequirements", req, reqJSON},
		{"ResourceInfo", res, resJSON},
		{"PaymentRequired", PaymentRequired{X402Version: 2, Error: "e", Resource: res, Accepts: []PaymentRequirements{req}, Extensions: ext},
			`{"x402Version":2,"error":"e","resource":` + resJSON + `,"accepts":[` + reqJSON + `],"extensions":{"payment-identifier":{"id":"x"}}}`},
		{"PaymentPayload", PaymentPayload{X402Version: 2, Resource: &res, Accepted: req, Payload: json.RawMessage(`{"p":1}`), Extensions: ext},
			`{"x402Version":2,"resource":` + resJSON + `,"accepted":` + reqJSON + `,"payload":{"p":1},"extensions":{"payment-identifier":{"id":"x"}}}`},
		{"SettleResponse", SettleResponse{Success: false, ErrorReason: "insufficient_funds", ErrorMessage: "m", Payer: "p", Transaction: "", Network: "agentpay:test", Amount: "5", Extensions: ext},
			`{"success":false,"errorReason":"insufficient_funds","errorMessage":"m","payer":"p","transaction":"","network":"agentpay:test","amount":"5","extensions":{"payment-identifier":{"id":"x"}}}`},
		{"SettleResponse minimal", SettleResponse{Success: true, Transaction: "t", Network: "n"}, `{"success":true,"transaction":"t","network":"n"}`},
		{"VerifyResponse", VerifyResponse{IsValid: false, InvalidReason: "r", InvalidMessage: "m", Payer: "p"},
			`{"isValid":false,"invalidReason":"r","invalidMessage":"m","payer":"p"}`},
		{"SupportedResponse", SupportedResponse{Kinds: []SupportedKind{{X402Version: 2, Scheme: "exact", Network: "agentpay:test", Extra: extra}}, Extensions: []string{"bazaar"}, Signers: map[string][]string{"agentpay:*": {"s"}}},
			`{"kinds":[{"x402Version":2,"scheme":"exact","network":"agentpay:test","extra":{"k":"v"}}],"extensions":["bazaar"],"signers":{"agentpay:*":["s"]}}`},
		{"SupportedResponse empty", SupportedResponse{}, `{"kinds":[],"extensions":[],"signers":{}}`},
		{"PaymentRequirementsV1", req.V1(res),
			`{"scheme":"exact","network":"agentpay:test","maxAmountRequired":"10","resource":"https://api.example/r","description":"d","mimeType":"application/json","payTo":"mer_1","maxTimeoutSeconds":60,"asset":"USDC","extra":{"k":"v"}}`},
		{"PaymentRequiredV1", PaymentRequiredV1{X402Version: 1, Error: "X-PAYMENT header is required"},
			`{"x402Version":1,"error":"X-PAYMENT header is required","accepts":[]}`},
		{"PaymentPayloadV1", PaymentPayloadV1{X402Version: 1, Scheme: "exact", Network: "agentpay:test", Payload: json.RawMessage(`{}`)},
			`{"x402Version":1,"scheme":"exact","network":"agentpay:test","payload":{}}`},
		{"FacilitatorRequest v2", FacilitatorRequest{X402Version: 2, PaymentPayload: PaymentPayload{X402Version: 2, Accepted: req, Payload: json.RawMessage(`{}`)}, PaymentRequirements: req},
			`{"x402Version":2,"paymentPayload":{"x402Version":2,"accepted":` + reqJSON + `,"payload":{}},"paymentRequirements":` + reqJSON + `}`},
		{"FacilitatorRequest v1", FacilitatorRequest{X402Version: 1, PaymentPayload: PaymentPayload{X402Version: 1, Resource: &res, Accepted: req, Payload: json.RawMessage(`{}`)}, PaymentRequirements: req},
			`{"x402Version":1,"paymentPayload":{"x402Version":1,"scheme":"exact","network":"agentpay:test","payload":{}},"paymentRequirements":` +
				`{"scheme":"exact","network":"agentpay:test","maxAmountRequired":"10","resource":"https://api.example/r","description":"d","mimeType":"application/json","payTo":"mer_1","maxTimeoutSeconds":60,"asset":"USDC","extra":{"k":"v"}}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := string(mustJSON(t, c.v)); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestV1Conversion checks that v1 and v2 forms convert into each other
// without loss of anything both can hold.
func TestV1Conversion(t *testing.T) {
	req := testRequirements(SchemeExact, "1000")
	req.Extra = json.RawMessage(`{"a":1}`)
	res := ResourceInfo{URL: "https://api.example/r", Description: "d", MimeType: "text/plain"}
	back, backRes := req.V1(res).V2()
	if !reflect.DeepEqual(back, req) || backRes != res {
		t.Fatalf("requirements round trip: got %+v %+v", back, backRes)
	}
	pr := PaymentRequired{X402Version: Version, Error: "e", Resource: res, Accepts: []PaymentRequirements{req, testRequirements(SchemeUpto, "5")}}
	v1 := pr.V1()
	if v1.X402Version != VersionV1 || len(v1.Accepts) != 2 || v1.Accepts[1].MaxAmountRequired != "5" || v1.Accepts[1].Resource != res.URL {
		t.Fatalf("PaymentRequired.V1: %+v", v1)
	}
	again := v1.V2()
	if again.X402Version != VersionV1 || again.Resource != res || !reflect.DeepEqual(again.Accepts, pr.Accepts) {
		t.Fatalf("PaymentRequiredV1.V2: %+v", again)
	}
	p := PaymentPayloadV1{X402Version: VersionV1, Scheme: SchemeExact, Network: "agentpay:other", Payload: json.RawMessage(`{}`)}.V2(req, res)
	if p.Accepted.Network != "agentpay:other" || p.Accepted.Amount != "1000" || p.Resource.URL != res.URL {
		t.Fatalf("PaymentPayloadV1.V2 must keep the client's own scheme and network: %+v", p)
	}
}

// TestDecodeFacilitatorRequest decodes both versions' wire shapes, and
// refuses inconsistent ones with the spec's reasons.
func TestDecodeFacilitatorRequest(t *testing.T) {
	req := testRequirements(SchemeExact, "10")
	res := ResourceInfo{URL: "https://api.example/r"}
	for _, version := range []int{Version, VersionV1} {
		in := FacilitatorRequest{X402Version: version, PaymentPayload: PaymentPayload{X402Version: version, Resource: &res, Accepted: req, Payload: json.RawMessage(`{"x":1}`)}, PaymentRequirements: req}
		got, err := DecodeFacilitatorRequest(mustJSON(t, in))
		if err != nil {
			t.Fatalf("v%d: %v", version, err)
		}
		if !reflect.DeepEqual(*got, in) {
			t.Fatalf("v%d round trip:\ngot  %+v\nwant %+v", version, *got, in)
		}
		var viaUnmarshal FacilitatorRequest
		if err := json.Unmarshal(mustJSON(t, in), &viaUnmarshal); err != nil || !reflect.DeepEqual(viaUnmarshal, in) {
			t.Fatalf("v%d json.Unmarshal: %v %+v", version, err, viaUnmarshal)
		}
	}
	other := req
	other.Network = "agentpay:other"
	for _, c := range []struct {
		name, body, reason string
	}{
		{"version 3", `{"x402Version":3,"paymentPayload":{},"paymentRequirements":{}}`, ReasonInvalidX402Version},
		{"no version", `{"paymentPayload":{},"paymentRequirements":{}}`, ReasonInvalidX402Version},
		{"not JSON", `{"x402Version":2,`, ReasonInvalidPayload},
		{"payload of v1 inside v2", string(mustJSON(t, map[string]any{"x402Version": 2, "paymentPayload": map[string]any{"x402Version": 1, "accepted": req, "payload": map[string]any{}}, "paymentRequirements": req})), ReasonInvalidX402Version},
		{"network differs", string(mustJSON(t, FacilitatorRequest{X402Version: 2, PaymentPayload: PaymentPayload{X402Version: 2, Accepted: other, Payload: json.RawMessage(`{}`)}, PaymentRequirements: req})), ReasonInvalidNetwork},
		{"v1 without resource", `{"x402Version":1,"paymentPayload":{"x402Version":1,"scheme":"exact","network":"agentpay:test","payload":{}},"paymentRequirements":{"scheme":"exact","network":"agentpay:test","maxAmountRequired":"1","payTo":"m","maxTimeoutSeconds":5,"asset":"USDC"}}`, ReasonInvalidPaymentRequirements},
		{"v1 scheme differs", `{"x402Version":1,"paymentPayload":{"x402Version":1,"scheme":"upto","network":"agentpay:test","payload":{}},"paymentRequirements":{"scheme":"exact","network":"agentpay:test","maxAmountRequired":"1","resource":"https://a/","description":"","payTo":"m","maxTimeoutSeconds":5,"asset":"USDC"}}`, ReasonInvalidScheme},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeFacilitatorRequest([]byte(c.body))
			wantReason(t, err, c.reason)
		})
	}
}
