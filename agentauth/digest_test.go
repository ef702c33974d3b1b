package agentauth

import (
	"net/http"
	"strings"
	"testing"
)

func TestContentDigest(t *testing.T) {
	// RFC 9530 §2 example body.
	body := []byte(`{"hello": "world"}`)
	const want = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
	if got := ContentDigest(body); got != want {
		t.Fatalf("ContentDigest = %s; want %s", got, want)
	}
	sha512 := "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
	tests := []struct {
		name   string
		values []string
		body   string
		want   string
	}{
		{"match", []string{want}, string(body), ""},
		{"match with other algorithms", []string{sha512 + ", " + want + ", md5=:AAAA:"}, string(body), ""},
		{"match over two field lines", []string{sha512, want}, string(body), ""},
		{"match with parameters", []string{want + ";x=1"}, string(body), ""},
		{"mismatch", []string{want}, string(body) + " ", CodeDigestMismatch},
		{"mismatch on empty body", []string{want}, "", CodeDigestMismatch},
		{"empty body without header", nil, "", ""},
		{"empty body with its digest", []string{ContentDigest(nil)}, "", ""},
		{"body without header", nil, "x", CodeDigestMissing},
		{"only sha-512", []string{sha512}, string(body), CodeDigestMissing},
		{"uppercase name", []string{strings.ToUpper(want[:7]) + want[7:]}, string(body), CodeDigestMalformed},
		{"token", []string{"sha-256=abc"}, string(body), CodeDigestMalformed},
		{"short", []string{"sha-256=:AAAA:"}, string(body), CodeDigestMalformed},
		{"inner list", []string{"sha-256=(:AAAA:)"}, string(body), CodeDigestMalformed},
		{"legacy Digest syntax", []string{"SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="}, string(body), CodeDigestMalformed},
		{"trailing comma", []string{want + ","}, string(body), CodeDigestMalformed},
		{"too long", []string{want + ", x=" + strings.Repeat("a", digestHeaderSizeMax)}, string(body), CodeDigestMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add("Content-Digest", v)
			}
			checkCode(t, VerifyContentDigest(h, []byte(tt.body)), tt.want)
		})
	}
}
