package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Verifier raises a user's tier through a challenge: Start makes one (and
// delivers whatever the user needs to answer it), Confirm checks the user's
// answer and, if it is right, raises the user's tier to Tier() — never
// lowering it — and returns the user's tier afterwards.
type Verifier interface {
	// Tier is the tier a successful confirmation grants.
	Tier() agentpay.Tier
	Start(ctx context.Context, userID string) (challengeID string, err error)
	Confirm(ctx context.Context, userID, challengeID, evidence string) (agentpay.Tier, error)
}

// Challenge statuses.
const (
	statusPending  = "pending"
	statusVerified = "verified"
	statusLocked   = "locked"
)

// Challenge kinds.
const (
	kindCode     = "code"
	kindDocument = "document"
)

// retries bounds the read-modify-write loops that lose a version race.
const retries = 20

// flow is what both verifiers share: rate-limited challenge creation, and
// attempt-counted, expiring, single-use confirmation.
type flow struct {
	svc         *Service
	kind        string
	tier        agentpay.Tier
	needTier    agentpay.Tier // the tier a user must have to start or confirm
	ttl         time.Duration
	maxAttempts int64
	maxPerHour  int
}

func (f *flow) checkTier(u agentpay.User) error {
	if u.Tier < f.needTier {
		return agentpay.Errorf(agentpay.EFORBIDDEN, "tier_required", "verify at tier %d first", f.needTier)
	}
	return nil
}

// start stores a new challenge made by mk for the user, unless the user has
// had maxPerHour challenges of this kind in the last hour. The unit also
// updates the user's verify_started_at at the version read, so that
// concurrent starts are serialized and cannot together pass the limit.
func (f *flow) start(ctx context.Context, userID string, mk func(u agentpay.User, c *store.Challenge) error) (store.Challenge, agentpay.User, error) {
	for range retries {
		u, err := f.svc.DB.User(ctx, userID)
		if err != nil {
			return store.Challenge{}, agentpay.User{}, err
		}
		if err := f.checkTier(u.User); err != nil {
			return store.Challenge{}, agentpay.User{}, err
		}
		now := f.svc.now()
		n, err := f.svc.DB.CountChallenges(ctx, userID, f.kind, now.Add(-time.Hour).UnixMicro())
		if err != nil {
			return store.Challenge{}, agentpay.User{}, err
		}
		if n >= f.maxPerHour {
			return store.Challenge{}, agentpay.User{}, agentpay.Errorf(agentpay.EFORBIDDEN, "verification_rate_limited",
				"at most %d verification challenges an hour; try again later", f.maxPerHour)
		}
		c := store.Challenge{ID: agentpay.NewID("vch"), UserID: userID, Kind: f.kind, Status: statusPending,
			ExpiresAt: now.Add(f.ttl).UnixMicro(), CreatedAt: now.UnixMicro(), Version: 1}
		if err := mk(u.User, &c); err != nil {
			return store.Challenge{}, agentpay.User{}, err
		}
		res := f.svc.DB.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{c.Row()},
			Updates: []store.Update{{Table: store.UsersTable, Key: userID, Version: u.Version,
				Set: []string{"verify_started_at"}, Values: []any{now.UnixMicro()}}}})
		if agentpay.ErrorCode(res.Err) == "version_conflict" {
			continue
		}
		return c, u.User, res.Err
	}
	return store.Challenge{}, agentpay.User{}, agentpay.Errorf(agentpay.EUNAVAILABLE, "busy", "too many concurrent changes to this user; retry")
}

// confirm checks an answer to a challenge. check reports whether the answer
// is right and, if so, the evidence to record (ID, Tier and times are
// filled in here). A wrong answer consumes an attempt; the last allowed
// wrong attempt locks the challenge. A right answer marks the challenge
// verified (so it cannot be used again), records the evidence and raises
// the user's tier, all in one unit.
func (f *flow) confirm(ctx context.Context, userID, challengeID string, check func(c store.Challenge, u agentpay.User) (bool, store.Evidence)) (agentpay.Tier, error) {
	notFound := agentpay.Errorf(agentpay.ENOTFOUND, "challenge_not_found", "verification challenge not found")
	if !agentpay.ValidID(challengeID) || !agentpay.ValidID(userID) {
		return 0, notFound
	}
	for range retries {
		c, err := f.svc.DB.Challenge(ctx, challengeID)
		if agentpay.ErrorKind(err) == agentpay.ENOTFOUND || err == nil && (c.UserID != userID || c.Kind != f.kind) {
			return 0, notFound
		}
		if err != nil {
			return 0, err
		}
		switch {
		case c.Status == statusVerified:
			return 0, agentpay.Errorf(agentpay.ECONFLICT, "challenge_used", "this verification challenge was already used")
		case c.Status == statusLocked:
			return 0, agentpay.Errorf(agentpay.EFORBIDDEN, "challenge_locked", "too many wrong attempts; start a new verification")
		case f.svc.now().UnixMicro() >= c.ExpiresAt:
			return 0, agentpay.Errorf(agentpay.ECONFLICT, "challenge_expired", "this verification challenge expired; start a new one")
		}
		u, err := f.svc.DB.User(ctx, userID)
		if err != nil {
			return 0, err
		}
		if err := f.checkTier(u.User); err != nil {
			return 0, err
		}
		ok, ev := check(c, u.User)
		attempts := c.Attempts + 1
		unit := &store.Unit{}
		var answer error
		if !ok {
			status := statusPending
			answer = agentpay.Errorf(agentpay.EFORBIDDEN, "challenge_failed", "wrong answer; %d attempts left", f.maxAttempts-attempts)
			if attempts >= f.maxAttempts {
				status = statusLocked
				answer = agentpay.Errorf(agentpay.EFORBIDDEN, "challenge_locked", "too many wrong attempts; start a new verification")
			}
			unit.Updates = []store.Update{{Table: store.ChallengesTable, Key: c.ID, Version: c.Version,
				Set: []string{"attempts", "status"}, Values: []any{attempts, status}}}
		} else {
			now := f.svc.now().UnixMicro()
			unit.Updates = []store.Update{{Table: store.ChallengesTable, Key: c.ID, Version: c.Version,
				Set: []string{"attempts", "status"}, Values: []any{attempts, statusVerified}}}
			tier := max(u.Tier, f.tier)
			if tier != u.Tier {
				unit.Updates = append(unit.Updates, store.Update{Table: store.UsersTable, Key: userID, Version: u.Version,
					Set: []string{"tier"}, Values: []any{int64(tier)}})
			}
			ev.ID, ev.UserID, ev.ChallengeID, ev.Kind, ev.Tier, ev.CreatedAt = agentpay.NewID("vev"), userID, c.ID, f.kind, f.tier, now
			unit.Rows = []store.Row{ev.Row()}
			u.Tier = tier
		}
		res := f.svc.DB.Committer.Submit(ctx, unit)
		if agentpay.ErrorCode(res.Err) == "version_conflict" {
			continue
		}
		if res.Err != nil {
			return 0, res.Err
		}
		if answer != nil {
			return 0, answer
		}
		return u.Tier, nil
	}
	return 0, agentpay.Errorf(agentpay.EUNAVAILABLE, "busy", "too many concurrent changes to this verification; retry")
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("identity: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// saltedHash returns hex SHA-256 over salt and s: for references kept as
// evidence, which are compared only by whoever holds the original.
func saltedHash(salt, s string) string {
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}
