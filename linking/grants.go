package linking

import (
	"context"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

func revokeUpdate(g agentpay.Grant) store.Update {
	return store.Update{Table: store.GrantsTable, Key: g.ID, Version: g.Version, Set: []string{"status"},
		Values: []any{string(agentpay.GrantRevoked)}}
}

// Revoke revokes a grant of userID at once: the agent's next signed request
// is refused. The update is versioned; revoking a revoked grant is a no-op,
// and another user's grant is not_found.
func (s *Service) Revoke(ctx context.Context, grantID, userID string) error {
	g, err := s.DB.Grant(ctx, grantID)
	if err != nil {
		return err
	}
	if g.UserID != userID {
		return agentpay.Errorf(agentpay.ENOTFOUND, "grant_not_found", "grant %s not found", grantID)
	}
	if g.Status == agentpay.GrantRevoked {
		return nil
	}
	return s.DB.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{revokeUpdate(g)}}).Err
}

// RevokeAll revokes every active grant of userID at once, in one unit of
// versioned updates, and returns how many it revoked. A grant changed
// meanwhile fails the whole unit with version_conflict; call again.
func (s *Service) RevokeAll(ctx context.Context, userID string) (int, error) {
	grants, err := s.DB.ActiveGrantsByUser(ctx, userID)
	if err != nil || len(grants) == 0 {
		return 0, err
	}
	unit := &store.Unit{}
	for _, g := range grants {
		unit.Updates = append(unit.Updates, revokeUpdate(g))
	}
	if err := s.DB.Committer.Submit(ctx, unit).Err; err != nil {
		return 0, err
	}
	return len(grants), nil
}
