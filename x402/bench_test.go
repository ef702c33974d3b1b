package x402

import (
	"context"
	"testing"
)

// BenchmarkLedgerVerify measures what a facilitator spends per payment
// before touching the ledger: parsing the payload, checking it against the
// requirements and verifying the Ed25519 signature.
func BenchmarkLedgerVerify(b *testing.B) {
	req := signedRequest(b, testRequirements(SchemeExact, "1500"), testAuthorization(SchemeExact, "1500", testResource), keyA.private, testResource)
	v := testVerifier()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifySettle(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeFacilitatorRequest measures decoding a /settle body.
func BenchmarkDecodeFacilitatorRequest(b *testing.B) {
	req := signedRequest(b, testRequirements(SchemeExact, "1500"), testAuthorization(SchemeExact, "1500", testResource), keyA.private, testResource)
	body := mustJSON(b, req)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFacilitatorRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignAuthorization measures an agent signing a payment.
func BenchmarkSignAuthorization(b *testing.B) {
	a := testAuthorization(SchemeExact, "1500", testResource)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SignAuthorization(&a, keyA.private); err != nil {
			b.Fatal(err)
		}
	}
}
