package sdk_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/agentpay/agentpay/sdk"
)

// The Standard Webhooks specification's test vector.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func specHeader(sig string, ts int64) http.Header {
	h := http.Header{}
	h.Set("webhook-id", specID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	return h
}

func TestVerifyWebhook(t *testing.T) {
	at := time.Unix(specTimestamp, 0)
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key of 32 bytes, exactly"))
	tests := []struct {
		name    string
		secrets []string
		header  http.Header
		body    string
		now     time.Time
		want    error
	}{
		{"the specification's vector", []string{specSecret}, specHeader(specSignature, specTimestamp), specBody, at, nil},
		{"without the whsec_ prefix", []string{specSecret[6:]}, specHeader(specSignature, specTimestamp), specBody, at, nil},
		{"one of several signatures", []string{specSecret}, specHeader("v1,bm90IGl0 v1a,xyz "+specSignature, specTimestamp), specBody, at, nil},
		{"one of several secrets", []string{other, specSecret}, specHeader(specSignature, specTimestamp), specBody, at, nil},
		{"4 minutes late", []string{specSecret}, specHeader(specSignature, specTimestamp), specBody, at.Add(4 * time.Minute), nil},
		{"tampered body", []string{specSecret}, specHeader(specSignature, specTimestamp), `{"test": 2432232315}`, at, sdk.ErrWebhookSignature},
		{"wrong secret", []string{other}, specHeader(specSignature, specTimestamp), specBody, at, sdk.ErrWebhookSignature},
		{"another id", []string{specSecret}, func() http.Header {
			h := specHeader(specSignature, specTimestamp)
			h.Set("webhook-id", "msg_other")
			return h
		}(), specBody, at, sdk.ErrWebhookSignature},
		{"timestamp changed", []string{specSecret}, specHeader(specSignature, specTimestamp+1), specBody, at, sdk.ErrWebhookSignature},
		{"old timestamp", []string{specSecret}, specHeader(specSignature, specTimestamp), specBody, at.Add(6 * time.Minute), sdk.ErrWebhookTimestamp},
		{"future timestamp", []string{specSecret}, specHeader(specSignature, specTimestamp), specBody, at.Add(-6 * time.Minute), sdk.ErrWebhookTimestamp},
		{"unknown scheme only", []string{specSecret}, specHeader("v1a,"+specSignature[3:], specTimestamp), specBody, at, sdk.ErrWebhookSignature},
		{"no signature", []string{specSecret}, specHeader("", specTimestamp), specBody, at, sdk.ErrWebhookHeaders},
		{"no headers", []string{specSecret}, http.Header{}, specBody, at, sdk.ErrWebhookHeaders},
		{"bad secret", []string{"whsec_!!"}, specHeader(specSignature, specTimestamp), specBody, at, sdk.ErrWebhookSecret},
	}
	for _, tt := range tests {
		v := sdk.WebhookVerifier{Secrets: tt.secrets, Now: func() time.Time { return tt.now }}
		if err := v.Verify(tt.header, []byte(tt.body)); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// VerifyWebhook itself, against the real clock.
	now := time.Now().Unix()
	h := specHeader(sign(specSecret, specID, now, specBody), now)
	if err := sdk.VerifyWebhook(specSecret, h, []byte(specBody), 0); err != nil {
		t.Fatal(err)
	}
	if err := sdk.VerifyWebhook(specSecret, specHeader(specSignature, specTimestamp), []byte(specBody), time.Hour); !errors.Is(err, sdk.ErrWebhookTimestamp) {
		t.Fatalf("a 2021 timestamp: %v", err)
	}
}

// sign is the Standard Webhooks signature, written out independently of
// agentpay's own signer.
func sign(secret, id string, ts int64, body string) string {
	key, _ := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// FuzzVerifyWebhook: whatever arrives, the verifier does not panic; it
// accepts a body exactly when it is the signed one.
func FuzzVerifyWebhook(f *testing.F) {
	f.Add(specBody, "extra", specSignature, "msg_1")
	f.Add("", "", "v1,", "")
	f.Add("{}", "x", "v1,!!! v2,abc", "evt_1")
	f.Fuzz(func(t *testing.T, body, tamper, sigHeader, id string) {
		now := time.Unix(specTimestamp, 0)
		v := sdk.WebhookVerifier{Secrets: []string{specSecret}, Now: func() time.Time { return now }}
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strconv.FormatInt(specTimestamp, 10))
		h.Set("webhook-signature", sigHeader)
		_ = v.Verify(h, []byte(body)) // arbitrary headers: any answer, no panic
		if id == "" {
			return
		}
		h.Set("webhook-signature", sigHeader+" "+sign(specSecret, id, specTimestamp, body))
		if h.Get("webhook-id") != id {
			return // not representable as a header value
		}
		if err := v.Verify(h, []byte(body)); err != nil {
			t.Fatalf("a signed body was refused: %v", err)
		}
		if tamper != "" {
			if err := v.Verify(h, []byte(body+tamper)); err == nil {
				t.Fatal("a tampered body was accepted")
			}
		}
	})
}
