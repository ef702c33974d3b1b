package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/agentpay/agentpay"
)

// HTTPDriver drives a running server through the operator API: each
// transfer is one POST /v1/transfers with its own Idempotency-Key.
type HTTPDriver struct {
	BaseURL string
	Token   string
	Client  *http.Client
}

// NewHTTPDriver returns a driver keeping up to conns connections open.
func NewHTTPDriver(baseURL, token string, conns int) *HTTPDriver {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &HTTPDriver{BaseURL: baseURL, Token: token, Client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

func (h *HTTPDriver) do(ctx context.Context, method, path, key string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.BaseURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+h.Token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Type, Code, Message, Param string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
			return &agentpay.Error{Kind: agentpay.ECONFLICT, Code: e.Error.Code, Message: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, e.Error.Message), Param: e.Error.Param}
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// CreateAccount implements Driver.
func (h *HTTPDriver) CreateAccount(ctx context.Context, kind agentpay.AccountKind, asset string) (string, error) {
	var out struct{ ID string }
	err := h.do(ctx, "POST", "/v1/accounts", agentpay.NewID("idem"), map[string]string{"kind": string(kind), "asset": asset}, &out)
	return out.ID, err
}

// TopUp implements Driver.
func (h *HTTPDriver) TopUp(ctx context.Context, transferID, accountID string, amount int64, _ string) error {
	return h.do(ctx, "POST", "/v1/accounts/"+accountID+"/topups", transferID, map[string]any{"id": transferID, "amount": amount}, nil)
}

// Transfer implements Driver.
func (h *HTTPDriver) Transfer(ctx context.Context, t agentpay.Transfer) error {
	return h.do(ctx, "POST", "/v1/transfers", t.ID, map[string]any{"id": t.ID, "debit_account_id": t.DebitAccountID,
		"credit_account_id": t.CreditAccountID, "amount": t.Amount, "asset": t.Asset, "code": t.Code}, nil)
}

// Check implements Driver.
func (h *HTTPDriver) Check(ctx context.Context) error {
	var out struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := h.do(ctx, "GET", "/v1/ledger/check", "", nil, &out); err != nil {
		return err
	}
	if !out.OK {
		return fmt.Errorf("%s", out.Error)
	}
	return nil
}
