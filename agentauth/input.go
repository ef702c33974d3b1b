package agentauth

import (
	"crypto/ed25519"
	"net/http"

	"github.com/dunglas/httpsfv"
)

// signatureHeaderSizeMax bounds each of Signature-Input and Signature, so
// parsing an unauthenticated request costs a bounded amount of work.
const signatureHeaderSizeMax = 8192

// tag is the value of the "tag" parameter that marks agentpay request
// signatures. Signatures made for other purposes use other tags, so one can
// never be replayed as another.
const tag = "agentpay"

// received is the one agentpay signature of a request.
type received struct {
	label     string
	list      httpsfv.InnerList // covered components and parameters
	signature []byte
}

// selectSignature finds the one Signature-Input member tagged "agentpay"
// and its value in Signature. Members with other tags are ignored.
func selectSignature(h http.Header) (received, error) {
	inputs := h.Values(headerSignatureInput)
	if len(inputs) == 0 {
		return received{}, refuse(CodeSignatureMissing, headerSignatureInput, "the request is not signed: Signature-Input is missing")
	}
	dict, err := parseSignatureDictionary(headerSignatureInput, inputs)
	if err != nil {
		return received{}, err
	}
	var found received
	for _, label := range dict.Names() {
		member, _ := dict.Get(label)
		list, ok := member.(httpsfv.InnerList)
		if !ok {
			return received{}, refuse(CodeSignatureMalformed, headerSignatureInput, "Signature-Input member %q is not an inner list", label)
		}
		if value, _ := list.Params.Get("tag"); value != tag {
			continue
		}
		if found.label != "" {
			return received{}, refuse(CodeSignatureMalformed, headerSignatureInput, "Signature-Input holds more than one signature tagged %q", tag)
		}
		found = received{label: label, list: list}
	}
	if found.label == "" {
		return received{}, refuse(CodeSignatureMissing, headerSignatureInput, "Signature-Input holds no signature tagged %q", tag)
	}
	signature, err := signatureValue(h, found.label)
	if err != nil {
		return received{}, err
	}
	found.signature = signature
	return found, nil
}

// signatureValue returns the 64-byte signature labelled label in Signature.
func signatureValue(h http.Header, label string) ([]byte, error) {
	values := h.Values(headerSignature)
	if len(values) == 0 {
		return nil, refuse(CodeSignatureMissing, headerSignature, "the request has Signature-Input but no Signature")
	}
	dict, err := parseSignatureDictionary(headerSignature, values)
	if err != nil {
		return nil, err
	}
	member, ok := dict.Get(label)
	if !ok {
		return nil, refuse(CodeSignatureMissing, headerSignature, "Signature has no value labelled %q", label)
	}
	item, ok := member.(httpsfv.Item)
	if !ok {
		return nil, refuse(CodeSignatureMalformed, headerSignature, "Signature %q is not a byte sequence", label)
	}
	signature, ok := item.Value.([]byte)
	if !ok || len(signature) != ed25519.SignatureSize {
		return nil, refuse(CodeSignatureMalformed, headerSignature, "Signature %q is not a byte sequence of %d bytes", label, ed25519.SignatureSize)
	}
	return signature, nil
}

// parseSignatureDictionary parses a bounded structured-field dictionary.
func parseSignatureDictionary(header string, values []string) (*httpsfv.Dictionary, error) {
	if fieldSize(values) > signatureHeaderSizeMax {
		return nil, refuse(CodeSignatureMalformed, header, "%s is longer than %d bytes", header, signatureHeaderSizeMax)
	}
	dict, err := httpsfv.UnmarshalDictionary(values)
	if err != nil {
		return nil, refuse(CodeSignatureMalformed, header, "%s is not a structured-field dictionary", header)
	}
	return dict, nil
}
