package sdk_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/agentpay/agentpay/sdk"
	"github.com/agentpay/agentpay/webhook"
)

func ExampleVerifyWebhook() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // shown once when the webhook URL was set

	// The merchant's receiver: verify the raw body first, then decode it.
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable", http.StatusBadRequest)
			return
		}
		if err := sdk.VerifyWebhook(secret, r.Header, body, 5*time.Minute); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		var e sdk.WebhookEvent
		if err := json.Unmarshal(body, &e); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		// e.ID is the same on every retry: deduplicate on it. e.Seq orders
		// the events of e.ObjectID.
		fmt.Println("got", e.Type, e.ObjectID, "seq", e.Seq)
		w.WriteHeader(http.StatusNoContent)
	})

	// What agentpay sends, signed as its dispatcher signs.
	body := []byte(`{"id":"evt_1","type":"payment.captured","object_id":"pay_1","seq":3,` +
		`"created_at":"2030-01-02T03:04:05Z","data":{"payment":"pay_1","captured":500}}`)
	headers, err := webhook.Sign("evt_1", time.Now(), body, secret)
	if err != nil {
		panic(err)
	}
	send := func(body []byte) int {
		req := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		receiver.ServeHTTP(rec, req)
		return rec.Code
	}
	fmt.Println(send(body))
	fmt.Println(send(bytes.Replace(body, []byte("500"), []byte("900"), 1))) // tampered
	// Output:
	// got payment.captured pay_1 seq 3
	// 204
	// 401
}
