package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/compensation"
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
	// AccountClaimsMax is how many of the newest claims the account page
	// lists.
	AccountClaimsMax = 50
	// AccountMandatesMax is how many of the newest mandates the account
	// page lists.
	AccountMandatesMax = 50
)

func (h *Handler) accountPaymentRoutes() {
	h.handle("GET /account/events", h.accountEvents)
	h.handle("POST /account/topup", h.topUp)
	h.handle("POST /account/claims", h.fileClaim)
}

// paymentRow is a payment in the account page's list.
type paymentRow struct {
	ID, Merchant, Total     string
	Status, StatusLabel     string
	Created                 string
	NeedsYou                bool // waiting for the user's approval
	Version                 int64
	Asset, Description, URL string
	// Claimable offers "Report a problem": the payment is captured and
	// has no claim that is not denied.
	Claimable bool
}

// walletView is one of the user's wallets.
type walletView struct {
	Asset, ID                string
	Balance, Held, Available string
}

// accountPayments is the payments part of the account page.
type accountPayments struct {
	Enabled    bool // the handler has a payments service
	Payments   []paymentRow
	Wallets    []walletView
	DevTopUp   bool
	Claims     []claimRow
	ClaimKinds []claimKind
	Mandates   []mandateRow
}

// mandateRow is one of the user's mandates in the account page's list,
// with the buttons its status allows.
type mandateRow struct {
	ID, URL, Payee, Terms, Created string
	Status, StatusLabel            string
	CanPause, CanResume, CanRevoke bool
}

// claimRow is one of the user's claims as the account page lists it.
type claimRow struct {
	ID, PaymentID, PaymentURL, Merchant string
	Kind, Amount, Filed, Decided        string
	Status, StatusLabel                 string
	Decision                            string // why, in words, once decided or routed
	Note                                string // the operator's note
}

// claimKind is a choice of the "Report a problem" form.
type claimKind struct{ Value, Label string }

// claimKinds are the claim kinds in the user's words.
var claimKinds = []claimKind{
	{compensation.KindUnauthorized, "I never approved this payment"},
	{compensation.KindAgentError, "What was bought differs from what I approved"},
	{compensation.KindNotReceived, "I did not receive it"},
	{compensation.KindDuplicate, "I was charged twice"},
}

// claimStatusLabels say where a claim is.
var claimStatusLabels = map[string]string{
	compensation.StatusOpen:     "filed",
	compensation.StatusInReview: "being reviewed",
	compensation.StatusApproved: "approved: refunded to your wallet",
	compensation.StatusDenied:   "denied",
}

// claimDecisions explain decision codes to the user.
var claimDecisions = map[string]string{
	compensation.CodeNoValidApproval:     "No passkey approval of yours is on record for this payment.",
	compensation.CodeDiffersFromApproval: "What was charged differs from what you approved.",
	compensation.CodeDuplicatePayment:    "An identical payment was charged minutes before.",
	compensation.CodeApprovalOnRecord:    "Your passkey approved exactly this payment, so a person reviews your claim.",
	compensation.CodeNoDuplicateFound:    "No identical payment was charged just before, so a person reviews your claim.",
	compensation.CodeMerchantDispute:     "A person reviews your claim with the merchant.",
	compensation.CodeOperatorApproved:    "Approved after review.",
	compensation.CodeOperatorDenied:      "Denied after review.",
	compensation.CodeAlreadyRefunded:     "The merchant refunded the payment in full meanwhile.",
}

// claims is the claims service of the pages, over the same store,
// payments and passkeys.
func (h *Handler) claims() *compensation.Service {
	return &compensation.Service{DB: h.Payments.DB, Payments: h.Payments, Passkeys: h.Passkeys, Outbox: h.Payments.Outbox,
		Now: h.Payments.Now}
}

// userClaims reads the user's newest claims, with the merchant names
// known from their payments (names) or read.
func (h *Handler) userClaims(ctx context.Context, userID string, names map[string]string) ([]claimRow, error) {
	list, err := h.Payments.DB.Claims(ctx, store.ClaimPage{Owner: "user_id", ID: userID, Limit: AccountClaimsMax})
	if err != nil {
		return nil, err
	}
	rows := make([]claimRow, 0, len(list))
	for _, c := range list {
		name, ok := names[c.MerchantID]
		if !ok {
			m, err := h.Payments.DB.Merchant(ctx, c.MerchantID)
			if err != nil {
				return nil, err
			}
			name, names[c.MerchantID] = m.Name, m.Name
		}
		kind := c.Kind
		for _, k := range claimKinds {
			if k.Value == c.Kind {
				kind = k.Label
			}
		}
		label := claimStatusLabels[c.Status]
		if label == "" {
			label = c.Status
		}
		rows = append(rows, claimRow{ID: c.ID, PaymentID: c.PaymentID, PaymentURL: "/pay/" + c.PaymentID, Merchant: name,
			Kind: kind, Amount: money(c.Amount, c.Asset), Filed: formatTime(c.CreatedAt), Decided: formatTime(c.DecidedAt),
			Status: c.Status, StatusLabel: label, Decision: claimDecisions[c.DecisionCode], Note: c.DecisionNote})
	}
	return rows, nil
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
	return h.paymentRows(ctx, list, map[string]string{}, nil)
}

// paymentRows renders payments for the account page; a payment with a
// claim in claimed (payment id → claim status) that is not denied cannot
// be claimed again.
func (h *Handler) paymentRows(ctx context.Context, list []agentpay.Payment, names map[string]string, claimed map[string]string) ([]paymentRow, error) {
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
		if p.Status == agentpay.PaymentCaptured || p.Status == agentpay.PaymentPartiallyRefunded {
			st, ok := claimed[p.ID]
			row.Claimable = !ok || st == compensation.StatusDenied
		}
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
	d := accountPayments{Enabled: h.Payments != nil, DevTopUp: h.DevTopUp, ClaimKinds: claimKinds}
	var err error
	if d.Enabled {
		names := map[string]string{}
		if d.Claims, err = h.userClaims(ctx, userID, names); err != nil {
			return d, err
		}
		claimed := map[string]string{}
		for i := len(d.Claims) - 1; i >= 0; i-- { // oldest first: the newest claim of a payment wins
			claimed[d.Claims[i].PaymentID] = d.Claims[i].Status
		}
		list, err := h.Payments.DB.Payments(ctx, store.PaymentPage{Owner: "user_id", ID: userID, Limit: AccountPaymentsMax})
		if err != nil {
			return d, err
		}
		if d.Payments, err = h.paymentRows(ctx, list, names, claimed); err != nil {
			return d, err
		}
		if d.Mandates, err = h.mandateRows(ctx, userID, names); err != nil {
			return d, err
		}
	}
	d.Wallets, err = h.wallets(ctx, userID)
	return d, err
}

// mandateRows reads the user's newest mandates.
func (h *Handler) mandateRows(ctx context.Context, userID string, names map[string]string) ([]mandateRow, error) {
	list, err := h.Payments.DB.Mandates(ctx, store.MandatePage{Owner: "user_id", ID: userID, Limit: AccountMandatesMax})
	if err != nil {
		return nil, err
	}
	rows := make([]mandateRow, 0, len(list))
	for _, m := range list {
		payee := categoryPayees(m.Categories)
		if m.MerchantID != "" {
			name, ok := names[m.MerchantID]
			if !ok {
				mer, err := h.Payments.DB.Merchant(ctx, m.MerchantID)
				if err != nil {
					return nil, err
				}
				name, names[m.MerchantID] = mer.Name, mer.Name
			}
			payee = name
		}
		rows = append(rows, mandateRow{ID: m.ID, URL: "/mandates/" + m.ID, Payee: payee, Created: formatTime(m.CreatedAt),
			Terms: MandateTerms(m.Asset, m.PerPaymentMax, m.Budget, m.Period), Status: string(m.Status),
			StatusLabel: mandateStatusLabel(m.Status), CanPause: m.Status == agentpay.MandateActive,
			CanResume: m.Status == agentpay.MandatePaused,
			CanRevoke: m.Status == agentpay.MandateActive || m.Status == agentpay.MandatePaused ||
				m.Status == agentpay.MandateRequiresApproval})
	}
	return rows, nil
}

// fileClaim is POST /account/claims (fields payment, kind, description):
// the "Report a problem" form. The claim is adjudicated at once; the page
// then says whether it was approved (the money is back in the wallet) or
// goes to review.
func (h *Handler) fileClaim(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postSession(w, r)
	if !ok {
		return
	}
	if h.Payments == nil {
		h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "route_not_found", "no payments here"))
		return
	}
	c, err := h.claims().File(r.Context(), compensation.FileRequest{UserID: sess.UserID,
		PaymentID: r.PostFormValue("payment"), Kind: r.PostFormValue("kind"),
		Description: strings.TrimSpace(r.PostFormValue("description"))})
	if err != nil {
		h.accountError(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/account?notice=claim_"+c.Status+"#claim-"+c.ID, http.StatusSeeOther)
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
