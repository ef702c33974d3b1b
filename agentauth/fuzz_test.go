package agentauth

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/dunglas/httpsfv"
)

// legit is a request signed by a known key, as the server receives it.
type legit struct {
	method, target string // target is the origin-form request target
	body           []byte
	header         http.Header
	verified       *Verified
}

// legitRequests are the only requests the fuzz targets ever sign: any
// request that verifies must be one of them.
func legitRequests(t testing.TB) []legit {
	var out []legit
	for _, c := range []struct {
		method, url, body string
		key               testKey
	}{
		{"POST", testURL, testBody, keyA},
		{"GET", "https://pay.example/v1/payments/pay_1?expand=a%20b", "", keyA},
		{"DELETE", "https://pay.example/v1/grants/grt_1", "", keyB},
	} {
		req := signAt(t, c.method, c.url, []byte(c.body), c.key, SignParams{})
		r := receive(t, req, []byte(c.body), "pay.example")
		verified, err := testVerifier(t, keyA, keyB).Verify(r, []byte(c.body))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, legit{c.method, req.URL.RequestURI(), []byte(c.body), req.Header, verified})
	}
	return out
}

// verifyFuzzed verifies a request built from fuzzed parts and checks that
// it verifies only if it is, as far as the signature covers, one of all:
// the same method, request target, body, signature parameters and covered
// header values. It reports whether the request verified.
func verifyFuzzed(t *testing.T, all []legit, method, target string, header http.Header, body []byte) bool {
	if !strings.HasPrefix(target, "/") {
		return false
	}
	r, err := http.NewRequest(method, "https://pay.example"+target, nil)
	if err != nil {
		return false
	}
	r.Header = header
	got, err := testVerifier(t, keyA, keyB).Verify(r, body)
	if err != nil {
		return false
	}
	for _, l := range all {
		if l.method == r.Method && l.target == r.URL.RequestURI() && bytes.Equal(l.body, body) &&
			sameVerified(got, l.verified) && sameFields(got.Components, header, l.header) {
			return true
		}
	}
	t.Fatalf("a request that was never signed verifies: %s %s body %q header %q: %+v", r.Method, r.URL.RequestURI(), body, header, got)
	return true
}

// sameFields reports whether the covered header fields have the same
// component values in a and b.
func sameFields(components []string, a, b http.Header) bool {
	for _, name := range components {
		if strings.HasPrefix(name, "@") {
			continue
		}
		va, errA := (&message{header: a}).component(name)
		vb, errB := (&message{header: b}).component(name)
		if errA != nil || errB != nil || va != vb {
			return false
		}
	}
	return true
}

func sameVerified(a, b *Verified) bool {
	return a.KeyID == b.KeyID && a.Nonce == b.Nonce && a.Created.Equal(b.Created) &&
		a.Expires.Equal(b.Expires) && slices.Equal(a.Components, b.Components)
}

// FuzzVerify feeds Verify arbitrary Signature-Input, Signature and
// Content-Digest values, method, request target and body, seeded with
// legitimately signed requests. Verify must never panic, and must succeed
// only for a request that was signed: same method, target, body and
// signature parameters.
//
// Run with: go test -run='^$' -fuzz=FuzzVerify ./agentauth/
func FuzzVerify(f *testing.F) {
	all := legitRequests(f)
	for _, l := range all {
		f.Add(l.header.Get("Signature-Input"), l.header.Get("Signature"), l.header.Get("Content-Digest"), l.body, l.method, l.target)
	}
	l := all[0]
	input, sig, digest := l.header.Get("Signature-Input"), l.header.Get("Signature"), l.header.Get("Content-Digest")
	f.Add(strings.Replace(input, "sig1=", "a=", 1)+`, sig1=("@method");tag="x"`, "a="+sig[len("sig1="):], digest, l.body, l.method, l.target)
	f.Add(input, sig, digest+", sha-512=:AAAA:", l.body, l.method, l.target)
	f.Add(input, sig, "", []byte{}, "GET", "/")
	f.Add(`sig1=("@method" "@target-uri" "x");created=1;expires=2;nonce="0123456789abcdef";keyid="k";alg="ed25519";tag="agentpay"`, "sig1=:"+strings.Repeat("A", 86)+"==:", "", []byte{}, "GET", "/")
	f.Fuzz(func(t *testing.T, input, signature, digest string, body []byte, method, target string) {
		header := http.Header{}
		for name, value := range map[string]string{"Signature-Input": input, "Signature": signature, "Content-Digest": digest} {
			if value != "" {
				header.Set(name, value)
			}
		}
		verifyFuzzed(t, all, method, target, header, body)
	})
}

// FuzzSignatureInput checks the Signature-Input parser on arbitrary input:
// no panic, and a parsed dictionary serializes stably (the signature base
// holds the serialization, so signer and verifier must agree on it).
//
// Run with: go test -run='^$' -fuzz=FuzzSignatureInput ./agentauth/
func FuzzSignatureInput(f *testing.F) {
	for _, l := range legitRequests(f) {
		f.Add(l.header.Get("Signature-Input"))
	}
	f.Add(`sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`)
	f.Add(`a=("@query-param";name="x" "x";sf;key="y");created=1.5;nonce=:AAAA:;alg=?1, b=tok;x=@12`)
	m := &message{method: "GET", scheme: "https", authority: "pay.example", path: "/", header: http.Header{"Content-Digest": {"sha-256=:AAAA:"}}}
	f.Fuzz(func(t *testing.T, input string) {
		header := http.Header{"Signature-Input": {input}, "Signature": {"sig1=:" + strings.Repeat("A", 86) + "==:"}}
		_, _ = selectSignature(header)
		dict, err := httpsfv.UnmarshalDictionary([]string{input})
		if err != nil {
			return
		}
		once, err := httpsfv.Marshal(dict)
		if err != nil {
			return
		}
		again, err := httpsfv.UnmarshalDictionary([]string{once})
		if err != nil {
			t.Fatalf("the serialization %q of %q does not parse: %v", once, input, err)
		}
		twice, err := httpsfv.Marshal(again)
		if err != nil || twice != once {
			t.Fatalf("unstable serialization of %q: %q then %q (%v)", input, once, twice, err)
		}
		for _, name := range dict.Names() {
			member, _ := dict.Get(name)
			if list, ok := member.(httpsfv.InnerList); ok {
				_, _ = checkParams(list.Params, MaxAgeDefault)
				_, _, _ = signatureBase(m, list)
			}
		}
	})
}

// FuzzParseJWK checks that ParseJWK never panics, that what it accepts is a
// 32-byte key with a stable JWK and thumbprint, and that it never accepts a
// document with a private key.
//
// Run with: go test -run='^$' -fuzz=FuzzParseJWK ./agentauth/
func FuzzParseJWK(f *testing.F) {
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `"}`))
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","d":"` + rfc8037D + `"}`))
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","kid":"k","use":"sig","alg":"EdDSA","key_ops":["verify"]}`))
	f.Add(JWK(keyA.public))
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParseJWK(data)
		if err != nil {
			return
		}
		if len(key) != 32 || !pointValid(key) {
			t.Fatalf("ParseJWK(%q) = %x", data, []byte(key))
		}
		if bytes.Contains(data, []byte(`"d"`)) && !bytes.Contains(data, []byte(`\`)) {
			t.Fatalf("ParseJWK accepted %q, which has a d member", data)
		}
		again, err := ParseJWK(JWK(key))
		if err != nil || !again.Equal(key) || Thumbprint(again) != Thumbprint(key) {
			t.Fatalf("JWK(ParseJWK(%q)) does not round-trip: %v", data, err)
		}
	})
}

// TestVerifyEveryByte changes every byte of every covered value (method,
// request target, body, Content-Digest) and of Signature-Input and Signature
// of signed requests, one at a time, to a few other bytes or deletes it. A
// changed covered value must never verify; a changed signature header may
// verify only if what is signed stays the same (a space after a ";" in
// Signature-Input, say).
func TestVerifyEveryByte(t *testing.T) {
	all := legitRequests(t)
	replacements := []byte{'A', '0', ' ', ';', '"', '=', ',', ':', '(', ')', 'a', '/', '?', '%', 0x7f, '\n'}
	mutate := func(s string, try func(string)) {
		for i := range len(s) {
			for _, c := range replacements {
				if s[i] != c {
					try(s[:i] + string(c) + s[i+1:])
				}
			}
			try(s[:i] + s[i+1:])
		}
	}
	mustFail := func(what string) func(bool) {
		return func(ok bool) {
			if ok {
				t.Fatalf("a request verifies after a change to its %s", what)
			}
		}
	}
	tries, neutral := 0, 0
	for _, l := range all {
		for _, name := range []string{"Signature-Input", "Signature"} {
			mutate(l.header.Get(name), func(v string) {
				header := l.header.Clone()
				header.Set(name, v)
				tries++
				if verifyFuzzed(t, all, l.method, l.target, header, l.body) {
					neutral++
				}
			})
		}
		if digest := l.header.Get("Content-Digest"); digest != "" {
			mutate(digest, func(v string) {
				header := l.header.Clone()
				header.Set("Content-Digest", v)
				mustFail("Content-Digest " + v)(verifyFuzzed(t, all, l.method, l.target, header, l.body))
			})
		}
		mutate(l.method, func(v string) { mustFail("method " + v)(verifyFuzzed(t, all, v, l.target, l.header, l.body)) })
		mutate(l.target, func(v string) { mustFail("target " + v)(verifyFuzzed(t, all, l.method, v, l.header, l.body)) })
		mutate(string(l.body), func(v string) {
			mustFail("body " + v)(verifyFuzzed(t, all, l.method, l.target, l.header, []byte(v)))
		})
		for _, body := range [][]byte{nil, []byte("x")} {
			if !bytes.Equal(body, l.body) {
				mustFail("body")(verifyFuzzed(t, all, l.method, l.target, l.header, body))
			}
		}
	}
	t.Logf("%d changes to signature headers, %d of them neutral", tries, neutral)
}
