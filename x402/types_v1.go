package x402

import (
	"encoding/json"
)

// The v1 wire types follow x402-foundation/x402 go/types/v1.go and
// typescript/packages/core/src/types/v1/index.ts (and the zod schemas
// PaymentRequirementsV1Schema, PaymentRequiredV1Schema and
// PaymentPayloadV1Schema). In v1 the requirements travel in the 402
// response body, carry the resource themselves, and name the amount
// maxAmountRequired; the payload names scheme and network at the top level
// instead of echoing the requirements.

// PaymentRequirementsV1 is a v1 payment requirement.
type PaymentRequirementsV1 struct {
	Scheme            string          `json:"scheme"`
	Network           string          `json:"network"`
	MaxAmountRequired string          `json:"maxAmountRequired"`
	Resource          string          `json:"resource"`
	Description       string          `json:"description"`
	MimeType          string          `json:"mimeType"`
	OutputSchema      json.RawMessage `json:"outputSchema,omitempty"`
	PayTo             string          `json:"payTo"`
	MaxTimeoutSeconds int             `json:"maxTimeoutSeconds"`
	Asset             string          `json:"asset"`
	Extra             json.RawMessage `json:"extra,omitempty"`
}

// PaymentRequiredV1 is the JSON body of a v1 402 response.
type PaymentRequiredV1 struct {
	X402Version int                     `json:"x402Version"`
	Error       string                  `json:"error"`
	Accepts     []PaymentRequirementsV1 `json:"accepts"`
}

// PaymentPayloadV1 is what a v1 client sends, base64-encoded, in X-PAYMENT.
type PaymentPayloadV1 struct {
	X402Version int             `json:"x402Version"`
	Scheme      string          `json:"scheme"`
	Network     string          `json:"network"`
	Payload     json.RawMessage `json:"payload"`
}

// MarshalJSON writes a missing accepts list as [], never null.
func (p PaymentRequiredV1) MarshalJSON() ([]byte, error) {
	type plain PaymentRequiredV1
	if p.Accepts == nil {
		p.Accepts = []PaymentRequirementsV1{}
	}
	return json.Marshal(plain(p))
}

// V1 returns r in v1 form for the resource res.
func (r PaymentRequirements) V1(res ResourceInfo) PaymentRequirementsV1 {
	return PaymentRequirementsV1{
		Scheme:            r.Scheme,
		Network:           r.Network,
		MaxAmountRequired: r.Amount,
		Resource:          res.URL,
		Description:       res.Description,
		MimeType:          res.MimeType,
		PayTo:             r.PayTo,
		MaxTimeoutSeconds: r.MaxTimeoutSeconds,
		Asset:             r.Asset,
		Extra:             r.Extra,
	}
}

// V2 returns r in v2 form and the resource it names. OutputSchema has no v2
// counterpart and is dropped.
func (r PaymentRequirementsV1) V2() (PaymentRequirements, ResourceInfo) {
	return PaymentRequirements{
			Scheme:            r.Scheme,
			Network:           r.Network,
			Amount:            r.MaxAmountRequired,
			Asset:             r.Asset,
			PayTo:             r.PayTo,
			MaxTimeoutSeconds: r.MaxTimeoutSeconds,
			Extra:             r.Extra,
		}, ResourceInfo{
			URL:         r.Resource,
			Description: r.Description,
			MimeType:    r.MimeType,
		}
}

// V1 returns p as the body of a v1 402 response. Extensions have no v1
// counterpart and are dropped.
func (p PaymentRequired) V1() PaymentRequiredV1 {
	out := PaymentRequiredV1{X402Version: VersionV1, Error: p.Error, Accepts: make([]PaymentRequirementsV1, len(p.Accepts))}
	for i, r := range p.Accepts {
		out.Accepts[i] = r.V1(p.Resource)
	}
	return out
}

// V2 returns p in v2 form. A v1 response names the resource in every
// requirement; the first one's is taken.
func (p PaymentRequiredV1) V2() PaymentRequired {
	out := PaymentRequired{X402Version: VersionV1, Error: p.Error, Accepts: make([]PaymentRequirements, len(p.Accepts))}
	for i, r := range p.Accepts {
		req, res := r.V2()
		out.Accepts[i] = req
		if i == 0 {
			out.Resource = res
		}
	}
	return out
}

// V2 returns the v1 payload p in v2 form, given the requirements it was
// matched to and their resource. Scheme and network are p's own, so a
// facilitator still sees what the client actually chose.
func (p PaymentPayloadV1) V2(matched PaymentRequirements, res ResourceInfo) PaymentPayload {
	accepted := matched
	accepted.Scheme = p.Scheme
	accepted.Network = p.Network
	return PaymentPayload{
		X402Version: VersionV1,
		Resource:    &res,
		Accepted:    accepted,
		Payload:     p.Payload,
	}
}
