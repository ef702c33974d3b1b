package linking

import (
	"context"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// revokeAttempts bounds how often Revoke and RevokeAll read again after a
// version conflict: a kill switch should not fail because an agent rotated
// its key at the same moment.
const revokeAttempts = 3

func revokeUpdate(g agentpay.Grant) store.Update {
	return store.Update{Table: store.GrantsTable, Key: g.ID, Version: g.Version, Set: []string{"status"},
		Values: []any{string(agentpay.GrantRevoked)}}
}

// UserGrants returns up to limit active grants of userID, newest first,
// with what each agent said about itself when it linked (unverified).
func (s *Service) UserGrants(ctx context.Context, userID string, limit int) ([]store.UserGrant, error) {
	return s.DB.UserGrants(ctx, userID, limit)
}

// PrepareRevoke returns the grant as it will be once revoked and the unit
// of work that revokes it, with the tips mandates it holds (see
// revokeTipsMandates), without submitting it: the API submits it with its
// idempotency record. The updates are versioned. A grant revoked already
// gives an empty unit; another user's grant, or an unknown one, is
// not_found (grant_not_found), the same answer, so ids cannot be probed.
func (s *Service) PrepareRevoke(ctx context.Context, grantID, userID string) (agentpay.Grant, *store.Unit, error) {
	notFound := agentpay.Errorf(agentpay.ENOTFOUND, "grant_not_found", "grant not found")
	if !agentpay.ValidID(grantID) {
		return agentpay.Grant{}, nil, notFound
	}
	g, err := s.DB.Grant(ctx, grantID)
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
		return agentpay.Grant{}, nil, notFound
	}
	if err != nil {
		return agentpay.Grant{}, nil, err
	}
	if g.UserID != userID {
		return agentpay.Grant{}, nil, notFound
	}
	unit := &store.Unit{}
	if g.Status != agentpay.GrantRevoked {
		unit.Updates = []store.Update{revokeUpdate(g)}
		if err := s.revokeTipsMandates(ctx, unit, g); err != nil {
			return agentpay.Grant{}, nil, err
		}
		g.Status, g.Version = agentpay.GrantRevoked, g.Version+1
	}
	return g, unit, nil
}

// Revoke revokes a grant of userID at once: the agent's next signed request
// is refused. Revoking a revoked grant is a no-op, and another user's grant
// is not_found.
func (s *Service) Revoke(ctx context.Context, grantID, userID string) error {
	var err error
	for range revokeAttempts {
		var unit *store.Unit
		if _, unit, err = s.PrepareRevoke(ctx, grantID, userID); err != nil {
			return err
		}
		if len(unit.Updates) == 0 {
			return nil
		}
		err = s.DB.Committer.Submit(ctx, unit).Err
		if agentpay.ErrorCode(err) != "version_conflict" {
			return err
		}
	}
	return err
}

// PrepareRevokeAll returns the active grants of userID as they will be once
// revoked and the one unit of versioned updates that revokes them all and
// their tips mandates, without submitting it. A grant or mandate changed
// meanwhile fails the whole unit with version_conflict, and nothing is
// revoked.
func (s *Service) PrepareRevokeAll(ctx context.Context, userID string) ([]agentpay.Grant, *store.Unit, error) {
	grants, err := s.DB.ActiveGrantsByUser(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	unit := &store.Unit{}
	for i, g := range grants {
		unit.Updates = append(unit.Updates, revokeUpdate(g))
		if err := s.revokeTipsMandates(ctx, unit, g); err != nil {
			return nil, nil, err
		}
		grants[i].Status, grants[i].Version = agentpay.GrantRevoked, g.Version+1
	}
	return grants, unit, nil
}

// RevokeAll revokes every active grant of userID at once, in one unit, and
// returns how many it revoked. After a version conflict (a grant changed
// meanwhile) it reads the grants again and retries, a few times.
func (s *Service) RevokeAll(ctx context.Context, userID string) (int, error) {
	var err error
	for range revokeAttempts {
		var grants []agentpay.Grant
		var unit *store.Unit
		if grants, unit, err = s.PrepareRevokeAll(ctx, userID); err != nil || len(grants) == 0 {
			return 0, err
		}
		err = s.DB.Committer.Submit(ctx, unit).Err
		if err == nil {
			return len(grants), nil
		}
		if agentpay.ErrorCode(err) != "version_conflict" {
			return 0, err
		}
	}
	return 0, err
}
