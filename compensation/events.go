package compensation

import (
	"encoding/json"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Event types of claims, sent to the merchant of the claimed payment like
// payment events.
const (
	EventOpened    = "claim.opened"
	EventInReview  = "claim.in_review"
	EventApproved  = "claim.approved"
	EventDenied    = "claim.denied"
	EventRecovered = "claim.recovered" // a merchant's debt on the claim was (partly) collected later
)

// eventData is what a claim event says: ids, amounts and codes, never the
// user's words or identity.
type eventData struct {
	Claim        string `json:"claim"`
	Payment      string `json:"payment"`
	Kind         string `json:"kind"`
	Status       string `json:"status"`
	Amount       int64  `json:"amount"`
	Asset        string `json:"asset"`
	DecisionCode string `json:"decision_code,omitempty"`
	DecidedBy    string `json:"decided_by,omitempty"`
	Recovered    int64  `json:"recovered"`
	Debt         int64  `json:"debt"`
}

// emit adds the event of a change to c, whose Version is the version the
// unit writes, with its webhook delivery to m. (A claim that moves money
// also changes its payment, whose event wakes the user's pages.)
func (s *Service) emit(u *store.Unit, m store.StoredMerchant, c store.Claim, typ string) {
	data, err := json.Marshal(eventData{Claim: c.ID, Payment: c.PaymentID, Kind: c.Kind, Status: c.Status,
		Amount: c.Amount, Asset: c.Asset, DecisionCode: c.DecisionCode, DecidedBy: c.DecidedBy,
		Recovered: c.Recovered, Debt: c.Debt})
	if err != nil {
		panic("compensation: encode event: " + err.Error()) // plain structs always encode
	}
	now := s.now()
	e := store.Event{ID: agentpay.NewID("evt"), ObjectID: c.ID, MerchantID: c.MerchantID, UserID: c.UserID, Type: typ,
		Seq: c.Version, Data: string(data), CreatedAt: now.UnixMicro()}
	u.Rows = append(u.Rows, e.Row())
	if s.Outbox != nil {
		s.Outbox(u, e, m, now)
	}
}

// change adds to u the write of c over the row as read (c.Version) and
// its event; c.Version becomes the version written.
func (s *Service) change(u *store.Unit, m store.StoredMerchant, c *store.Claim, typ string) {
	c.UpdatedAt = s.now().UnixMicro()
	u.Updates = append(u.Updates, store.ClaimUpdate(*c))
	c.Version++
	s.emit(u, m, *c, typ)
}
