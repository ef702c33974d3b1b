package webhook_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/sdk"
	"github.com/agentpay/agentpay/webhook"
)

// The Standard Webhooks specification's test vector (also Svix's): secret,
// message id, timestamp and body, and the signature they must give.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignatureKnownAnswer(t *testing.T) {
	key, err := webhook.SecretKey(specSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := webhook.Signature(key, specID, specTimestamp, []byte(specBody)); got != specSignature {
		t.Fatalf("signature %s, want %s", got, specSignature)
	}
	h, err := webhook.Sign(specID, time.Unix(specTimestamp, 0), []byte(specBody), specSecret)
	if err != nil {
		t.Fatal(err)
	}
	if h["webhook-id"] != specID || h["webhook-timestamp"] != "1614265330" || h["webhook-signature"] != specSignature {
		t.Fatalf("headers %v", h)
	}
}

func TestSecretKeyForms(t *testing.T) {
	// New secrets are padded standard base64 (what the specification's
	// libraries decode); secrets made before are unpadded base64url.
	fresh := agentpay.NewWebhookSecret()
	for _, s := range []string{fresh, "whsec_" + strings.TrimRight(fresh[6:], "="), "whsec_q-_w8uRl1hXPNUiM5ErH2y-L1-Ve_yU8nwvLZPUHJzQ", specSecret} {
		if key, err := webhook.SecretKey(s); err != nil || len(key) == 0 {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "whsec_", "whsec_not base64!"} {
		if _, err := webhook.SecretKey(s); err == nil {
			t.Errorf("%q decoded", s)
		}
	}
	if _, err := webhook.Sign("evt_1", time.Now(), nil, "whsec_"); err == nil {
		t.Fatal("signed with no usable secret")
	}
}

// TestSignRotation: during a rotation both secrets sign, and a receiver
// holding either one verifies.
func TestSignRotation(t *testing.T) {
	now := time.Now()
	oldSecret, newSecret := agentpay.NewWebhookSecret(), agentpay.NewWebhookSecret()
	body := []byte(`{"id":"evt_1"}`)
	h, err := webhook.Sign("evt_1", now, body, newSecret, oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h["webhook-signature"])); n != 2 {
		t.Fatalf("%d signatures: %s", n, h["webhook-signature"])
	}
	header := http.Header{}
	for k, v := range h {
		header.Set(k, v)
	}
	for _, s := range []string{oldSecret, newSecret} {
		if err := sdk.VerifyWebhook(s, header, body, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := sdk.VerifyWebhook(agentpay.NewWebhookSecret(), header, body, 0); err == nil {
		t.Fatal("a third secret verified")
	}
}
