package x402

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay/agentauth"
)

// testNow is the clock of every test signer and verifier.
var testNow = time.Unix(1_800_000_000, 0).UTC()

const testNetwork = "agentpay:test"

type testKey struct {
	private ed25519.PrivateKey
	public  ed25519.PublicKey
	id      string
}

// newTestKey derives a key pair from one seed byte.
func newTestKey(seed byte) testKey {
	private := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	public := private.Public().(ed25519.PublicKey)
	return testKey{private: private, public: public, id: agentauth.Thumbprint(public)}
}

var (
	keyA = newTestKey(1)
	keyB = newTestKey(2)
)

// testRequirements prices something at amount USDC minor units.
func testRequirements(scheme, amount string) PaymentRequirements {
	return PaymentRequirements{
		Scheme:            scheme,
		Network:           testNetwork,
		Amount:            amount,
		Asset:             "USDC",
		PayTo:             "mer_01jd5x8m2v6q0c9k7r3t4w5y6z",
		MaxTimeoutSeconds: 60,
	}
}

// testAuthorization is a valid authorization by keyA matching
// testRequirements(scheme, value) for resource.
func testAuthorization(scheme, value, resource string) Authorization {
	return Authorization{
		Scheme:      scheme,
		Network:     testNetwork,
		Asset:       "USDC",
		From:        keyA.id,
		To:          "mer_01jd5x8m2v6q0c9k7r3t4w5y6z",
		Value:       value,
		Resource:    resource,
		ValidAfter:  strconv.FormatInt(testNow.Add(-30*time.Second).Unix(), 10),
		ValidBefore: strconv.FormatInt(testNow.Add(60*time.Second).Unix(), 10),
		Nonce:       "0x" + "ab" + string(bytes.Repeat([]byte("01"), 31)),
	}
}

// signedRequest returns a facilitator request paying req for resource with
// a signed by key.
func signedRequest(t testing.TB, req PaymentRequirements, a Authorization, key ed25519.PrivateKey, resource string) *FacilitatorRequest {
	t.Helper()
	payload, err := NewLedgerPayload(&a, key)
	if err != nil {
		t.Fatal(err)
	}
	return &FacilitatorRequest{
		X402Version:         Version,
		PaymentPayload:      PaymentPayload{X402Version: Version, Resource: &ResourceInfo{URL: resource}, Accepted: req, Payload: payload},
		PaymentRequirements: req,
	}
}

// testKeys looks up keyA and keyB.
func testKeys(_ context.Context, keyID string) (ed25519.PublicKey, error) {
	for _, k := range []testKey{keyA, keyB} {
		if k.id == keyID {
			return k.public, nil
		}
	}
	return nil, nil
}

func testVerifier() *LedgerVerifier {
	return &LedgerVerifier{Keys: testKeys, Now: func() time.Time { return testNow }}
}

// fakeFacilitator is an in-memory facilitator for the ledger scheme: it
// verifies with LedgerVerifier and settles each nonce once. Its failure
// switches make it refuse or fail on purpose.
type fakeFacilitator struct {
	mu       sync.Mutex
	verifier *LedgerVerifier
	nonces   map[[32]byte]bool
	verified []FacilitatorRequest
	settled  []FacilitatorRequest
	amounts  []int64

	verifyErr, settleErr       error
	refuseVerify, refuseSettle string
}

func newFakeFacilitator() *fakeFacilitator {
	return &fakeFacilitator{verifier: testVerifier(), nonces: map[[32]byte]bool{}}
}

var errFacilitatorDown = errors.New("facilitator unreachable")

func (f *fakeFacilitator) Verify(ctx context.Context, req *FacilitatorRequest) (*VerifyResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verified = append(f.verified, *req)
	if f.verifyErr != nil {
		return nil, f.verifyErr
	}
	if f.refuseVerify != "" {
		return &VerifyResponse{InvalidReason: f.refuseVerify}, nil
	}
	p, err := f.verifier.Verify(ctx, req)
	if err != nil {
		return &VerifyResponse{InvalidReason: ReasonOf(err, ReasonUnexpectedVerifyError)}, nil
	}
	return &VerifyResponse{IsValid: true, Payer: p.Payer}, nil
}

func (f *fakeFacilitator) Settle(ctx context.Context, req *FacilitatorRequest) (*SettleResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settled = append(f.settled, *req)
	if f.settleErr != nil {
		return nil, f.settleErr
	}
	network := req.PaymentRequirements.Network
	if f.refuseSettle != "" {
		return &SettleResponse{ErrorReason: f.refuseSettle, Network: network}, nil
	}
	p, err := f.verifier.VerifySettle(ctx, req)
	if err != nil {
		return &SettleResponse{ErrorReason: ReasonOf(err, ReasonUnexpectedSettleError), Network: network}, nil
	}
	if f.nonces[p.Nonce] {
		return &SettleResponse{ErrorReason: ReasonInvalidTransactionState, Network: network, Payer: p.Payer}, nil
	}
	f.nonces[p.Nonce] = true
	f.amounts = append(f.amounts, p.Amount)
	return &SettleResponse{
		Success:     true,
		Payer:       p.Payer,
		Transaction: "trf_" + strconv.Itoa(len(f.amounts)),
		Network:     network,
		Amount:      strconv.FormatInt(p.Amount, 10),
	}, nil
}

func (f *fakeFacilitator) Supported(context.Context) (*SupportedResponse, error) {
	return &SupportedResponse{
		Kinds: []SupportedKind{
			{X402Version: Version, Scheme: SchemeExact, Network: testNetwork},
			{X402Version: Version, Scheme: SchemeUpto, Network: testNetwork},
			{X402Version: VersionV1, Scheme: SchemeExact, Network: testNetwork},
		},
		Extensions: []string{},
		Signers:    map[string][]string{NetworkPattern: {"agentpay"}},
	}, nil
}

func (f *fakeFacilitator) counts() (verified, settled int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.verified), len(f.settled)
}

// mustJSON marshals v or fails the test.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantReason fails unless err is an *Error with the given reason.
func wantReason(t testing.TB, err error, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", reason)
	}
	if got := ReasonOf(err, "(not an *Error)"); got != reason {
		t.Fatalf("got reason %s (%v), want %s", got, err, reason)
	}
}
