package x402

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
)

// Header names. v2 (specs/transports-v2/http.md) carries everything in
// headers; v1 puts the requirements in the 402 body and uses the X-
// headers for the payment and the settlement.
const (
	HeaderPaymentRequired  = "PAYMENT-REQUIRED"
	HeaderPaymentSignature = "PAYMENT-SIGNATURE"
	HeaderPaymentResponse  = "PAYMENT-RESPONSE"
	HeaderXPayment         = "X-PAYMENT"
	HeaderXPaymentResponse = "X-PAYMENT-RESPONSE"
)

// HeaderSizeMax bounds an encoded x402 header value. A ledger-scheme
// payment is under 2 KiB encoded; EVM ones are similar.
const HeaderSizeMax = 16 << 10

// EncodeHeader returns v as an x402 header value: the standard, padded
// base64 of its JSON, as the reference's safeBase64Encode writes it.
func EncodeHeader(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("x402: encode header: %w", err)
	}
	s := base64.StdEncoding.EncodeToString(b)
	if len(s) > HeaderSizeMax {
		return "", fmt.Errorf("x402: encoded header is %d bytes, more than %d", len(s), HeaderSizeMax)
	}
	return s, nil
}

// decodeHeader undoes EncodeHeader's base64 and checks the JSON with
// checkJSON. Only the standard alphabet with padding is accepted, as the
// reference's Base64EncodedRegex does.
func decodeHeader(value string) ([]byte, error) {
	if value == "" {
		return nil, errorf(ReasonInvalidPayload, "the header is empty")
	}
	if len(value) > HeaderSizeMax {
		return nil, errorf(ReasonInvalidPayload, "the header is longer than %d bytes", HeaderSizeMax)
	}
	data, err := base64.StdEncoding.Strict().DecodeString(value)
	if err != nil {
		return nil, errorf(ReasonInvalidPayload, "the header is not padded standard base64")
	}
	if err := checkJSON(data); err != nil {
		return nil, errorf(ReasonInvalidPayload, "the header's JSON is malformed: %v", err)
	}
	return data, nil
}

// headerVersion returns the x402Version member of data, 0 if it is absent
// or not an integer, so that a payload of the wrong version is refused as
// invalid_x402_version rather than as a shape error.
func headerVersion(data []byte) int {
	var v struct {
		X402Version json.RawMessage `json:"x402Version"`
	}
	if json.Unmarshal(data, &v) != nil {
		return 0
	}
	raw := string(v.X402Version)
	if raw == "" || len(raw) > 5 || !validAtomicAmount(raw) {
		return 0
	}
	n, _ := strconv.Atoi(raw)
	return n
}

// decodeVersioned decodes a header holding a message of version want into v.
func decodeVersioned(value string, want int, v interface{ Validate() error }) error {
	data, err := decodeHeader(value)
	if err != nil {
		return err
	}
	if got := headerVersion(data); got != want {
		return errorf(ReasonInvalidX402Version, "x402Version is %d, want %d", got, want)
	}
	if err := unmarshalChecked(data, v); err != nil {
		return errorf(ReasonInvalidPayload, "%v", err)
	}
	return v.Validate()
}

// DecodePaymentRequired decodes and validates a PAYMENT-REQUIRED value.
func DecodePaymentRequired(value string) (*PaymentRequired, error) {
	var p PaymentRequired
	if err := decodeVersioned(value, Version, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DecodePaymentPayload decodes and validates a PAYMENT-SIGNATURE value.
func DecodePaymentPayload(value string) (*PaymentPayload, error) {
	var p PaymentPayload
	if err := decodeVersioned(value, Version, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DecodePaymentPayloadV1 decodes and validates an X-PAYMENT value.
func DecodePaymentPayloadV1(value string) (*PaymentPayloadV1, error) {
	var p PaymentPayloadV1
	if err := decodeVersioned(value, VersionV1, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DecodePaymentRequiredV1 decodes and validates the JSON body of a v1 402
// response (v1 sends it as plain JSON, not base64).
func DecodePaymentRequiredV1(body []byte) (*PaymentRequiredV1, error) {
	if err := checkJSON(body); err != nil {
		return nil, errorf(ReasonInvalidPayload, "the body's JSON is malformed: %v", err)
	}
	if got := headerVersion(body); got != VersionV1 {
		return nil, errorf(ReasonInvalidX402Version, "x402Version is %d, want %d", got, VersionV1)
	}
	var p PaymentRequiredV1
	if err := unmarshalChecked(body, &p); err != nil {
		return nil, errorf(ReasonInvalidPayload, "%v", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// DecodeSettleResponse decodes a PAYMENT-RESPONSE or X-PAYMENT-RESPONSE
// value.
func DecodeSettleResponse(value string) (*SettleResponse, error) {
	data, err := decodeHeader(value)
	if err != nil {
		return nil, err
	}
	return decodeSettleResponse(data)
}

// decodeSettleResponse decodes a SettleResponse, requiring success, which
// the zero value of bool cannot tell apart from false.
func decodeSettleResponse(data []byte) (*SettleResponse, error) {
	var probe struct {
		Success *bool `json:"success"`
	}
	if err := decodeStrict(data, &probe); err != nil {
		return nil, errorf(ReasonInvalidPayload, "%v", err)
	}
	if probe.Success == nil {
		return nil, errorf(ReasonInvalidPayload, "success is required")
	}
	var s SettleResponse
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, errorf(ReasonInvalidPayload, "not a settlement response")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// decodeVerifyResponse decodes a VerifyResponse, requiring isValid.
func decodeVerifyResponse(data []byte) (*VerifyResponse, error) {
	var probe struct {
		IsValid *bool `json:"isValid"`
	}
	if err := decodeStrict(data, &probe); err != nil {
		return nil, errorf(ReasonInvalidPayload, "%v", err)
	}
	if probe.IsValid == nil {
		return nil, errorf(ReasonInvalidPayload, "isValid is required")
	}
	var v VerifyResponse
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, errorf(ReasonInvalidPayload, "not a verification response")
	}
	return &v, nil
}
