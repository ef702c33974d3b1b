package x402

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Limits on what this package accepts. They are far above anything a
// legitimate peer sends and keep hostile input cheap to refuse.
const (
	// amountDigitsMax admits every uint256 (78 digits), the largest amount
	// type of any x402 network.
	amountDigitsMax = 78
	// fieldBytesMax bounds scheme, network, asset and payTo.
	fieldBytesMax = 256
	// urlBytesMax bounds resource URLs, as the reference bounds iconUrl.
	urlBytesMax = 2048
	// acceptsMax bounds the requirements one 402 may offer.
	acceptsMax = 32
)

// validAtomicAmount reports whether s is a canonical non-negative decimal
// integer: digits only, no sign, no leading zero unless it is "0".
func validAtomicAmount(s string) bool {
	if s == "" || len(s) > amountDigitsMax {
		return false
	}
	if len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareAmounts compares two canonical amounts (validAtomicAmount) as
// numbers of any size.
func compareAmounts(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// parseAmount64 parses a canonical amount that must fit an int64, as every
// agentpay ledger amount does.
func parseAmount64(s string) (int64, bool) {
	if !validAtomicAmount(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// visibleText reports whether s has no control characters, so it can go
// into a header, a log line or a signed message without surprises.
func visibleText(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// validField checks a required short string member.
func validField(s string) bool {
	return s != "" && len(s) <= fieldBytesMax && visibleText(s)
}

// validNetworkV2 applies the reference's v2 rule (NetworkSchemaV2): at
// least three characters and a colon, as in CAIP-2 "namespace:reference".
func validNetworkV2(s string) bool {
	return validField(s) && len(s) >= 3 && strings.Contains(s, ":")
}

// validExtra reports whether raw is absent or a JSON object; the v2 schema
// (OptionalRecord) refuses null, v1 (OptionalAny) allows it.
func validExtra(raw json.RawMessage, version int) bool {
	t := bytes.TrimSpace(raw)
	if version == VersionV1 && bytes.Equal(t, []byte("null")) {
		return true
	}
	return isJSONObjectOrAbsent(raw)
}

// Validate checks r as the reference's PaymentRequirementsV2Schema does,
// and more strictly where it is loose: amount must be a canonical decimal
// integer. version selects the network rule (v1 names networks freely).
func (r *PaymentRequirements) Validate(version int) error {
	bad := func(member, why string) error {
		return errorf(ReasonInvalidPaymentRequirements, "%s %s", member, why)
	}
	switch {
	case !validField(r.Scheme):
		return bad("scheme", "must be a non-empty string")
	case version == VersionV1 && !validField(r.Network):
		return errorf(ReasonInvalidNetwork, "network must be a non-empty string")
	case version != VersionV1 && !validNetworkV2(r.Network):
		return errorf(ReasonInvalidNetwork, "network must be a CAIP-2 identifier such as agentpay:main")
	case !validAtomicAmount(r.Amount):
		return bad("amount", "must be a decimal integer of atomic units without sign or leading zeros")
	case !validField(r.Asset):
		return bad("asset", "must be a non-empty string")
	case !validField(r.PayTo):
		return bad("payTo", "must be a non-empty string")
	case r.MaxTimeoutSeconds <= 0:
		return bad("maxTimeoutSeconds", "must be a positive integer")
	case !validExtra(r.Extra, version):
		return bad("extra", "must be a JSON object")
	}
	return nil
}

func (res *ResourceInfo) validate(required bool) error {
	if res.URL == "" && !required {
		return nil
	}
	if res.URL == "" || len(res.URL) > urlBytesMax || !visibleText(res.URL) {
		return errorf(ReasonInvalidPayload, "resource.url must be a non-empty URL of at most %d bytes", urlBytesMax)
	}
	if len(res.Description) > urlBytesMax || len(res.MimeType) > fieldBytesMax {
		return errorf(ReasonInvalidPayload, "resource.description or resource.mimeType is too long")
	}
	return nil
}

// Validate checks a v2 PaymentRequired.
func (p *PaymentRequired) Validate() error {
	if p.X402Version != Version {
		return errorf(ReasonInvalidX402Version, "x402Version must be %d", Version)
	}
	if err := p.Resource.validate(true); err != nil {
		return err
	}
	if len(p.Accepts) == 0 || len(p.Accepts) > acceptsMax {
		return errorf(ReasonInvalidPaymentRequirements, "accepts must list 1 to %d requirements", acceptsMax)
	}
	for i := range p.Accepts {
		if err := p.Accepts[i].Validate(Version); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a v1 PaymentRequired.
func (p *PaymentRequiredV1) Validate() error {
	if p.X402Version != VersionV1 {
		return errorf(ReasonInvalidX402Version, "x402Version must be %d", VersionV1)
	}
	if len(p.Accepts) == 0 || len(p.Accepts) > acceptsMax {
		return errorf(ReasonInvalidPaymentRequirements, "accepts must list 1 to %d requirements", acceptsMax)
	}
	for i := range p.Accepts {
		req, res := p.Accepts[i].V2()
		if err := req.Validate(VersionV1); err != nil {
			return err
		}
		if err := res.validate(true); err != nil {
			return errorf(ReasonInvalidPaymentRequirements, "accepts[%d].resource must be a URL", i)
		}
	}
	return nil
}

// Validate checks a v2 PaymentPayload: the version, the echoed
// requirements, and that payload is a JSON object. Whether the payload
// proves payment is the scheme's business (a facilitator's Verify).
func (p *PaymentPayload) Validate() error {
	if p.X402Version != Version {
		return errorf(ReasonInvalidX402Version, "x402Version must be %d", Version)
	}
	if p.Resource != nil {
		if err := p.Resource.validate(false); err != nil {
			return err
		}
	}
	if err := p.Accepted.Validate(Version); err != nil {
		return err
	}
	if len(bytes.TrimSpace(p.Payload)) == 0 || !isJSONObjectOrAbsent(p.Payload) {
		return errorf(ReasonInvalidPayload, "payload must be a JSON object")
	}
	return nil
}

// Validate checks a v1 PaymentPayload.
func (p *PaymentPayloadV1) Validate() error {
	if p.X402Version != VersionV1 {
		return errorf(ReasonInvalidX402Version, "x402Version must be %d", VersionV1)
	}
	if !validField(p.Scheme) {
		return errorf(ReasonInvalidScheme, "scheme must be a non-empty string")
	}
	if !validField(p.Network) {
		return errorf(ReasonInvalidNetwork, "network must be a non-empty string")
	}
	if len(bytes.TrimSpace(p.Payload)) == 0 || !isJSONObjectOrAbsent(p.Payload) {
		return errorf(ReasonInvalidPayload, "payload must be a JSON object")
	}
	return nil
}

// Validate checks the members of a SettleResponse that this package
// relies on. It is deliberately lenient about the rest (an empty
// transaction on success, a failure without errorReason): a settlement
// response arrives after money may have moved, and refusing it over a
// missing detail would lose what was paid for.
func (s *SettleResponse) Validate() error {
	switch {
	case len(s.Network) > fieldBytesMax || !visibleText(s.Network):
		return errorf(ReasonInvalidPayload, "network must be a short string")
	case s.Amount != "" && !validAtomicAmount(s.Amount):
		return errorf(ReasonInvalidPayload, "amount must be a decimal integer of atomic units")
	}
	return nil
}
