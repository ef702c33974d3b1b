package ap2

import (
	"crypto/ecdsa"
	"testing"
)

func TestEvaluateCheckout(t *testing.T) {
	open := *openCheckoutTerms(t, agentEd)
	open.VCT = VCTOpenCheckout
	closedFor := func(c Checkout) CheckoutMandate {
		jwt := signedCheckout(t, c)
		return CheckoutMandate{VCT: VCTCheckout, CheckoutJWT: jwt, CheckoutHash: CheckoutHash(jwt)}
	}
	withItems := func(lines ...LineItem) Checkout {
		c := testCheckout()
		c.LineItems = lines
		return c
	}
	line := func(sku string, n int64) LineItem {
		return LineItem{ID: "li_" + sku, Item: Item{ID: sku, Title: sku, Price: 100}, Quantity: n}
	}
	edEdSigned := func() CheckoutMandate {
		jwt, err := signJWS(agentEd, "JWT", "", []byte(`{"id":"chk_1"}`))
		if err != nil {
			t.Fatal(err)
		}
		return CheckoutMandate{VCT: VCTCheckout, CheckoutJWT: jwt, CheckoutHash: CheckoutHash(jwt)}
	}

	for _, tc := range []struct {
		name   string
		open   func() OpenCheckoutMandate
		closed CheckoutMandate
		key    *ecdsa.PublicKey
		hash   func(CheckoutMandate) string
		code   string
	}{
		{name: "the approved basket", closed: closedFor(testCheckout())},
		{name: "fewer units than allowed", closed: closedFor(withItems(line("SKU-LATTE", 1)))},
		{name: "more coffee than allowed", closed: closedFor(withItems(line("SKU-FLAT-WHITE", 2), line("SKU-LATTE", 1))), code: CodeInvalidMandate},
		{name: "an item no requirement accepts", closed: closedFor(withItems(line("SKU-FLAT-WHITE", 1), line("SKU-WHISKY", 1))), code: CodeInvalidMandate},
		{name: "an empty basket", closed: closedFor(withItems()), code: CodeInvalidMandate},
		{name: "another merchant", closed: closedFor(func() Checkout { c := testCheckout(); c.Merchant = &elsewhr; return c }()), code: CodeInvalidMandate},
		{name: "no merchant in the checkout", closed: closedFor(func() Checkout { c := testCheckout(); c.Merchant = nil; return c }()), code: CodeInvalidMandate},
		{name: "allowed merchants all withheld", open: func() OpenCheckoutMandate {
			o := open
			o.Constraints = Constraints{AllowedMerchants{}, open.Constraints[1]}
			return o
		}, closed: closedFor(testCheckout()), code: CodeInvalidMandate},
		{name: "acceptable items all withheld", open: func() OpenCheckoutMandate {
			o := open
			o.Constraints = Constraints{open.Constraints[0], LineItems{Items: []LineItemRequirement{{ID: "any", Quantity: 10}}}}
			return o
		}, closed: closedFor(testCheckout()), code: CodeInvalidMandate},
		{name: "checkout_hash of another checkout", closed: func() CheckoutMandate {
			c := closedFor(testCheckout())
			c.CheckoutHash = CheckoutHash("x")
			return c
		}(), code: CodeInvalidMandate},
		{name: "a checkout other than the one being completed", closed: closedFor(testCheckout()), hash: func(CheckoutMandate) string { return CheckoutHash("other") }, code: CodeInvalidMandate},
		{name: "checkout JWT not signed by the merchant", closed: closedFor(testCheckout()), key: &issuerKey.PublicKey, code: CodeInvalidMandate},
		{name: "checkout JWT signed with Ed25519", closed: edEdSigned(), code: CodeInvalidMandate},
		{name: "unknown constraint", open: func() OpenCheckoutMandate {
			o := open
			o.Constraints = append(Constraints{UnknownConstraint{Type: "checkout.max_weight"}}, open.Constraints...)
			return o
		}, closed: closedFor(testCheckout()), code: CodeUnresolvedConstraint},
		{name: "payment constraint in a checkout mandate", open: func() OpenCheckoutMandate {
			o := open
			o.Constraints = append(Constraints{AmountRange{Currency: "USD", Max: 1}}, open.Constraints...)
			return o
		}, closed: closedFor(testCheckout()), code: CodeUnresolvedConstraint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := open
			if tc.open != nil {
				o = tc.open()
			}
			key := &merchantKey.PublicKey
			if tc.key != nil {
				key = tc.key
			}
			hash := tc.closed.CheckoutHash
			if tc.hash != nil {
				hash = tc.hash(tc.closed)
			}
			_, err := EvaluateCheckout(o, tc.closed, CheckoutInput{MerchantKey: key, CheckoutHash: hash})
			wantCode(t, err, tc.code)
		})
	}
}

func TestMatchLineItems(t *testing.T) {
	req := func(id string, qty int64, skus ...string) LineItemRequirement {
		r := LineItemRequirement{ID: id, Quantity: qty}
		for _, s := range skus {
			r.AcceptableItems = append(r.AcceptableItems, AcceptableItem{ID: s, Title: s})
		}
		return r
	}
	cart := func(pairs ...any) []LineItem {
		var out []LineItem
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, LineItem{Item: Item{ID: pairs[i].(string)}, Quantity: int64(pairs[i+1].(int))})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		reqs []LineItemRequirement
		cart []LineItem
		ok   bool
	}{
		{"within quantity", []LineItemRequirement{req("r1", 3, "A")}, cart("A", 2), true},
		{"over quantity", []LineItemRequirement{req("r1", 2, "A")}, cart("A", 3), false},
		{"item in no requirement", []LineItemRequirement{req("r1", 5, "A")}, cart("Z", 1), false},
		{"two items compete for one slot", []LineItemRequirement{req("r1", 1, "A"), req("r2", 1, "B", "C")}, cart("B", 1, "C", 1), false},
		{"each item in its slot", []LineItemRequirement{req("r1", 1, "A"), req("r2", 1, "B", "C")}, cart("A", 1, "B", 1), true},
		{"one item across two slots", []LineItemRequirement{req("r1", 2, "A"), req("r2", 3, "A", "B")}, cart("A", 5), true},
		{"beyond both slots", []LineItemRequirement{req("r1", 2, "A"), req("r2", 3, "A", "B")}, cart("A", 6), false},
		{"routing through a chain of slots", []LineItemRequirement{req("r1", 1, "A", "B"), req("r2", 1, "B", "C"), req("r3", 1, "C", "D")}, cart("A", 1, "B", 1, "C", 1), true},
		{"split quantities", []LineItemRequirement{req("r1", 2, "A", "B"), req("r2", 3, "A", "C")}, cart("A", 4, "C", 1), true},
		{"repeated lines add up", []LineItemRequirement{req("r1", 3, "A")}, cart("A", 1, "A", 2), true},
		{"repeated lines beyond the slot", []LineItemRequirement{req("r1", 3, "A")}, cart("A", 2, "A", 2), false},
		{"zero-quantity lines count for nothing", []LineItemRequirement{req("r1", 2, "A")}, cart("A", 2, "B", 0), true},
		{"empty checkout", []LineItemRequirement{req("r1", 1, "A")}, nil, false},
		{"requirement with no revealed item accepts nothing", []LineItemRequirement{req("r1", 10)}, cart("A", 1), false},
		{"negative quantity", []LineItemRequirement{req("r1", 10, "A")}, cart("A", -1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := matchLineItems(tc.reqs, tc.cart)
			if tc.ok {
				wantCode(t, err, "")
			} else {
				wantCode(t, err, CodeInvalidMandate)
			}
		})
	}

	t.Run("too large to evaluate", func(t *testing.T) {
		reqs := make([]LineItemRequirement, lineRequirementsMax+1)
		for i := range reqs {
			reqs[i] = req("r", 1, "A")
		}
		wantCode(t, matchLineItems(reqs, cart("A", 1)), CodeUnresolvedConstraint)
	})
}
