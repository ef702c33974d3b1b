package x402

import "encoding/json"

// The wire types below follow the reference implementation,
// x402-foundation/x402: typescript/packages/core/src/types/payments.ts and
// facilitator.ts, the zod schemas in typescript/packages/core/src/schemas/
// index.ts, and go/types/v2.go, which agree on every member name used here.
// Optional members are omitted when empty, as the reference does.

// Version is the x402 protocol version this package speaks natively.
// VersionV1 is the older one it also accepts (types_v1.go).
const (
	Version   = 2
	VersionV1 = 1
)

// ResourceInfo describes the protected resource (spec §5.1.2).
type ResourceInfo struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
	MimeType    string `json:"mimeType,omitempty"`
}

// PaymentRequirements is one way of paying for a resource (spec §5.1.2).
// Amount is a decimal string of atomic units of Asset (for the agentpay
// ledger: minor units, e.g. millionths of a USDC). Extra is a JSON object of
// scheme-specific data, or empty.
type PaymentRequirements struct {
	Scheme            string          `json:"scheme"`
	Network           string          `json:"network"`
	Amount            string          `json:"amount"`
	Asset             string          `json:"asset"`
	PayTo             string          `json:"payTo"`
	MaxTimeoutSeconds int             `json:"maxTimeoutSeconds"`
	Extra             json.RawMessage `json:"extra,omitempty"`
}

// PaymentRequired is what a server answers a request that needs payment
// with, base64-encoded in the PAYMENT-REQUIRED header (spec §5.1).
type PaymentRequired struct {
	X402Version int                        `json:"x402Version"`
	Error       string                     `json:"error,omitempty"`
	Resource    ResourceInfo               `json:"resource"`
	Accepts     []PaymentRequirements      `json:"accepts"`
	Extensions  map[string]json.RawMessage `json:"extensions,omitempty"`
}

// PaymentPayload is what a client pays with, base64-encoded in the
// PAYMENT-SIGNATURE header (spec §5.2). Accepted is the requirements the
// client chose, echoed; Payload is the scheme's data (for the agentpay
// ledger scheme, a LedgerPayload).
type PaymentPayload struct {
	X402Version int                        `json:"x402Version"`
	Resource    *ResourceInfo              `json:"resource,omitempty"`
	Accepted    PaymentRequirements        `json:"accepted"`
	Payload     json.RawMessage            `json:"payload"`
	Extensions  map[string]json.RawMessage `json:"extensions,omitempty"`
}

// SettleResponse is the outcome of a settlement (spec §5.3), returned by a
// facilitator's /settle and sent to the client base64-encoded in
// PAYMENT-RESPONSE (or X-PAYMENT-RESPONSE for v1 clients). Transaction is
// empty when settlement failed; Amount is what was actually settled, for
// schemes such as upto where it may be less than authorized. ErrorMessage is
// the human-readable companion of ErrorReason that the reference's
// facilitator.ts added after the spec table was written.
type SettleResponse struct {
	Success      bool                       `json:"success"`
	ErrorReason  string                     `json:"errorReason,omitempty"`
	ErrorMessage string                     `json:"errorMessage,omitempty"`
	Payer        string                     `json:"payer,omitempty"`
	Transaction  string                     `json:"transaction"`
	Network      string                     `json:"network"`
	Amount       string                     `json:"amount,omitempty"`
	Extensions   map[string]json.RawMessage `json:"extensions,omitempty"`
}

// VerifyResponse is a facilitator's answer to /verify (spec §5.4);
// InvalidMessage is the reference's human-readable companion of
// InvalidReason.
type VerifyResponse struct {
	IsValid        bool                       `json:"isValid"`
	InvalidReason  string                     `json:"invalidReason,omitempty"`
	InvalidMessage string                     `json:"invalidMessage,omitempty"`
	Payer          string                     `json:"payer,omitempty"`
	Extensions     map[string]json.RawMessage `json:"extensions,omitempty"`
}

// SupportedKind is one (version, scheme, network) a facilitator handles.
type SupportedKind struct {
	X402Version int             `json:"x402Version"`
	Scheme      string          `json:"scheme"`
	Network     string          `json:"network"`
	Extra       json.RawMessage `json:"extra,omitempty"`
}

// SupportedResponse is a facilitator's answer to GET /supported (spec
// §7.3). Signers maps a CAIP-2 pattern such as "agentpay:*" to the
// facilitator's signer identities on those networks.
type SupportedResponse struct {
	Kinds      []SupportedKind     `json:"kinds"`
	Extensions []string            `json:"extensions"`
	Signers    map[string][]string `json:"signers"`
}

// MarshalJSON writes empty lists and maps as [] and {}, never null: all
// three members are required by the spec, and the reference client's
// schema rejects null.
func (s SupportedResponse) MarshalJSON() ([]byte, error) {
	type plain SupportedResponse
	if s.Kinds == nil {
		s.Kinds = []SupportedKind{}
	}
	if s.Extensions == nil {
		s.Extensions = []string{}
	}
	if s.Signers == nil {
		s.Signers = map[string][]string{}
	}
	return json.Marshal(plain(s))
}

// MarshalJSON writes a missing accepts list as [], never null.
func (p PaymentRequired) MarshalJSON() ([]byte, error) {
	type plain PaymentRequired
	if p.Accepts == nil {
		p.Accepts = []PaymentRequirements{}
	}
	return json.Marshal(plain(p))
}
