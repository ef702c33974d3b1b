package web

import (
	"context"

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
}

// accountTips reads the user's newest tips with their merchants' names. A
// tip is a payment, so the payments list above holds it too, with "Report a
// problem" once it is captured; this list says which payments were tips.
func (h *Handler) accountTips(ctx context.Context, userID string) ([]tipRow, error) {
	if h.Payments == nil {
		return nil, nil
	}
	list, err := h.Payments.DB.Tips(ctx, store.TipPage{Owner: "user_id", ID: userID, Limit: AccountTipsMax})
	if err != nil {
		return nil, err
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
		rows = append(rows, tipRow{PaymentID: t.PaymentID, URL: "/pay/" + t.PaymentID, Merchant: name,
			Amount: money(t.Amount, t.Asset), Note: t.Note, Created: formatTime(t.CreatedAt), Status: string(t.Status),
			StatusLabel: statusLabel(t.Status), AutoApproved: t.AutoApproved})
	}
	return rows, nil
}
