package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// transferJSON is a transfer as the API shows it and takes it.
type transferJSON struct {
	Object          string `json:"object"`
	ID              string `json:"id"`
	Type            string `json:"type"`
	DebitAccountID  string `json:"debit_account_id"`
	CreditAccountID string `json:"credit_account_id"`
	Amount          int64  `json:"amount"`
	AmountFormatted string `json:"amount_formatted"`
	Asset           string `json:"asset"`
	PendingID       string `json:"pending_id,omitempty"`
	TimeoutSeconds  int64  `json:"timeout_seconds,omitempty"`
	ExpiresAt       string `json:"expires_at,omitempty"`
	PendingStatus   string `json:"pending_status,omitempty"`
	Reference       string `json:"reference,omitempty"`
	Code            string `json:"code,omitempty"`
	CreatedAt       string `json:"created_at"`
	Timestamp       int64  `json:"timestamp"`
}

func toTransferJSON(t agentpay.Transfer) transferJSON {
	formatted, _ := agentpay.FormatAmount(t.Amount, t.Asset)
	j := transferJSON{Object: "transfer", ID: t.ID, Type: t.Kind(), DebitAccountID: t.DebitAccountID, CreditAccountID: t.CreditAccountID,
		Amount: t.Amount, AmountFormatted: formatted, Asset: t.Asset, PendingID: t.PendingID, TimeoutSeconds: t.TimeoutSeconds,
		PendingStatus: string(t.PendingStatus), Reference: t.Reference, Code: t.Code, CreatedAt: timeString(t.Timestamp), Timestamp: t.Timestamp}
	if t.ExpiresAt != 0 {
		j.ExpiresAt = timeString(t.ExpiresAt)
	}
	return j
}

// transferRequest is one transfer in POST /v1/transfers.
type transferRequest struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	DebitAccountID  string `json:"debit_account_id"`
	CreditAccountID string `json:"credit_account_id"`
	Amount          int64  `json:"amount"`
	Asset           string `json:"asset"`
	PendingID       string `json:"pending_id"`
	TimeoutSeconds  int64  `json:"timeout_seconds"`
	Reference       string `json:"reference"`
	Code            string `json:"code"`
}

// createTransfersRequest is either one transfer or a linked group. The
// group's transfers are decoded one by one, so that an error names the index
// of the transfer it is about.
type createTransfersRequest struct {
	transferRequest
	Transfers []json.RawMessage `json:"transfers"`
}

func (t transferRequest) toTransfer(param string) (agentpay.Transfer, error) {
	var flags agentpay.TransferFlags
	switch t.Type {
	case "", "single":
	case "pending":
		flags = agentpay.TransferPending
	case "post_pending":
		flags = agentpay.TransferPostPending
	case "void_pending":
		flags = agentpay.TransferVoidPending
	default:
		return agentpay.Transfer{}, agentpay.ParamErrorf(param+"type", "invalid_type", "type must be single, pending, post_pending or void_pending")
	}
	if !agentpay.ValidID(t.ID) {
		return agentpay.Transfer{}, agentpay.ParamErrorf(param+"id", "invalid_id",
			"id is required: 1 to 64 letters, digits, '_' or '-', chosen by you so that a retry never moves money twice")
	}
	if t.Asset != "" {
		if err := agentpay.ValidateAssetCode(t.Asset); err != nil {
			return agentpay.Transfer{}, agentpay.ParamErrorf(param+"asset", "unknown_asset", "unknown asset %q", t.Asset)
		}
	}
	if t.Amount < 0 {
		return agentpay.Transfer{}, agentpay.ParamErrorf(param+"amount", "invalid_amount", "amount must be a positive number of minor units")
	}
	// Every id is stored (a rejection too) and ids are never anything but
	// ValidID. The ledger checks the accounts only of transfers that name
	// no pending transfer, so a post or void with, say, a NUL in an account
	// id reached PostgreSQL and came back as a 500.
	for _, f := range []struct{ name, value, code string }{
		{"debit_account_id", t.DebitAccountID, "invalid_account"},
		{"credit_account_id", t.CreditAccountID, "invalid_account"},
		{"pending_id", t.PendingID, "invalid_pending_id"},
	} {
		if f.value != "" && !agentpay.ValidID(f.value) {
			return agentpay.Transfer{}, agentpay.ParamErrorf(param+f.name, f.code, "%s must be 1 to 64 letters, digits, '_' or '-'", f.name)
		}
	}
	if err := checkText(param+"reference", t.Reference); err != nil {
		return agentpay.Transfer{}, err
	}
	if err := checkText(param+"code", t.Code); err != nil {
		return agentpay.Transfer{}, err
	}
	return agentpay.Transfer{ID: t.ID, Flags: flags, DebitAccountID: t.DebitAccountID, CreditAccountID: t.CreditAccountID,
		Amount: t.Amount, Asset: t.Asset, PendingID: t.PendingID, TimeoutSeconds: t.TimeoutSeconds, Reference: t.Reference, Code: t.Code}, nil
}

func (s *Server) createTransfers(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req createTransfersRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	if req.Transfers == nil {
		t, err := req.transferRequest.toTransfer("")
		if err != nil {
			return nil, nil, err
		}
		return &store.Unit{Transfers: []agentpay.Transfer{t}}, func(res store.Result) (int, any) {
			return http.StatusCreated, toTransferJSON(res.Transfers[0])
		}, nil
	}
	if req.transferRequest != (transferRequest{}) {
		return nil, nil, agentpay.ParamErrorf("transfers", "invalid_request", "send either one transfer or a \"transfers\" group, not both")
	}
	if len(req.Transfers) == 0 || len(req.Transfers) > GroupSizeMax {
		return nil, nil, agentpay.ParamErrorf("transfers", "invalid_group_size", "a linked group has 1 to %d transfers", GroupSizeMax)
	}
	group := make([]agentpay.Transfer, len(req.Transfers))
	seen := make(map[string]bool, len(req.Transfers))
	for i, raw := range req.Transfers {
		param := "transfers[" + strconv.Itoa(i) + "]."
		var tr transferRequest
		if err := decodeAt(raw, &tr, param); err != nil {
			return nil, nil, err
		}
		t, err := tr.toTransfer(param)
		if err != nil {
			return nil, nil, err
		}
		// The ledger takes a repeated id for a retry of the first, so the
		// group would answer 201 listing two transfers while moving money
		// once. Within one group a repeated id can only be a mistake.
		if seen[t.ID] {
			return nil, nil, agentpay.ParamErrorf(param+"id", "duplicate_id", "transfer id %s appears twice in the linked group", t.ID)
		}
		seen[t.ID] = true
		group[i] = t
	}
	return &store.Unit{Transfers: group}, func(res store.Result) (int, any) {
		data := make([]transferJSON, len(res.Transfers))
		for i, t := range res.Transfers {
			data[i] = toTransferJSON(t)
		}
		return http.StatusCreated, map[string]any{"object": "list", "data": data}
	}, nil
}

func (s *Server) getTransfer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !agentpay.ValidID(id) {
		// Cannot exist; and the database may fail on it (see pathAccount).
		s.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "transfer_not_found",
			"transfer not found: ids are 1 to 64 letters, digits, '_' or '-'"))
		return
	}
	t, err := s.DB.Transfer(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTransferJSON(t))
}

// moneyRequest is the body of a top-up or a payout.
type moneyRequest struct {
	ID        string `json:"id"`
	Amount    int64  `json:"amount"`
	Reference string `json:"reference"`
}

// topUp credits a wallet (or a fund) from the outside world.
func (s *Server) topUp(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	return s.external(r, body, "topup", []agentpay.AccountKind{agentpay.AccountUserWallet, agentpay.AccountProtectionFund, agentpay.AccountMerchantReserve})
}

// payout sends a merchant's (or the fees account's) money to the outside world.
func (s *Server) payout(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	return s.external(r, body, "payout", []agentpay.AccountKind{agentpay.AccountMerchant, agentpay.AccountFees})
}

// external moves money between an account and the funding account of its
// asset: in for a top-up, out for a payout.
func (s *Server) external(r *http.Request, body []byte, code string, kinds []agentpay.AccountKind) (*store.Unit, func(store.Result) (int, any), error) {
	var req moneyRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	if !agentpay.ValidID(req.ID) {
		return nil, nil, agentpay.ParamErrorf("id", "invalid_id", "id (the transfer id you choose) is required")
	}
	if req.Amount <= 0 {
		return nil, nil, agentpay.ParamErrorf("amount", "invalid_amount", "amount must be a positive number of minor units")
	}
	if err := checkText("reference", req.Reference); err != nil {
		return nil, nil, err
	}
	a, err := s.pathAccount(r)
	if err != nil {
		return nil, nil, err
	}
	allowed := false
	for _, k := range kinds {
		allowed = allowed || a.Kind == k
	}
	if !allowed {
		return nil, nil, agentpay.ParamErrorf("id", "invalid_account_kind", "a %s cannot take a %s", a.Kind, code)
	}
	funding, err := s.DB.EnsureSystemAccount(r.Context(), agentpay.AccountFunding, a.Asset)
	if err != nil {
		return nil, nil, err
	}
	t := agentpay.Transfer{ID: req.ID, DebitAccountID: funding, CreditAccountID: a.ID, Amount: req.Amount, Asset: a.Asset, Reference: req.Reference, Code: code}
	if code == "payout" {
		t.DebitAccountID, t.CreditAccountID = a.ID, funding
	}
	return &store.Unit{Transfers: []agentpay.Transfer{t}}, func(res store.Result) (int, any) {
		return http.StatusCreated, toTransferJSON(res.Transfers[0])
	}, nil
}

// checkText refuses free text the database cannot store: PostgreSQL text
// cannot hold NUL, so such a reference failed its whole batch (bisected, then
// a 500). SQLite could store it; the API refuses it on every engine alike.
func checkText(param, v string) error {
	if strings.IndexByte(v, 0) >= 0 {
		return agentpay.ParamErrorf(param, "invalid_text", "%s must not contain NUL characters", param)
	}
	return nil
}
