package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/sdk"
)

// The demo's merchant, Corner Coffee: a small HTTP server of its own that
// publishes its menu (which the agent reads) and receives agentpay's
// webhooks, verifying each signature as any merchant should.

const (
	shopName    = "Corner Coffee"
	shopMCC     = "5814" // fast food restaurants, cafés among them
	shopCountry = "US"
	shopAsset   = "USD"
)

// menuItem is one line of the menu; UnitAmount is in minor units of the
// shop's asset.
type menuItem struct {
	Name       string `json:"name"`
	UnitAmount int64  `json:"unit_amount"`
}

// shopMenu is what GET /menu answers: the menu and the agentpay merchant id
// to pay, which a merchant publishes for agents.
type shopMenu struct {
	Merchant     string     `json:"merchant"`
	MerchantName string     `json:"merchant_name"`
	Asset        string     `json:"asset"`
	Items        []menuItem `json:"items"`
}

var cornerCoffeeMenu = []menuItem{
	{"Espresso", 280}, {"Flat white", 390}, {"Cappuccino", 360}, {"Croissant", 320}, {"Banana bread", 340},
}

// receivedWebhook is a webhook as the shop got it.
type receivedWebhook struct {
	Event    sdk.WebhookEvent
	Verified bool
	Refusal  string // why the signature was refused, if it was
}

type coffeeShop struct {
	url    string
	stop   func()
	notify chan struct{} // a webhook arrived

	mu       sync.Mutex
	merchant string // agentpay merchant id, once onboarded
	secret   string // the webhook secret, once the endpoint is set
	got      []receivedWebhook
}

// startCoffeeShop serves the shop on a loopback port.
func startCoffeeShop() (*coffeeShop, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &coffeeShop{url: "http://" + ln.Addr().String(), notify: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /menu", s.serveMenu)
	mux.HandleFunc("POST /webhooks", s.receiveWebhook)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	s.stop = func() { srv.Close(); <-done }
	return s, nil
}

func (s *coffeeShop) serveMenu(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m := shopMenu{Merchant: s.merchant, MerchantName: shopName, Asset: shopAsset, Items: cornerCoffeeMenu}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(m)
}

// receiveWebhook is the merchant's webhook endpoint: the raw body is
// verified against the secret before anything in it is believed, and each
// event id is kept once (deliveries are at least once).
func (s *coffeeShop) receiveWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	secret := s.secret
	s.mu.Unlock()
	rec := receivedWebhook{Verified: true}
	if err := (sdk.WebhookVerifier{Secrets: []string{secret}}).Verify(r.Header, body); err != nil {
		rec.Verified, rec.Refusal = false, err.Error()
	}
	if err := json.Unmarshal(body, &rec.Event); err != nil && rec.Verified {
		http.Error(w, "not a webhook event", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if !rec.Verified || !slices.ContainsFunc(s.got, func(g receivedWebhook) bool { return g.Verified && g.Event.ID == rec.Event.ID }) {
		s.got = append(s.got, rec)
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	if !rec.Verified {
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// received returns the webhooks received so far, in arrival order.
func (s *coffeeShop) received() []receivedWebhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]receivedWebhook(nil), s.got...)
}

// waitFor waits until a verified webhook of type typ about objectID
// arrived, or timeout.
func (s *coffeeShop) waitFor(ctx context.Context, objectID, typ string, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		for _, g := range s.received() {
			if g.Verified && g.Event.ObjectID == objectID && g.Event.Type == typ {
				return nil
			}
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%s received no verified %s webhook for %s within %s", shopName, typ, objectID, timeout)
		}
	}
}

// onboard makes the shop an agentpay merchant through the operator API, as
// an operator would, then sets its webhook endpoint through the merchant
// API with its new key, which answers the signing secret.
func (s *coffeeShop) onboard(ctx context.Context, base, operatorToken string) (*sdk.Merchant, string, error) {
	body, _ := json.Marshal(map[string]string{"name": shopName, "mcc": shopMCC, "country": shopCountry, "settlement_asset": shopAsset})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/merchants", bytes.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", agentpay.NewID("idem"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, "", fmt.Errorf("onboarding %s: %d %s", shopName, resp.StatusCode, bytes.TrimSpace(answer))
	}
	var onboarded struct {
		Merchant struct {
			ID string `json:"id"`
		} `json:"merchant"`
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(answer, &onboarded); err != nil {
		return nil, "", fmt.Errorf("onboarding %s: %w", shopName, err)
	}
	m := sdk.NewMerchant(base, onboarded.APIKey)
	var endpoint struct {
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	if err := m.Do(ctx, http.MethodPost, "/v1/merchant/webhook", map[string]string{"url": s.url + "/webhooks"}, &endpoint); err != nil {
		return nil, "", fmt.Errorf("setting %s's webhook endpoint: %w", shopName, err)
	}
	s.mu.Lock()
	s.merchant, s.secret = onboarded.Merchant.ID, endpoint.Secret
	s.mu.Unlock()
	return m, onboarded.Merchant.ID, nil
}
