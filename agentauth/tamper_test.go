package agentauth

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestVerifyTamper signs POST testURL with testBody, lets each case change
// the request as the server receives it (or the verifier), and checks the
// exact outcome.
func TestVerifyTamper(t *testing.T) {
	digestOf := func(s string) string { return ContentDigest([]byte(s)) }
	tests := []struct {
		name   string
		mutate func(t *testing.T, r *http.Request, body *string, v *Verifier)
		want   string
	}{
		{"untouched", func(*testing.T, *http.Request, *string, *Verifier) {}, ""},

		// The request line.
		{"method", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) { r.Method = "PUT" }, CodeSignatureInvalid},
		{"method case", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) { r.Method = "post" }, CodeSignatureInvalid},
		{"path", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) { r.URL.Path = "/v1/payment" }, CodeSignatureInvalid},
		{"path trailing slash", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) { r.URL.Path += "/" }, CodeSignatureInvalid},
		{"query", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) { r.URL.RawQuery = "expand=all" }, CodeSignatureInvalid},
		{"query removed", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) { r.URL.RawQuery = "" }, CodeSignatureInvalid},
		{"query extended", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) { r.URL.RawQuery += "&x=1" }, CodeSignatureInvalid},

		// Where the request says it went does not matter; the configuration does.
		{"host rewritten", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) {
			r.Host, r.URL.Host, r.URL.Scheme = "evil.example", "evil.example", "http"
		}, ""},
		{"forwarded headers", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) {
			r.Header.Set("X-Forwarded-Host", "evil.example")
			r.Header.Set("X-Forwarded-Proto", "http")
			r.Header.Set("Forwarded", "host=evil.example;proto=http")
		}, ""},
		{"base URL other host", func(t *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.BaseURL = mustURL(t, "https://other.example")
		}, CodeSignatureInvalid},
		{"base URL other scheme", func(t *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.BaseURL = mustURL(t, "http://pay.example")
		}, CodeSignatureInvalid},
		{"base URL other port", func(t *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.BaseURL = mustURL(t, "https://pay.example:8443")
		}, CodeSignatureInvalid},
		{"base URL default port and case", func(t *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.BaseURL = mustURL(t, "HTTPS://Pay.Example:443/")
		}, ""},
		{"base URL with prefix", func(t *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.BaseURL = mustURL(t, "https://pay.example/api")
		}, CodeSignatureInvalid},

		// The body and its digest.
		{"body", func(_ *testing.T, _ *http.Request, body *string, _ *Verifier) { *body = `{"amount":900}` }, CodeDigestMismatch},
		{"body emptied", func(_ *testing.T, _ *http.Request, body *string, _ *Verifier) { *body = "" }, CodeDigestMismatch},
		{"body extended", func(_ *testing.T, _ *http.Request, body *string, _ *Verifier) { *body += " " }, CodeDigestMismatch},
		{"body and digest", func(_ *testing.T, r *http.Request, body *string, _ *Verifier) {
			*body = `{"amount":900}`
			r.Header.Set("Content-Digest", digestOf(*body))
		}, CodeSignatureInvalid},
		{"digest removed", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) { r.Header.Del("Content-Digest") }, CodeDigestMissing},
		{"digest removed and body emptied", func(_ *testing.T, r *http.Request, body *string, _ *Verifier) {
			r.Header.Del("Content-Digest")
			*body = ""
		}, CodeDigestMissing},
		{"digest sha-512 only", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) {
			r.Header.Set("Content-Digest", "sha-512=:"+strings.Repeat("A", 86)+"==:")
		}, CodeDigestMissing},
		{"digest garbage", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) {
			r.Header.Set("Content-Digest", "sha-256=")
		}, CodeDigestMalformed},
		{"digest extra algorithm", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) {
			r.Header.Set("Content-Digest", r.Header.Get("Content-Digest")+", sha-512=:AAAA:")
		}, CodeSignatureInvalid}, // the extra member is ignored by the digest check, but content-digest is covered

		// Each signature parameter.
		{"created", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", "created=1800000000", "created=1799999999")
		}, CodeSignatureInvalid},
		{"created old", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", "created=1800000000", "created=1799999699")
		}, CodeSignatureParams}, // the window expires − created is now over five minutes
		{"created removed", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", ";created=1800000000", "")
		}, CodeSignatureParams},
		{"created string", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", "created=1800000000", `created="1800000000"`)
		}, CodeSignatureParams},
		{"created negative", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", "created=1800000000", `created=-1`)
		}, CodeSignatureParams},
		{"expires", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", "expires=1800000060", "expires=1800000061")
		}, CodeSignatureInvalid},
		{"expires removed", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", ";expires=1800000060", "")
		}, CodeSignatureParams},
		{"expires before created", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", "expires=1800000060", "expires=1800000000")
		}, CodeSignatureParams},
		{"expires far", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", "expires=1800000060", "expires=1800000301")
		}, CodeSignatureParams},
		{"nonce", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", testNonce, "bm9uY2Utbm9uY2UtMDI")
		}, CodeSignatureInvalid},
		{"nonce short", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", testNonce, "0123456789abcde")
		}, CodeSignatureParams},
		{"nonce long", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", testNonce, strings.Repeat("n", 129))
		}, CodeSignatureParams},
		{"nonce token", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `"`+testNonce+`"`, testNonce)
		}, CodeSignatureParams},
		{"nonce removed", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `;nonce="`+testNonce+`"`, "")
		}, CodeSignatureParams},
		{"keyid of another known key", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", keyA.id, keyB.id)
		}, CodeSignatureInvalid},
		{"keyid unknown", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", keyA.id, "no-such-key")
		}, CodeUnknownKey},
		{"keyid empty", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", keyA.id, "")
		}, CodeSignatureParams},
		{"keyid removed", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `;keyid="`+keyA.id+`"`, "")
		}, CodeSignatureParams},
		{"alg", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `alg="ed25519"`, `alg="rsa-pss-sha512"`)
		}, CodeSignatureAlg},
		{"alg token", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `alg="ed25519"`, `alg=ed25519`)
		}, CodeSignatureAlg},
		{"alg removed", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `;alg="ed25519"`, "")
		}, CodeSignatureAlg},
		{"tag", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `tag="agentpay"`, `tag="x402"`)
		}, CodeSignatureMissing},
		{"tag removed", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `;tag="agentpay"`, "")
		}, CodeSignatureMissing},
		{"unknown parameter", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `;tag="agentpay"`, `;tag="agentpay";context="x"`)
		}, CodeSignatureParams},
		{"parameters reordered", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `;alg="ed25519";tag="agentpay"`, `;tag="agentpay";alg="ed25519"`)
		}, CodeSignatureInvalid},
		{"parameters respaced", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `;alg=`, `; alg=`)
		}, ""}, // the same parameters: the base holds their serialization

		// The covered components.
		{"content-digest not covered", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", ` "content-digest"`, "")
		}, CodeSignatureComponents},
		{"target-uri not covered", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", ` "@target-uri"`, "")
		}, CodeSignatureComponents},
		{"method not covered", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `"@method" `, "")
		}, CodeSignatureComponents},
		{"components reordered", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `"@method" "@target-uri"`, `"@target-uri" "@method"`)
		}, CodeSignatureInvalid},
		{"component duplicated", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `"@method"`, `"@method" "@method"`)
		}, CodeSignatureComponents},
		{"component uppercase", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `"content-digest"`, `"Content-Digest"`)
		}, CodeSignatureComponents},
		{"component parameter", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `"content-digest"`, `"content-digest";sf`)
		}, CodeSignatureComponents},
		{"component token", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `"content-digest"`, `content-digest`)
		}, CodeSignatureMalformed},
		{"component absent header", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `"content-digest"`, `"content-digest" "x-absent"`)
		}, CodeSignatureComponents},
		{"component unsupported", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", `"content-digest"`, `"content-digest" "@request-target"`)
		}, CodeSignatureComponents},

		// The headers themselves.
		{"signature byte", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			flipSignatureBit(t, r)
		}, CodeSignatureInvalid},
		{"signature short", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			r.Header.Set("Signature", "sig1=:AAAA:")
		}, CodeSignatureMalformed},
		{"signature token", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			r.Header.Set("Signature", "sig1=abc")
		}, CodeSignatureMalformed},
		{"signature removed", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) { r.Header.Del("Signature") }, CodeSignatureMissing},
		{"signature-input removed", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) { r.Header.Del("Signature-Input") }, CodeSignatureMissing},
		{"signature-input garbage", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) { r.Header.Set("Signature-Input", "sig1=(") }, CodeSignatureMalformed},
		{"signature-input item", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) {
			r.Header.Set("Signature-Input", `sig1="x"`)
		}, CodeSignatureMalformed},
		{"signature-input too long", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) {
			r.Header.Add("Signature-Input", "x="+strings.Repeat("a", signatureHeaderSizeMax))
		}, CodeSignatureMalformed},
		{"label renamed in Signature-Input", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", "sig1=", "sig2=")
		}, CodeSignatureMissing},
		{"label renamed in both", func(t *testing.T, r *http.Request, _ *string, _ *Verifier) {
			replaceHeader(t, r, "Signature-Input", "sig1=", "agent=")
			replaceHeader(t, r, "Signature", "sig1=", "agent=")
		}, ""},
		{"other signatures", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) {
			r.Header.Add("Signature-Input", `proxy=("@method");created=1;tag="proxy"`)
			r.Header.Add("Signature", "proxy=:AAAA:")
		}, ""},
		{"two agentpay signatures", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) {
			input, sig := r.Header.Get("Signature-Input"), r.Header.Get("Signature")
			r.Header.Set("Signature-Input", input+", sig2="+strings.TrimPrefix(input, "sig1="))
			r.Header.Set("Signature", sig+", sig2="+strings.TrimPrefix(sig, "sig1="))
		}, CodeSignatureMalformed},
		{"signature header in two lines", func(_ *testing.T, r *http.Request, _ *string, _ *Verifier) {
			sig := r.Header.Get("Signature")
			r.Header.Set("Signature", "other=:AAAA:")
			r.Header.Add("Signature", sig)
		}, ""},

		// Keys and time.
		{"key unknown to the verifier", func(t *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.Keys = testVerifier(t, keyB).Keys
		}, CodeUnknownKey},
		{"key replaced", func(_ *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.Keys = func(context.Context, string) (ed25519.PublicKey, error) { return keyB.public, nil }
		}, CodeSignatureInvalid},
		{"just expired", func(_ *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.Now = func() time.Time { return testNow.Add(time.Minute) }
		}, CodeSignatureExpired},
		{"just valid", func(_ *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.Now = func() time.Time { return testNow.Add(time.Minute - time.Nanosecond) }
		}, ""},
		{"shorter max age", func(_ *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.MaxAge = 30 * time.Second
		}, CodeSignatureParams},
		{"clock behind within skew", func(_ *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.Now = func() time.Time { return testNow.Add(-30 * time.Second) }
		}, ""},
		{"clock behind beyond skew", func(_ *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.Now = func() time.Time { return testNow.Add(-31 * time.Second) }
		}, CodeSignatureFuture},
		{"clock behind beyond a smaller skew", func(_ *testing.T, _ *http.Request, _ *string, v *Verifier) {
			v.Now = func() time.Time { return testNow.Add(-2 * time.Second) }
			v.Skew = time.Second
		}, CodeSignatureFuture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := signAt(t, "POST", testURL, []byte(testBody), keyA, SignParams{})
			r := receive(t, req, []byte(testBody), "10.0.0.7:8080")
			body := testBody
			v := testVerifier(t, keyA, keyB)
			tt.mutate(t, r, &body, v)
			_, err := v.Verify(r, []byte(body))
			checkCode(t, err, tt.want)
		})
	}
}

func flipSignatureBit(t *testing.T, r *http.Request) {
	t.Helper()
	sig := r.Header.Get("Signature")
	// sig1=:BASE64: — flip one base64 character in the middle.
	i := len("sig1=:") + 10
	c := byte('A')
	if sig[i] == 'A' {
		c = 'B'
	}
	r.Header.Set("Signature", sig[:i]+string(c)+sig[i+1:])
}

// TestVerifySignedParams signs requests whose own parameters or components
// break a rule, so the signature is valid and the rule alone refuses them.
func TestVerifySignedParams(t *testing.T) {
	full := []string{"@method", "@target-uri", "content-digest"}
	tests := []struct {
		name       string
		components []string
		edit       func(p map[string]any)
		header     map[string]string
		want       string
	}{
		{"as Sign does", full, nil, nil, ""},
		{"alg rsa", full, func(p map[string]any) { p["alg"] = "rsa-v1_5-sha256" }, nil, CodeSignatureAlg},
		{"alg absent", full, func(p map[string]any) { delete(p, "alg") }, nil, CodeSignatureAlg},
		{"tag other", full, func(p map[string]any) { p["tag"] = "web-bot-auth" }, nil, CodeSignatureMissing},
		{"nonce absent", full, func(p map[string]any) { delete(p, "nonce") }, nil, CodeSignatureParams},
		{"expires absent", full, func(p map[string]any) { delete(p, "expires") }, nil, CodeSignatureParams},
		{"created absent", full, func(p map[string]any) { delete(p, "created") }, nil, CodeSignatureParams},
		{"keyid absent", full, func(p map[string]any) { delete(p, "keyid") }, nil, CodeSignatureParams},
		{"window of ten minutes", full, func(p map[string]any) { p["expires"] = testNow.Add(10 * time.Minute).Unix() }, nil, CodeSignatureParams},
		{"window of five minutes", full, func(p map[string]any) { p["expires"] = testNow.Add(5 * time.Minute).Unix() }, nil, ""},
		{"created six minutes ago", full, func(p map[string]any) {
			p["created"], p["expires"] = testNow.Add(-6*time.Minute).Unix(), testNow.Add(-5*time.Minute).Unix()
		}, nil, CodeSignatureExpired},
		{"created two minutes ago, expired", full, func(p map[string]any) {
			p["created"], p["expires"] = testNow.Add(-2*time.Minute).Unix(), testNow.Add(-time.Minute).Unix()
		}, nil, CodeSignatureExpired},
		{"created a minute ahead", full, func(p map[string]any) {
			p["created"], p["expires"] = testNow.Add(time.Minute).Unix(), testNow.Add(2*time.Minute).Unix()
		}, nil, CodeSignatureFuture},
		{"created 20 s ahead", full, func(p map[string]any) {
			p["created"], p["expires"] = testNow.Add(20*time.Second).Unix(), testNow.Add(time.Minute).Unix()
		}, nil, ""},
		{"no content-digest", []string{"@method", "@target-uri"}, nil, nil, CodeSignatureComponents},
		{"no @method", []string{"@target-uri", "content-digest"}, nil, nil, CodeSignatureComponents},
		{"no @target-uri", []string{"@method", "@path", "@authority", "content-digest"}, nil, nil, CodeSignatureComponents},
		{"more components", []string{"@method", "@target-uri", "content-digest", "content-type", "@path", "@query", "@authority", "@scheme"},
			nil, map[string]string{"Content-Type": "application/json"}, ""},
		{"header repeated", []string{"@method", "@target-uri", "content-digest", "x-list"},
			nil, map[string]string{"X-List": " a ,b\t"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]any{
				"created": testNow.Unix(), "expires": testNow.Add(time.Minute).Unix(), "nonce": testNonce,
				"keyid": keyA.id, "alg": "ed25519", "tag": "agentpay",
			}
			if tt.edit != nil {
				tt.edit(params)
			}
			req, _ := http.NewRequest("POST", testURL, strings.NewReader(testBody))
			for name, value := range tt.header {
				req.Header.Set(name, value)
				if name == "X-List" {
					req.Header.Add(name, "c")
				}
			}
			if err := sign(req, []byte(testBody), keyA.private, tt.components, orderedParams(params)); err != nil {
				t.Fatal(err)
			}
			_, err := testVerifier(t, keyA).Verify(receive(t, req, []byte(testBody), "pay.example"), []byte(testBody))
			checkCode(t, err, tt.want)
		})
	}
}
