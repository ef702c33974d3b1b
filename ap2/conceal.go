package ap2

import (
	"errors"
	"strings"
)

// delegateKey is the payload member that holds the mandate content
// (docs/ap2/agent_authorization.md: "delegate_payload ... an array
// containing the Mandate Content payloads").
const delegateKey = "delegate_payload"

// concealContent makes selectively disclosable what the schemas mark so:
// checkout_jwt (x-selectively-disclosable-field) and each element of the
// allowed merchants, payees and payment instruments and of every
// requirement's acceptable items (x-selectively-disclosable-array). The
// agent may then show a verifier only the merchant or item that concerns
// it, as AP2 asks for privacy.
func concealContent(b *sdBuilder, vct string, content map[string]any) error {
	if vct == VCTCheckout {
		return b.member(content, "checkout_jwt")
	}
	constraints, _ := content["constraints"].([]any)
	for _, c := range constraints {
		obj, ok := c.(map[string]any)
		if !ok {
			continue
		}
		switch obj["type"] {
		case ConstraintAllowedMerchants, ConstraintAllowedPayees, ConstraintAllowedPaymentInstruments:
			if err := b.elements(obj, "allowed"); err != nil {
				return err
			}
		case ConstraintLineItems:
			items, _ := obj["items"].([]any)
			for _, item := range items {
				if req, ok := item.(map[string]any); ok {
					if err := b.elements(req, "acceptable_items"); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// sealContent turns m into its payload form: the content, its concealed
// parts disclosed separately, as the single element of delegate_payload.
func sealContent(b *sdBuilder, m Mandate) ([]any, error) {
	tree, err := jsonTree(m)
	if err != nil {
		return nil, err
	}
	content, ok := tree.(map[string]any)
	if !ok {
		return nil, errors.New("mandate content is not an object")
	}
	if err := concealContent(b, m.vct(), content); err != nil {
		return nil, err
	}
	placeholder, err := b.element(content)
	if err != nil {
		return nil, err
	}
	return []any{placeholder}, nil
}

// joinSDJWT serializes a signed JWT and its disclosures.
func joinSDJWT(jwt string, disclosures []string) string {
	return sdJWT{jwt: jwt, disclosures: disclosures}.serialize()
}

// joinChain appends a closed SD-JWT to the open one it closes: the open
// one loses its final "~", so the two are joined by "~~".
func joinChain(open, closed string) string {
	return strings.TrimSuffix(open, "~") + "~~" + closed
}
