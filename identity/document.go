package identity

import (
	"context"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Defaults and limits of DocumentVerifier.
const (
	DocumentTTL              = time.Hour
	DocumentAttemptsMax      = 5
	DocumentChallengesPerHr  = 3
	DocumentReferenceLenMax  = 200
	documentNumberLengthMax  = 64
	documentNumberLengthMin  = 4
	documentReferenceExample = "passport:X1234567"
)

// DocumentTypes are the document types a reference may name.
var DocumentTypes = []string{"passport", "id_card", "driving_licence", "residence_permit"}

// DocumentVerifier raises a user from tier 1 to tier 2 on an identity
// document. It is a DEVELOPMENT stand-in for a real document check (a KYC
// provider): it enforces the same flow — tier 1 first, a challenge that
// expires, is attempt-limited and single-use — and records the evidence
// (document type, a salted hash of the reference, the time), but it trusts
// the reference it is given. Never use it where tier 2 must mean anything.
type DocumentVerifier struct {
	Service     *Service
	TTL         time.Duration // 0: DocumentTTL
	MaxAttempts int           // 0: DocumentAttemptsMax
	PerHour     int           // 0: DocumentChallengesPerHr
}

var _ Verifier = (*DocumentVerifier)(nil)

// Tier returns agentpay.TierDocument.
func (v *DocumentVerifier) Tier() agentpay.Tier { return agentpay.TierDocument }

func (v *DocumentVerifier) flow() *flow {
	f := &flow{svc: v.Service, kind: kindDocument, tier: agentpay.TierDocument, needTier: agentpay.TierContact,
		ttl: v.TTL, maxAttempts: int64(v.MaxAttempts), maxPerHour: v.PerHour}
	if f.ttl <= 0 {
		f.ttl = DocumentTTL
	}
	if f.maxAttempts <= 0 {
		f.maxAttempts = DocumentAttemptsMax
	}
	if f.maxPerHour <= 0 {
		f.maxPerHour = DocumentChallengesPerHr
	}
	return f
}

// Start makes a challenge for a user at tier 1 or above.
func (v *DocumentVerifier) Start(ctx context.Context, userID string) (string, error) {
	c, _, err := v.flow().start(ctx, userID, func(agentpay.User, *store.Challenge) error { return nil })
	return c.ID, err
}

// ParseDocumentReference splits a reference such as "passport:X1234567"
// into its type (one of DocumentTypes) and number (4 to 64 ASCII letters,
// digits and '-'), at most DocumentReferenceLenMax bytes in all.
func ParseDocumentReference(ref string) (docType, number string, err error) {
	bad := agentpay.ParamErrorf("document", "invalid_document",
		"document must be a type (%s), a colon and the document number, e.g. %q", strings.Join(DocumentTypes, ", "), documentReferenceExample)
	if len(ref) > DocumentReferenceLenMax {
		return "", "", bad
	}
	docType, number, ok := strings.Cut(ref, ":")
	if !ok || len(number) < documentNumberLengthMin || len(number) > documentNumberLengthMax {
		return "", "", bad
	}
	known := false
	for _, t := range DocumentTypes {
		known = known || t == docType
	}
	if !known {
		return "", "", bad
	}
	for i := 0; i < len(number); i++ {
		c := number[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return "", "", bad
		}
	}
	return docType, number, nil
}

// Confirm records the document reference and raises the user to tier 2. A
// malformed reference is invalid and consumes no attempt (nothing was
// checked); in this development verifier any well-formed reference passes.
func (v *DocumentVerifier) Confirm(ctx context.Context, userID, challengeID, reference string) (agentpay.Tier, error) {
	docType, number, err := ParseDocumentReference(reference)
	if err != nil {
		return 0, err
	}
	return v.flow().confirm(ctx, userID, challengeID, func(store.Challenge, agentpay.User) (bool, store.Evidence) {
		salt := randomHex(16)
		return true, store.Evidence{EvidenceType: docType, ReferenceHash: saltedHash(salt, strings.ToUpper(number)), Salt: salt}
	})
}
