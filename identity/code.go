package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Defaults of CodeVerifier.
const (
	CodeTTL             = 10 * time.Minute
	CodeAttemptsMax     = 5
	CodeChallengesPerHr = 5
	codeDigits          = 6
)

// CodeVerifier raises a user to tier 1 by a one-time code sent to their
// email address (or, without one, their phone number) through the
// Service's Notifier. Codes are six digits from crypto/rand, stored only as
// HMAC-SHA256 keyed with a per-challenge random salt, compared in constant
// time, valid for TTL, and good for MaxAttempts tries: the last wrong one
// locks the challenge. A user gets at most PerHour challenges an hour.
type CodeVerifier struct {
	Service     *Service
	TTL         time.Duration // 0: CodeTTL
	MaxAttempts int           // 0: CodeAttemptsMax
	PerHour     int           // 0: CodeChallengesPerHr
}

var _ Verifier = (*CodeVerifier)(nil)

// Tier returns agentpay.TierContact.
func (v *CodeVerifier) Tier() agentpay.Tier { return agentpay.TierContact }

func (v *CodeVerifier) flow() *flow {
	f := &flow{svc: v.Service, kind: kindCode, tier: agentpay.TierContact, ttl: v.TTL,
		maxAttempts: int64(v.MaxAttempts), maxPerHour: v.PerHour}
	if f.ttl <= 0 {
		f.ttl = CodeTTL
	}
	if f.maxAttempts <= 0 {
		f.maxAttempts = CodeAttemptsMax
	}
	if f.maxPerHour <= 0 {
		f.maxPerHour = CodeChallengesPerHr
	}
	return f
}

// codeHash returns hex HMAC-SHA256(salt, code).
func codeHash(salt, code string) string {
	m := hmac.New(sha256.New, []byte(salt))
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic("identity: crypto/rand failed: " + err.Error())
	}
	return fmt.Sprintf("%0*d", codeDigits, n.Int64())
}

// Start makes a challenge, sends its code and returns the challenge's id.
// If delivery fails the challenge stays (and counts towards the hourly
// limit) but cannot be answered without the code.
func (v *CodeVerifier) Start(ctx context.Context, userID string) (string, error) {
	if v.Service.Notifier == nil {
		return "", agentpay.Errorf(agentpay.EINTERNAL, "no_notifier", "no notifier is configured")
	}
	f := v.flow()
	code := newCode()
	c, u, err := f.start(ctx, userID, func(u agentpay.User, c *store.Challenge) error {
		c.Channel = ChannelEmail
		if u.Email == "" {
			c.Channel = ChannelSMS
		}
		c.Salt = randomHex(16)
		c.CodeHash = codeHash(c.Salt, code)
		return nil
	})
	if err != nil {
		return "", err
	}
	dest := u.Email
	if c.Channel == ChannelSMS {
		dest = u.Phone
	}
	msg := fmt.Sprintf("Your agentpay verification code is %s. It expires in %d minutes. Do not share it.", code, int(f.ttl/time.Minute))
	if err := v.Service.Notifier.Send(ctx, c.Channel, dest, msg); err != nil {
		return "", agentpay.Errorf(agentpay.EUNAVAILABLE, "delivery_failed", "the verification code could not be sent; try again later")
	}
	return c.ID, nil
}

// Confirm checks a code. Anything but the right code, malformed input
// included, consumes an attempt.
func (v *CodeVerifier) Confirm(ctx context.Context, userID, challengeID, code string) (agentpay.Tier, error) {
	return v.flow().confirm(ctx, userID, challengeID, func(c store.Challenge, u agentpay.User) (bool, store.Evidence) {
		want, err := hex.DecodeString(c.CodeHash)
		got, _ := hex.DecodeString(codeHash(c.Salt, code))
		if err != nil || len(code) != codeDigits || !hmac.Equal(want, got) {
			return false, store.Evidence{}
		}
		dest := u.Email
		if c.Channel == ChannelSMS {
			dest = u.Phone
		}
		salt := randomHex(16)
		return true, store.Evidence{EvidenceType: c.Channel, ReferenceHash: saltedHash(salt, dest), Salt: salt}
	})
}
