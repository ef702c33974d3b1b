package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestGarbageNeverServerError puts odd values into every field of every
// mutating route, one field at a time: the answer is a 2xx or a 4xx of the
// one error shape, never a 5xx, and the ledger still checks.
func TestGarbageNeverServerError(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		wallet := a.createAccount("user_wallet", "USD")
		merchant := a.createAccount("merchant", "USD")
		a.topUp(wallet, 1_000_000)
		pending := a.transfer(map[string]any{"id": newID("trf"), "type": "pending", "debit_account_id": wallet,
			"credit_account_id": merchant, "amount": 5, "asset": "USD"}).ID

		values := []string{
			`null`, `true`, `0`, `-1`, `1.5`, `1e400`, `-9223372036854775808`, `9223372036854775807`, `18446744073709551616`,
			`""`, `"\u0000"`, `"a\u0000b"`, `"é"`, `"\ud83d\ude00"`, `"` + strings.Repeat("x", 65) + `"`, `"` + strings.Repeat("y", 10000) + `"`,
			`" acc "`, `"../etc"`, `"%00"`, `"acc_funding_USD"`, `[]`, `{}`, `[1,2]`, `{"a":{"b":[null]}}`,
			`"USD"`, `"pending"`, `"post_pending"`, `"void_pending"`, `"debits_must_not_exceed_credits"`,
			fmt.Sprintf("%q", wallet), fmt.Sprintf("%q", merchant), fmt.Sprintf("%q", pending),
		}
		routes := []struct {
			path string
			base map[string]string // field -> JSON value
		}{
			{"/v1/transfers", map[string]string{"id": `"ID"`, "type": `"single"`, "debit_account_id": fmt.Sprintf("%q", wallet),
				"credit_account_id": fmt.Sprintf("%q", merchant), "amount": `1`, "asset": `"USD"`, "pending_id": `""`,
				"timeout_seconds": `0`, "reference": `"r"`, "code": `"c"`}},
			{"/v1/accounts", map[string]string{"kind": `"user_wallet"`, "asset": `"USD"`, "flags": `[]`, "owner_id": `"usr_1"`}},
			{"/v1/accounts/" + wallet + "/topups", map[string]string{"id": `"ID"`, "amount": `1`, "reference": `"r"`}},
			{"/v1/accounts/" + merchant + "/payouts", map[string]string{"id": `"ID"`, "amount": `1`, "reference": `"r"`}},
		}
		n := 0
		for _, route := range routes {
			for field := range route.base {
				for _, v := range values {
					var parts []string
					for k, base := range route.base {
						if k == field {
							base = v
						}
						if k == "id" && base == `"ID"` {
							n++
							base = fmt.Sprintf(`"g_%d"`, n)
						}
						parts = append(parts, fmt.Sprintf("%q:%s", k, base))
					}
					body := "{" + strings.Join(parts, ",") + "}"
					r := a.post(route.path, body)
					switch {
					case r.Status >= 500:
						t.Errorf("POST %s %s=%.40s: %v", route.path, field, v, r)
					case r.Status >= 400:
						var e struct{ Error struct{ Code string } }
						r.decode(t, &e)
						checkErrorShape(t, r, r.Status, e.Error.Code, paramOf(t, r))
					case r.Status != http.StatusCreated:
						t.Errorf("POST %s %s=%.40s: %v", route.path, field, v, r)
					}
				}
			}
		}
		a.checkLedger()
	})
}

// paramOf returns the param of an error response, for checks that accept
// whatever param the server named.
func paramOf(t *testing.T, r response) string {
	var e struct{ Error struct{ Param string } }
	r.decode(t, &e)
	return e.Error.Param
}
