package subscriptions

import (
	"context"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// A merchant's offer is a subscription no user has taken yet: the
// merchant sends its accept link to a customer, who signs in, accepts it
// (which proposes the mandate in their name, checked against their tier)
// and approves that mandate with their passkey, as for an agent's
// proposal. A merchant never names a user: it cannot subscribe anyone,
// and it learns who accepted only as the pseudonymous payer of the
// charges.

// PrepareOffer checks a merchant's offer (req.Grant zero) and returns it,
// offered until OfferTTL from now, with the unit that records it.
func (s *Service) PrepareOffer(ctx context.Context, req CreateRequest) (store.Subscription, *store.Unit, error) {
	if req.Grant.ID != "" {
		return store.Subscription{}, nil, agentpay.ParamErrorf("grant", "invalid_id", "a merchant's offer has no grant")
	}
	sub, err := s.proposal(req)
	if err != nil {
		return sub, nil, err
	}
	mer, err := s.Payments.Payee(ctx, req.MerchantID, req.Asset)
	if err != nil {
		return sub, nil, err
	}
	loc, err := agentpay.LoadLocation("time_zone", sub.TimeZone)
	if err != nil {
		return sub, nil, err
	}
	// The schedule as it would be if accepted now: an end before the
	// first period is refused at once, not when a user accepts.
	trial := sub
	if err := s.begin(&trial, loc); err != nil {
		return sub, nil, err
	}
	sub.Status, sub.NextAttemptAt = Offered, s.now().Add(OfferTTL).UnixMicro()
	unit := &store.Unit{}
	s.emit(unit, mer, &sub, "subscription.offered", eventExtra{})
	unit.Rows = append(unit.Rows, store.SubscriptionRow(sub))
	return sub, unit, nil
}

// PrepareAccept takes the offer id for userID: it becomes userID's
// subscription, incomplete, scheduled from now, with its mandate proposed
// for userID to approve with a passkey. An offer userID accepted before
// comes back as it is, with no unit; one another user took, or that
// expired or was withdrawn, cannot be accepted.
func (s *Service) PrepareAccept(ctx context.Context, userID, id string) (store.Subscription, *store.Unit, error) {
	sub, err := s.owned(ctx, id, func(store.Subscription) bool { return true })
	if err != nil {
		return sub, nil, err
	}
	switch {
	case sub.UserID == userID && sub.GrantID == "" && sub.Status != Offered:
		return sub, nil, nil
	case sub.UserID != "":
		// Another user's: the offer page says no more than that.
		return store.Subscription{}, nil, agentpay.Errorf(agentpay.ECONFLICT, "offer_taken", "this offer was accepted already")
	case sub.Status != Offered:
		return store.Subscription{}, nil, agentpay.Errorf(agentpay.ECONFLICT, "offer_"+sub.Status, "this offer is %s", sub.Status)
	case s.now().UnixMicro() >= sub.NextAttemptAt:
		return store.Subscription{}, nil, agentpay.Errorf(agentpay.ECONFLICT, "offer_expired", "this offer has expired")
	}
	mer, err := s.Payments.Payee(ctx, sub.MerchantID, sub.Asset)
	if err != nil {
		return sub, nil, err
	}
	sub.UserID = userID
	return s.propose(ctx, sub, mer, true, "subscription.accepted")
}

// expireOffer cancels an offer nobody accepted in time.
func (s *Service) expireOffer(ctx context.Context, sub store.Subscription) error {
	sub.Status, sub.CanceledBy, sub.DeclineCode = Canceled, "system", "offer_expired"
	u, err := s.update(ctx, &sub, eventExtra{DeclineCode: sub.DeclineCode}, "subscription.canceled")
	if err != nil {
		return err
	}
	return s.DB.Committer.Submit(ctx, u).Err
}
