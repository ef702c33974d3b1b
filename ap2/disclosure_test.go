package ap2

import (
	"encoding/json"
	"testing"
)

// disc encodes a disclosure with a fixed salt, for building payloads by
// hand.
func disc(t *testing.T, parts ...any) (encoded, digest string) {
	t.Helper()
	encoded = encodeSegment(t, append([]any{"c2FsdHNhbHRzYWx0"}, parts...))
	return encoded, hashB64(encoded)
}

func TestResolveDisclosures(t *testing.T) {
	nameD, nameDigest := disc(t, "name", "Corner Shop")
	elemD, elemDigest := disc(t, map[string]any{"id": "mer_shop"})
	vctD, vctDigest := disc(t, "vct", "mandate.payment.1")
	upperD, upperDigest := disc(t, "VCT", "mandate.payment.open.1")
	sdD, sdDigest := disc(t, "_sd", []any{})
	nestedInner, innerDigest := disc(t, "id", "mer_inner")
	nestedOuter, outerDigest := disc(t, map[string]any{"_sd": []any{innerDigest}})
	selfD, selfDigest := disc(t, "x", 1)

	obj := func(members ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(members); i += 2 {
			m[members[i].(string)] = members[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		payload map[string]any
		discs   []string
		ok      bool
		want    string
	}{
		{"member disclosed", obj("_sd", []any{nameDigest}), []string{nameD}, true, `{"name":"Corner Shop"}`},
		{"member withheld", obj("_sd", []any{nameDigest}), nil, true, `{}`},
		{"element disclosed", obj("a", []any{obj("...", elemDigest), 1}), []string{elemD}, true, `{"a":[{"id":"mer_shop"},1]}`},
		{"element withheld", obj("a", []any{obj("...", elemDigest), 1}), nil, true, `{"a":[1]}`},
		{"nested disclosures", obj("a", []any{obj("...", outerDigest)}), []string{nestedOuter, nestedInner}, true, `{"a":[{"id":"mer_inner"}]}`},
		{"a disclosure nobody references", obj("_sd", []any{nameDigest}), []string{nameD, elemD}, false, ""},
		{"the same disclosure twice", obj("_sd", []any{nameDigest}), []string{nameD, nameD}, false, ""},
		{"a digest twice in _sd", obj("_sd", []any{nameDigest, nameDigest}), []string{nameD}, false, ""},
		{"a digest in _sd and in an array", obj("_sd", []any{elemDigest}, "a", []any{obj("...", elemDigest)}), []string{elemD}, false, ""},
		{"an element disclosure in _sd", obj("_sd", []any{elemDigest}), []string{elemD}, false, ""},
		{"a member disclosure in an array", obj("a", []any{obj("...", nameDigest)}), []string{nameD}, false, ""},
		{"a disclosed member that is already there", obj("vct", "mandate.payment.open.1", "_sd", []any{vctDigest}), []string{vctD}, false, ""},
		{"a disclosed member differing only in case", obj("vct", "mandate.payment.1", "_sd", []any{upperDigest}), []string{upperD}, false, ""},
		{"a disclosure named _sd", obj("_sd", []any{sdDigest}), []string{sdD}, false, ""},
		{"_sd not an array", obj("_sd", "x"), nil, false, ""},
		{"a digest that is not a string", obj("_sd", []any{1}), nil, false, ""},
		{"a disclosure that is not base64url", obj("_sd", []any{selfDigest}), []string{selfD, "not base64!"}, false, ""},
		{"a disclosure that is not an array", obj(), []string{encodeSegment(t, map[string]any{"a": 1})}, false, ""},
		{"a disclosure with four elements", obj(), []string{encodeSegment(t, []any{"s", "a", 1, 2})}, false, ""},
		{"a disclosure without salt", obj(), []string{encodeSegment(t, []any{1, "a"})}, false, ""},
		{"an empty disclosure array", obj(), []string{encodeSegment(t, []any{})}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := resolveDisclosures(tc.payload, tc.discs)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if tc.ok {
				got, _ := json.Marshal(out)
				if string(got) != tc.want {
					t.Fatalf("resolved = %s, want %s", got, tc.want)
				}
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	deep := ""
	for range jsonDepthMax + 1 {
		deep += "["
	}
	for range jsonDepthMax + 1 {
		deep += "]"
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"a":1,"b":[1,{"c":2}]}`, true},
		{`[1,2,{"a":{}}]`, true},
		{`"s"`, true},
		{`{"a":1,"a":2}`, false},
		{`{"amount":1,"Amount":2}`, false},
		{`{"k":1,"\u212a":2}`, false}, // KELVIN SIGN folds to k
		{`{"a":{"b":1,"b":1}}`, false},
		{`{"a":1} {"b":2}`, false},
		{`{"a":1}x`, false},
		{`{"a":1`, false},
		{"\"\xff\"", false},
		{deep, false},
		{``, false},
	} {
		if err := checkJSON([]byte(tc.in)); (err == nil) != tc.ok {
			t.Errorf("checkJSON(%q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

func TestB64Decode(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"YWJj", true},
		{"YWJjZA", true},
		{"YWJjZA==", false}, // padded
		{"YWJjZB", false},   // non-zero trailing bits
		{"YWJj\nZA", false}, // the standard decoder would skip the newline
		{"YWJj+/", false},   // standard alphabet
		{"YW Jj", false},
	} {
		if _, err := b64Decode(tc.in); (err == nil) != tc.ok {
			t.Errorf("b64Decode(%q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}
