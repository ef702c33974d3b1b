package ap2

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// b64 is unpadded base64url that refuses non-zero trailing bits, so each
// byte string has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// b64Decode decodes s, refusing every character outside the base64url
// alphabet: the standard decoder skips '\r' and '\n', which would give one
// value many spellings and so many hashes.
func b64Decode(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, errors.New("not base64url")
		}
	}
	return b64.DecodeString(s)
}

// hashB64 is the base64url SHA-256 of s: sha-256 is the only _sd_alg
// agentpay issues or accepts, and every AP2 hash (disclosure digests,
// sd_hash, checkout_hash, receipt references) is computed this way over the
// ASCII of a compact serialization.
func hashB64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

// jsonDepthMax bounds nesting in anything this package parses; mandates
// are a few levels deep.
const jsonDepthMax = 32

// decodeJSON decodes data into v after checking that it is valid UTF-8,
// exactly one JSON value, nested at most jsonDepthMax deep, with no object
// member named twice, not even in two cases ("payee" and "Payee"): parsers
// disagree on which of two duplicates wins, encoding/json matches names
// case-insensitively, and a signer must not be able to show two verifiers
// two different mandates.
// Numbers decode as json.Number, so no amount passes through a float.
func decodeJSON(data []byte, v any) error {
	if err := checkJSON(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

func checkJSON(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*jsonFrame
	values := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.expectKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				valueDone(stack, &values)
				continue
			}
			key, _ := tok.(string)
			if top.keys[foldKey(key)] {
				return errors.New("duplicate object member")
			}
			top.keys[foldKey(key)] = true
			top.expectKey = false
			continue
		}
		if len(stack) == 0 && values > 0 {
			return errors.New("data after the JSON value")
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= jsonDepthMax {
				return errors.New("JSON nested too deep")
			}
			f := &jsonFrame{}
			if tok == json.Delim('{') {
				f.keys, f.expectKey = map[string]bool{}, true
			}
			stack = append(stack, f)
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone(stack, &values)
		default:
			valueDone(stack, &values)
		}
	}
	if values != 1 || len(stack) != 0 {
		return errors.New("not one JSON value")
	}
	return nil
}

// foldKey maps s to a canonical member of its case-folding class, so two
// names are equal under strings.EqualFold exactly when their foldKeys are.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// jsonFrame is an open object or array in checkJSON.
type jsonFrame struct {
	keys      map[string]bool // nil for an array
	expectKey bool
}

// valueDone records that a value ended: in an object, a key comes next; at
// the top, the document is complete.
func valueDone(stack []*jsonFrame, values *int) {
	if len(stack) == 0 {
		*values++
		return
	}
	if top := stack[len(stack)-1]; top.keys != nil {
		top.expectKey = true
	}
}

// jsonTree turns v into the generic form (maps, slices, json.Number) that
// selective disclosure rewrites.
func jsonTree(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return tree, dec.Decode(&tree)
}

// fromTree decodes a generic tree into v.
func fromTree(tree any, v any) error {
	data, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
