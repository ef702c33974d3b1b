package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// The account page's payments, wallet balances and development top-ups.
const (
	// AccountPaymentsMax is how many of the newest payments the account
	// page lists.
	AccountPaymentsMax = 50
	// TopUpMax bounds one development top-up, in major units of its asset.
	TopUpMax = "10000"
)

func (h *Handler) accountPaymentRoutes() {
	h.handle("GET /account/events", h.accountEvents)
	h.handle("POST /account/topup", h.topUp)
}

// paymentRow is a payment in the account page's list.
type paymentRow struct {
	ID, Merchant, Total     string
	Status, StatusLabel     string
	Created                 string
	NeedsYou                bool // waiting for the user's approval
	Version                 int64
	Asset, Description, URL string
}

// walletView is one of the user's wallets.
type walletView struct {
	Asset, ID                string
	Balance, Held, Available string
}

// accountPayments is the payments part of the account page.
type accountPayments struct {
	Enabled  bool // the handler has a payments service
	Payments []paymentRow
	Wallets  []walletView
	DevTopUp bool
}

// accountPaymentItem is a payment as the account page's event stream
// sends it.
type accountPaymentItem struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	Total       string `json:"total"`
	Version     int64  `json:"version"`
}

// userPayments reads the newest payments of a user with their merchants'
// names.
func (h *Handler) userPayments(ctx context.Context, userID string) ([]paymentRow, error) {
	list, err := h.Payments.DB.Payments(ctx, store.PaymentPage{Owner: "user_id", ID: userID, Limit: AccountPaymentsMax})
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	rows := make([]paymentRow, 0, len(list))
	for _, p := range list {
		name, ok := names[p.MerchantID]
		if !ok {
			m, err := h.Payments.DB.Merchant(ctx, p.MerchantID)
			if err != nil {
				return nil, err
			}
			name, names[p.MerchantID] = m.Name, m.Name
		}
		row := paymentRow{ID: p.ID, Merchant: name, Total: money(p.Totals.Total, p.Asset), Status: string(p.Status),
			StatusLabel: statusLabel(p.Status), Created: formatTime(p.CreatedAt), NeedsYou: p.Open(), Version: p.Version,
			Asset: p.Asset, Description: p.Description, URL: "/pay/" + p.ID}
		rows = append(rows, row)
	}
	return rows, nil
}

// wallets reads the user's wallets, one per asset they hold.
func (h *Handler) wallets(ctx context.Context, userID string) ([]walletView, error) {
	accounts, err := h.Identity.DB.AccountsByOwner(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []walletView
	for _, a := range accounts {
		if a.Kind != agentpay.AccountUserWallet {
			continue
		}
		out = append(out, walletView{Asset: a.Asset, ID: a.ID, Balance: money(a.Balance(), a.Asset),
			Held: money(a.DebitsPending, a.Asset), Available: money(a.Available(), a.Asset)})
	}
	return out, nil
}

// accountPaymentsOf fills the payments part of the account page.
func (h *Handler) accountPaymentsOf(ctx context.Context, userID string) (accountPayments, error) {
	d := accountPayments{Enabled: h.Payments != nil, DevTopUp: h.DevTopUp}
	var err error
	if d.Enabled {
		if d.Payments, err = h.userPayments(ctx, userID); err != nil {
			return d, err
		}
	}
	d.Wallets, err = h.wallets(ctx, userID)
	return d, err
}

// accountEvents streams the user's newest payments whenever one changes.
func (h *Handler) accountEvents(w http.ResponseWriter, r *http.Request) {
	sess, err := h.Sessions.Lookup(r.Context(), r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if h.Payments == nil {
		h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "route_not_found", "no payments here"))
		return
	}
	h.serveEvents(w, r, payments.UserTopic(sess.UserID), "payments", func(ctx context.Context) (any, error) {
		rows, err := h.userPayments(ctx, sess.UserID)
		if err != nil {
			return nil, err
		}
		items := make([]accountPaymentItem, len(rows))
		for i, p := range rows {
			items[i] = accountPaymentItem{ID: p.ID, Status: p.Status, StatusLabel: p.StatusLabel, Total: p.Total, Version: p.Version}
		}
		return items, nil
	})
}

// topUp is POST /account/topup: for development only (Handler.DevTopUp),
// it moves money from the funding account into the user's wallet, at most
// TopUpMax at a time.
func (h *Handler) topUp(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postSession(w, r)
	if !ok {
		return
	}
	if !h.DevTopUp {
		h.writeError(w, r, agentpay.Errorf(agentpay.EFORBIDDEN, "topups_disabled", "top-ups from this page are for development servers only"))
		return
	}
	ctx := r.Context()
	asset := strings.ToUpper(strings.TrimSpace(r.PostFormValue("asset")))
	if err := agentpay.ValidateAssetCode(asset); err != nil {
		h.accountError(w, r, sess, agentpay.ParamErrorf("asset", "unknown_asset", "choose an asset such as USD"))
		return
	}
	amount, err := agentpay.ParseAmount(strings.TrimSpace(r.PostFormValue("amount")), asset)
	max, maxErr := agentpay.ParseAmount(TopUpMax, asset)
	if err != nil || maxErr != nil || amount <= 0 || amount > max {
		h.accountError(w, r, sess, agentpay.ParamErrorf("amount", "invalid_amount",
			"enter an amount in %s of more than 0 and at most %s, such as 25.00", asset, money(max, asset)))
		return
	}
	if _, err := h.Identity.TopUp(ctx, sess.UserID, agentpay.Money{Amount: amount, Asset: asset}, "dev_topup:"+sess.UserID); err != nil {
		h.accountError(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/account?notice=topped_up", http.StatusSeeOther)
}
