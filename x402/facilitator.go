package x402

import (
	"context"
	"encoding/json"
)

// Facilitator verifies and settles payments (spec §7). HTTPFacilitator is
// one over HTTP; agentpay's own facilitator implements it directly.
//
// Verify and Settle answer a refused payment with a response whose
// IsValid or Success is false and whose reason says why; an error means
// the facilitator could not decide (unreachable, malformed answer).
type Facilitator interface {
	Verify(ctx context.Context, req *FacilitatorRequest) (*VerifyResponse, error)
	Settle(ctx context.Context, req *FacilitatorRequest) (*SettleResponse, error)
	Supported(ctx context.Context) (*SupportedResponse, error)
}

// FacilitatorRequest is the body of POST /verify and POST /settle:
// {x402Version, paymentPayload, paymentRequirements}
// (typescript/packages/core/src/types/facilitator.ts VerifyRequest and
// SettleRequest, and their V1 twins in types/v1/index.ts).
//
// It holds both versions in v2 form. For X402Version 1 the payload's
// Accepted is built from the requirements with the client's own scheme and
// network, and its Resource is the resource the v1 requirements named;
// MarshalJSON writes the v1 shapes back.
//
// For the upto scheme, PaymentRequirements.Amount is the maximum at verify
// time and the amount to settle at settle time (scheme_upto.md §5), while
// PaymentPayload.Accepted.Amount stays the maximum the client accepted.
type FacilitatorRequest struct {
	X402Version         int
	PaymentPayload      PaymentPayload
	PaymentRequirements PaymentRequirements
}

type facilitatorRequestV2 struct {
	X402Version         int                 `json:"x402Version"`
	PaymentPayload      PaymentPayload      `json:"paymentPayload"`
	PaymentRequirements PaymentRequirements `json:"paymentRequirements"`
}

type facilitatorRequestV1 struct {
	X402Version         int                   `json:"x402Version"`
	PaymentPayload      PaymentPayloadV1      `json:"paymentPayload"`
	PaymentRequirements PaymentRequirementsV1 `json:"paymentRequirements"`
}

// MarshalJSON writes r in the wire shape of its version.
func (r FacilitatorRequest) MarshalJSON() ([]byte, error) {
	if r.X402Version == VersionV1 {
		var res ResourceInfo
		if r.PaymentPayload.Resource != nil {
			res = *r.PaymentPayload.Resource
		}
		return json.Marshal(facilitatorRequestV1{
			X402Version: VersionV1,
			PaymentPayload: PaymentPayloadV1{
				X402Version: VersionV1,
				Scheme:      r.PaymentPayload.Accepted.Scheme,
				Network:     r.PaymentPayload.Accepted.Network,
				Payload:     r.PaymentPayload.Payload,
			},
			PaymentRequirements: r.PaymentRequirements.V1(res),
		})
	}
	return json.Marshal(facilitatorRequestV2(r))
}

// DecodeFacilitatorRequest decodes and validates the body of a /verify or
// /settle request of either version. Errors are *Error with the reason a
// facilitator should answer with.
func DecodeFacilitatorRequest(body []byte) (*FacilitatorRequest, error) {
	if err := checkJSON(body); err != nil {
		return nil, errorf(ReasonInvalidPayload, "the request's JSON is malformed: %v", err)
	}
	switch headerVersion(body) {
	case Version:
		var w facilitatorRequestV2
		if err := unmarshalChecked(body, &w); err != nil {
			return nil, errorf(ReasonInvalidPayload, "%v", err)
		}
		r := &FacilitatorRequest{X402Version: Version, PaymentPayload: w.PaymentPayload, PaymentRequirements: w.PaymentRequirements}
		return r, r.Validate()
	case VersionV1:
		var w facilitatorRequestV1
		if err := unmarshalChecked(body, &w); err != nil {
			return nil, errorf(ReasonInvalidPayload, "%v", err)
		}
		if err := w.PaymentPayload.Validate(); err != nil {
			return nil, err
		}
		req, res := w.PaymentRequirements.V2()
		if err := res.validate(true); err != nil {
			return nil, errorf(ReasonInvalidPaymentRequirements, "paymentRequirements.resource must be a URL")
		}
		r := &FacilitatorRequest{
			X402Version:         VersionV1,
			PaymentPayload:      w.PaymentPayload.V2(req, res),
			PaymentRequirements: req,
		}
		return r, r.Validate()
	default:
		return nil, errorf(ReasonInvalidX402Version, "x402Version must be %d or %d", Version, VersionV1)
	}
}

// Validate checks that r is well formed and consistent: the payload is of
// r's version and chose the scheme and network of the requirements. It
// does not compare amounts, which differ legitimately at upto settlement.
func (r *FacilitatorRequest) Validate() error {
	if r.X402Version != Version && r.X402Version != VersionV1 {
		return errorf(ReasonInvalidX402Version, "x402Version must be %d or %d", Version, VersionV1)
	}
	if r.PaymentPayload.X402Version != r.X402Version {
		return errorf(ReasonInvalidX402Version, "paymentPayload.x402Version differs from x402Version")
	}
	if err := r.PaymentRequirements.Validate(r.X402Version); err != nil {
		return err
	}
	p := r.PaymentPayload
	if r.X402Version == Version {
		if err := p.Validate(); err != nil {
			return err
		}
	} else if err := (&PaymentPayloadV1{X402Version: VersionV1, Scheme: p.Accepted.Scheme, Network: p.Accepted.Network, Payload: p.Payload}).Validate(); err != nil {
		return err
	}
	if p.Accepted.Scheme != r.PaymentRequirements.Scheme {
		return errorf(ReasonInvalidScheme, "the payload's scheme %s is not the requirements' %s", quoteShort(p.Accepted.Scheme), quoteShort(r.PaymentRequirements.Scheme))
	}
	if p.Accepted.Network != r.PaymentRequirements.Network {
		return errorf(ReasonInvalidNetwork, "the payload's network %s is not the requirements' %s", quoteShort(p.Accepted.Network), quoteShort(r.PaymentRequirements.Network))
	}
	return nil
}

// UnmarshalJSON decodes either version's wire shape, as
// DecodeFacilitatorRequest does.
func (r *FacilitatorRequest) UnmarshalJSON(data []byte) error {
	got, err := DecodeFacilitatorRequest(data)
	if err != nil {
		return err
	}
	*r = *got
	return nil
}
