package web

import (
	"context"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/compensation"
	"github.com/agentpay/agentpay/store"
)

// AccountTipsMax is how many of the newest tips the account page lists.
const AccountTipsMax = 20

// tipRow is one of the user's tips as the account page lists it. Note is
// the agent's words, shown as unverified.
type tipRow struct {
	PaymentID, URL, Merchant string
	Amount, Note, Created    string
	Status, StatusLabel      string
	AutoApproved             bool // given within the user's tips mandate, without a tap
	// Claimable offers "Report a problem" in the tips list too, on the
	// same terms as in the payments list: a tip is a payment.
	Claimable bool
}

// accountTips reads the user's newest tips with their merchants' names.
// claims are the user's claims the page lists (newest first): a tip with
// one that is not denied cannot be claimed again.
func (h *Handler) accountTips(ctx context.Context, userID string, claims []claimRow) ([]tipRow, error) {
	if h.Payments == nil {
		return nil, nil
	}
	list, err := h.Payments.DB.Tips(ctx, store.TipPage{Owner: "user_id", ID: userID, Limit: AccountTipsMax})
	if err != nil {
		return nil, err
	}
	claimed := map[string]string{}
	for i := len(claims) - 1; i >= 0; i-- { // oldest first: the newest claim of a payment wins
		claimed[claims[i].PaymentID] = claims[i].Status
	}
	names := map[string]string{}
	rows := make([]tipRow, 0, len(list))
	for _, t := range list {
		name, ok := names[t.MerchantID]
		if !ok {
			m, err := h.Payments.DB.Merchant(ctx, t.MerchantID)
			if err != nil {
				return nil, err
			}
			name, names[t.MerchantID] = m.Name, m.Name
		}
		row := tipRow{PaymentID: t.PaymentID, URL: "/pay/" + t.PaymentID, Merchant: name,
			Amount: money(t.Amount, t.Asset), Note: t.Note, Created: formatTime(t.CreatedAt), Status: string(t.Status),
			StatusLabel: statusLabel(t.Status), AutoApproved: t.AutoApproved}
		if t.Status == agentpay.PaymentCaptured || t.Status == agentpay.PaymentPartiallyRefunded {
			st, ok := claimed[t.PaymentID]
			row.Claimable = !ok || st == compensation.StatusDenied
		}
		rows = append(rows, row)
	}
	return rows, nil
}
