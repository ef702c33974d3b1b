package agentpay

import (
	"strings"
	"testing"
)

// The lifecycle, every status × every action: what each allows (with
// amounts that fit) and where it leads. Anything not listed is refused
// with a conflict naming the status.
func TestNextStatusExhaustive(t *testing.T) {
	type key struct {
		s PaymentStatus
		a PaymentAction
	}
	allowed := map[key]PaymentStatus{
		{PaymentRequiresApproval, ActionUpdate}:  PaymentRequiresApproval,
		{PaymentRequiresApproval, ActionApprove}: PaymentApproved,
		{PaymentRequiresApproval, ActionCancel}:  PaymentCanceled,
		{PaymentRequiresApproval, ActionDecline}: PaymentDeclined,
		{PaymentRequiresApproval, ActionExpire}:  PaymentExpired,
		{PaymentApproved, ActionAuthorize}:       PaymentAuthorized,
		{PaymentApproved, ActionCancel}:          PaymentCanceled,
		{PaymentApproved, ActionDecline}:         PaymentDeclined,
		{PaymentAuthorized, ActionCapture}:       PaymentCaptured,
		{PaymentAuthorized, ActionCancel}:        PaymentCanceled,
		{PaymentAuthorized, ActionExpire}:        PaymentExpired,
		{PaymentCaptured, ActionRefund}:          PaymentPartiallyRefunded,
		{PaymentPartiallyRefunded, ActionRefund}: PaymentPartiallyRefunded,
		{PaymentRequiresApproval, ActionHold}:    PaymentInReview,
		{PaymentApproved, ActionHold}:            PaymentInReview,
		{PaymentInReview, ActionRelease}:         PaymentRequiresApproval,
		{PaymentInReview, ActionDecline}:         PaymentDeclined,
		{PaymentInReview, ActionCancel}:          PaymentCanceled,
		{PaymentInReview, ActionExpire}:          PaymentExpired,
	}
	for _, s := range PaymentStatuses {
		for _, a := range PaymentActions {
			got, err := NextStatus(s, a, 50, 100) // capture 50 of 100; refunds total 50 of 100
			want, ok := allowed[key{s, a}]
			switch {
			case ok && (err != nil || got != want):
				t.Errorf("%s + %s = %s, %v; want %s", s, a, got, err, want)
			case !ok && (err == nil || ErrorKind(err) != ECONFLICT || ErrorCode(err) != "payment_"+string(s) || got != s):
				t.Errorf("%s + %s = %s, %v; want refused with payment_%s", s, a, got, err, s)
			case !ok && !strings.Contains(err.Error(), string(a)):
				t.Errorf("%s + %s: message %q does not name the action", s, a, err)
			}
		}
	}
	// Final statuses allow nothing.
	for _, s := range PaymentStatuses {
		if (Payment{Status: s}).Final() {
			for _, a := range PaymentActions {
				if _, ok := allowed[key{s, a}]; ok {
					t.Errorf("final status %s allows %s", s, a)
				}
			}
		}
	}
}

func TestNextStatusAmounts(t *testing.T) {
	tests := []struct {
		s      PaymentStatus
		a      PaymentAction
		amount int64
		of     int64
		want   PaymentStatus
		code   string
	}{
		{PaymentAuthorized, ActionCapture, 100, 100, PaymentCaptured, ""},
		{PaymentAuthorized, ActionCapture, 1, 100, PaymentCaptured, ""},
		{PaymentAuthorized, ActionCapture, 101, 100, PaymentAuthorized, "invalid_capture_amount"},
		{PaymentAuthorized, ActionCapture, 0, 100, PaymentAuthorized, "invalid_capture_amount"},
		{PaymentAuthorized, ActionCapture, -5, 100, PaymentAuthorized, "invalid_capture_amount"},
		{PaymentCaptured, ActionRefund, 100, 100, PaymentRefunded, ""},
		{PaymentCaptured, ActionRefund, 99, 100, PaymentPartiallyRefunded, ""},
		{PaymentPartiallyRefunded, ActionRefund, 100, 100, PaymentRefunded, ""},
		{PaymentPartiallyRefunded, ActionRefund, 101, 100, PaymentPartiallyRefunded, "refund_exceeds_captured"},
		{PaymentCaptured, ActionRefund, 0, 100, PaymentCaptured, "refund_exceeds_captured"},
		{PaymentRefunded, ActionRefund, 1, 100, PaymentRefunded, "payment_refunded"},
		{PaymentCaptured, ActionCancel, 0, 0, PaymentCaptured, "payment_captured"},
		{PaymentRequiresApproval, "teleport", 0, 0, PaymentRequiresApproval, "invalid_action"},
	}
	for _, tt := range tests {
		got, err := NextStatus(tt.s, tt.a, tt.amount, tt.of)
		code := ""
		if err != nil {
			code = ErrorCode(err)
		}
		if got != tt.want || code != tt.code {
			t.Errorf("%s + %s(%d of %d) = %s, %v; want %s %q", tt.s, tt.a, tt.amount, tt.of, got, err, tt.want, tt.code)
		}
	}
}

func TestOrderValidate(t *testing.T) {
	good := func() Order {
		return Order{Items: []LineItem{{Name: "Tea", Quantity: 2, UnitAmount: 450}, {Name: "Mug", Quantity: 1, UnitAmount: 1200, SKU: "M-1", URL: "https://shop.example/mug"}},
			Totals: Totals{Subtotal: 2100, Tax: 210, Shipping: 500, Fees: 0, Tip: 100, Total: 2910}, Description: "Tea time", Purpose: "restock"}
	}
	if err := good().Validate("USD"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(o *Order)
		asset  string
		param  string
		code   string
	}{
		{"unknown asset", func(*Order) {}, "XXX", "asset", "unknown_asset"},
		{"no items", func(o *Order) { o.Items = nil }, "USD", "items", "invalid_items"},
		{"too many items", func(o *Order) { o.Items = make([]LineItem, PaymentItemsMax+1) }, "USD", "items", "invalid_items"},
		{"empty name", func(o *Order) { o.Items[0].Name = "" }, "USD", "items[0].name", "invalid_item"},
		{"control in name", func(o *Order) { o.Items[1].Name = "Mug\x00" }, "USD", "items[1].name", "invalid_item"},
		{"zero quantity", func(o *Order) { o.Items[0].Quantity = 0 }, "USD", "items[0].quantity", "invalid_item"},
		{"negative price", func(o *Order) { o.Items[0].UnitAmount = -1 }, "USD", "items[0].unit_amount", "invalid_item"},
		{"bad url", func(o *Order) { o.Items[1].URL = "javascript:alert(1)" }, "USD", "items[1].url", "invalid_item"},
		{"subtotal off", func(o *Order) { o.Totals.Subtotal++; o.Totals.Total++ }, "USD", "totals.subtotal", "totals_mismatch"},
		{"total off", func(o *Order) { o.Totals.Total-- }, "USD", "totals.total", "totals_mismatch"},
		{"negative tax", func(o *Order) { o.Totals.Tax = -210; o.Totals.Total = 2490 }, "USD", "totals.tax", "invalid_totals"},
		{"zero total", func(o *Order) {
			o.Items = []LineItem{{Name: "Free", Quantity: 1}}
			o.Totals = Totals{}
		}, "USD", "totals.total", "invalid_totals"},
		{"overflowing items", func(o *Order) { o.Items[0].UnitAmount = 1 << 62; o.Items[0].Quantity = 4 }, "USD", "items[0]", "amount_overflow"},
		{"overflowing totals", func(o *Order) {
			o.Items = []LineItem{{Name: "Big", Quantity: 1, UnitAmount: 1 << 62}}
			o.Totals = Totals{Subtotal: 1 << 62, Tax: 1 << 62, Total: 0}
		}, "USD", "totals", "amount_overflow"},
		{"long description", func(o *Order) { o.Description = strings.Repeat("x", PaymentTextLengthMax+1) }, "USD", "description", "invalid_description"},
		{"bad purpose", func(o *Order) { o.Purpose = "\xff" }, "USD", "purpose", "invalid_purpose"},
	}
	for _, tt := range tests {
		o := good()
		tt.change(&o)
		err := o.Validate(tt.asset)
		var e *Error
		if !asError(err, &e) || e.Code != tt.code || e.Param != tt.param || e.Kind != EINVALID {
			t.Errorf("%s: %v; want %s at %s", tt.name, err, tt.code, tt.param)
		}
	}
}

func asError(err error, e **Error) bool {
	x, ok := err.(*Error)
	*e = x
	return ok
}
