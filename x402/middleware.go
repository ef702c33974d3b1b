package x402

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// ResponseBytesMaxDefault bounds a paid handler's response, which the
// middleware holds in memory until the payment settles.
const ResponseBytesMaxDefault = 8 << 20

// Config prices a route for Middleware.
type Config struct {
	// Accepts lists the ways to pay for the route.
	Accepts []PaymentRequirements
	// AcceptsFunc, if set, is used instead of Accepts to price each
	// request. If it returns no requirements the request is free and goes
	// straight to the handler; if it fails the request gets a 500.
	AcceptsFunc func(r *http.Request) ([]PaymentRequirements, error)
	// Resource describes the route. If Resource.URL is empty it is the
	// request's URL: BaseURL followed by the request URI, or, without
	// BaseURL, the scheme, Host and request URI the request arrived with.
	Resource ResourceInfo
	// BaseURL is the public scheme://host[/prefix] of the server, e.g.
	// https://api.example. It is best set: Host is whatever the client
	// sent, and the resource URL ends up in what the agent signs.
	BaseURL string
	// Extensions are offered to clients in PAYMENT-REQUIRED.
	Extensions map[string]json.RawMessage
	// Facilitator verifies and settles payments.
	Facilitator Facilitator
	// ResponseBytesMax bounds the handler's response; 0 means
	// ResponseBytesMaxDefault. A larger response is refused with 500 and not
	// settled.
	ResponseBytesMax int
	// DisableV1 refuses v1 clients: X-PAYMENT is ignored and 402 bodies are
	// not the v1 PaymentRequired.
	DisableV1 bool
}

// Middleware puts a price on the routes of the handler it wraps.
//
//   - A request without a payment gets 402 with PAYMENT-REQUIRED (base64
//     PaymentRequired) and, for v1 clients, the v1 PaymentRequired as its
//     JSON body.
//   - A payment header that cannot be decoded gets 400; one that matches no
//     requirement, or that the facilitator finds invalid, gets 402 with the
//     reason in PaymentRequired.error.
//   - A verified payment runs the handler into a buffer. A handler answer
//     of 400 or more is sent as it is and nothing is settled. Otherwise the
//     payment is settled: on success the handler's response is sent with
//     PAYMENT-RESPONSE (X-PAYMENT-RESPONSE for v1); on failure the client
//     gets 402 with the failed SettleResponse in that header, and the
//     handler's response is dropped.
//
// v2 clients send PAYMENT-SIGNATURE, v1 clients X-PAYMENT; a request with
// both is taken as v2. Middleware panics if cfg has no Facilitator or no
// valid requirements, which are programming errors.
func Middleware(cfg Config) func(http.Handler) http.Handler {
	if cfg.Facilitator == nil {
		panic("x402: Middleware needs a Facilitator")
	}
	if cfg.AcceptsFunc == nil {
		if len(cfg.Accepts) == 0 {
			panic("x402: Middleware needs Accepts or AcceptsFunc")
		}
		for i := range cfg.Accepts {
			if err := cfg.Accepts[i].Validate(Version); err != nil {
				panic(fmt.Sprintf("x402: Middleware: Accepts[%d]: %v", i, err))
			}
		}
	}
	if cfg.ResponseBytesMax <= 0 {
		cfg.ResponseBytesMax = ResponseBytesMaxDefault
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	return func(next http.Handler) http.Handler {
		return &middleware{cfg: cfg, next: next}
	}
}

// The error texts of an unpaid request, as the spec's examples word them.
const (
	errorUnpaid   = "PAYMENT-SIGNATURE header is required"
	errorUnpaidV1 = "X-PAYMENT header is required"
)

type middleware struct {
	cfg  Config
	next http.Handler
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	accepts := m.cfg.Accepts
	if m.cfg.AcceptsFunc != nil {
		var err error
		if accepts, err = m.cfg.AcceptsFunc(r); err != nil {
			http.Error(w, "internal server error", http.StatusInternalServerError)
			return
		}
		if len(accepts) == 0 {
			m.next.ServeHTTP(w, r)
			return
		}
	}
	pr := PaymentRequired{X402Version: Version, Resource: m.resource(r), Accepts: accepts, Extensions: m.cfg.Extensions}

	version, req, err := m.readPayment(r, &pr)
	if err != nil {
		status := http.StatusBadRequest
		if errors.As(err, new(*mismatch)) {
			status = http.StatusPaymentRequired
		}
		m.refuse(w, status, version, pr, ReasonOf(err, ReasonInvalidPayload))
		return
	}
	if req == nil {
		m.refuse(w, http.StatusPaymentRequired, 0, pr, errorUnpaid)
		return
	}

	vr, err := m.cfg.Facilitator.Verify(r.Context(), req)
	if err == nil && vr == nil {
		err = errors.New("x402: the facilitator gave no verify response")
	}
	if err != nil {
		m.refuse(w, http.StatusInternalServerError, version, pr, ReasonUnexpectedVerifyError)
		return
	}
	if !vr.IsValid {
		reason := vr.InvalidReason
		if reason == "" {
			reason = ReasonInvalidPayload
		}
		m.refuse(w, http.StatusPaymentRequired, version, pr, reason)
		return
	}

	p := &Payment{Version: version, Requirements: req.PaymentRequirements, Payload: req.PaymentPayload, Payer: vr.Payer}
	buf := &bufferedWriter{header: http.Header{}, max: m.cfg.ResponseBytesMax}
	m.next.ServeHTTP(buf, r.WithContext(context.WithValue(r.Context(), paymentKey{}, p)))
	if buf.overflow {
		http.Error(w, "the response is too large to hold until the payment settles", http.StatusInternalServerError)
		return
	}
	if buf.statusCode() >= 400 {
		buf.sendTo(w)
		return
	}

	settle := *req
	settle.PaymentRequirements.Amount = p.amountToSettle()
	sr, err := m.cfg.Facilitator.Settle(r.Context(), &settle)
	if err != nil || sr == nil {
		sr = &SettleResponse{ErrorReason: ReasonUnexpectedSettleError, ErrorMessage: "the payment could not be settled", Payer: vr.Payer, Network: settle.PaymentRequirements.Network}
	}
	header, err := EncodeHeader(sr)
	if err != nil {
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	responseHeader := HeaderPaymentResponse
	if version == VersionV1 {
		responseHeader = HeaderXPaymentResponse
	}
	if !sr.Success {
		reason := sr.ErrorReason
		if reason == "" {
			reason = ReasonUnexpectedSettleError
		}
		w.Header().Set(responseHeader, header)
		m.refuse(w, http.StatusPaymentRequired, version, pr, reason)
		return
	}
	buf.header.Set(responseHeader, header)
	buf.sendTo(w)
}

// mismatch is a well-formed payment for something not offered: a failed
// payment (402) rather than a malformed one (400), as in the reference.
type mismatch struct{ err *Error }

func (m *mismatch) Error() string { return m.err.Error() }
func (m *mismatch) Unwrap() error { return m.err }

// readPayment decodes the client's payment header and matches it to one of
// pr.Accepts. It returns the version the client speaks (0 if it sent no
// payment) and the request for the facilitator, nil if there is no payment.
// A payment that matches nothing is refused with a *mismatch.
func (m *middleware) readPayment(r *http.Request, pr *PaymentRequired) (int, *FacilitatorRequest, error) {
	if values := r.Header.Values(HeaderPaymentSignature); len(values) > 0 {
		if len(values) > 1 {
			return Version, nil, errorf(ReasonInvalidPayload, "send one PAYMENT-SIGNATURE header")
		}
		p, err := DecodePaymentPayload(values[0])
		if err != nil {
			return Version, nil, err
		}
		matched, merr := matchV2(pr.Accepts, &p.Accepted)
		if merr != nil {
			return Version, nil, &mismatch{merr}
		}
		// The server's own resource replaces the client's echo, so a
		// facilitator checks the payment against the resource actually
		// being paid for.
		res := pr.Resource
		p.Resource = &res
		return Version, &FacilitatorRequest{X402Version: Version, PaymentPayload: *p, PaymentRequirements: *matched}, nil
	}
	if m.cfg.DisableV1 {
		return 0, nil, nil
	}
	if values := r.Header.Values(HeaderXPayment); len(values) > 0 {
		if len(values) > 1 {
			return VersionV1, nil, errorf(ReasonInvalidPayload, "send one X-PAYMENT header")
		}
		p, err := DecodePaymentPayloadV1(values[0])
		if err != nil {
			return VersionV1, nil, err
		}
		matched, merr := matchV1(pr.Accepts, p.Scheme, p.Network)
		if merr != nil {
			return VersionV1, nil, &mismatch{merr}
		}
		return VersionV1, &FacilitatorRequest{X402Version: VersionV1, PaymentPayload: p.V2(*matched, pr.Resource), PaymentRequirements: *matched}, nil
	}
	return 0, nil, nil
}

// refuse answers with PAYMENT-REQUIRED (error set to why) and a JSON body
// of the PaymentRequired in the client's version; a client whose version
// is unknown (it has not paid yet) gets the v1 body, which v2 clients
// ignore in favour of the header.
func (m *middleware) refuse(w http.ResponseWriter, status, version int, pr PaymentRequired, why string) {
	pr.Error = why
	h := w.Header()
	if header, err := EncodeHeader(pr); err == nil {
		h.Set(HeaderPaymentRequired, header)
	}
	var body []byte
	if version == VersionV1 || (version == 0 && !m.cfg.DisableV1) {
		v1 := pr.V1()
		if why == errorUnpaid {
			v1.Error = errorUnpaidV1
		}
		body, _ = json.Marshal(v1)
	} else {
		body, _ = json.Marshal(pr)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (m *middleware) resource(r *http.Request) ResourceInfo {
	res := m.cfg.Resource
	if res.URL != "" {
		return res
	}
	if m.cfg.BaseURL != "" {
		res.URL = m.cfg.BaseURL + r.URL.RequestURI()
		return res
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	res.URL = scheme + "://" + r.Host + r.URL.RequestURI()
	return res
}

// Payment is the verified payment of a request, for the paid handler:
// PaymentFromContext(r.Context()).
type Payment struct {
	// Version is the x402 version the client spoke.
	Version int
	// Requirements are the requirements the client paid under.
	Requirements PaymentRequirements
	// Payload is what the client paid with, in v2 form.
	Payload PaymentPayload
	// Payer is the payer as the facilitator named it.
	Payer string

	mu     sync.Mutex
	settle string
}

type paymentKey struct{}

// PaymentFromContext returns the verified payment of the request whose
// context ctx is, inside a handler wrapped by Middleware.
func PaymentFromContext(ctx context.Context) (*Payment, bool) {
	p, ok := ctx.Value(paymentKey{}).(*Payment)
	return p, ok
}

// SetSettleAmount sets how much of an upto payment to settle: the usage,
// in atomic units, from 0 to the authorized maximum. Without it the
// maximum is settled. It is an error for other schemes, whose amount is
// fixed.
func (p *Payment) SetSettleAmount(amount string) error {
	if p.Requirements.Scheme != SchemeUpto {
		return fmt.Errorf("x402: only upto payments settle a chosen amount, not %s", p.Requirements.Scheme)
	}
	if !validAtomicAmount(amount) || compareAmounts(amount, p.Requirements.Amount) > 0 {
		return fmt.Errorf("x402: the amount to settle must be a decimal integer from 0 to %s", p.Requirements.Amount)
	}
	p.mu.Lock()
	p.settle = amount
	p.mu.Unlock()
	return nil
}

func (p *Payment) amountToSettle() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.settle != "" {
		return p.settle
	}
	return p.Requirements.Amount
}
