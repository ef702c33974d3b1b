package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestLinkedGroup: a group applies whole or not at all, and its error names
// the failing transfer by index.
func TestLinkedGroup(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		wallet := a.createAccount("user_wallet", "USD")
		merchant := a.createAccount("merchant", "USD")
		fees := a.createAccount("fees", "USD")
		a.topUp(wallet, 1000)
		leg := func(id string, from, to string, amount string) string {
			return fmt.Sprintf(`{"id":%q,"debit_account_id":%q,"credit_account_id":%q,"amount":%s,"asset":"USD"}`, id, from, to, amount)
		}
		group := func(legs ...string) string { return `{"transfers":[` + strings.Join(legs, ",") + `]}` }
		watched := []string{wallet, merchant, fees}

		for _, c := range []struct {
			name, body    string
			status        int
			code, param   string
			mustNotExists []string
		}{
			{"second leg overdraws", group(leg("g1a", wallet, merchant, "300"), leg("g1b", wallet, merchant, "800")),
				409, "exceeds_credits", "transfers[1].amount", []string{"g1a", "g1b"}},
			{"third leg overdraws the merchant", group(leg("g2a", wallet, merchant, "300"), leg("g2b", merchant, fees, "10"), leg("g2c", merchant, fees, "291")),
				409, "exceeds_credits", "transfers[2].amount", []string{"g2a", "g2b", "g2c"}},
			{"unknown account in second leg", group(leg("g3a", wallet, merchant, "1"), leg("g3b", wallet, "acc_nope", "1")),
				404, "credit_account_not_found", "transfers[1].credit_account_id", []string{"g3a", "g3b"}},
			{"negative amount in second leg", group(leg("g4a", wallet, merchant, "1"), leg("g4b", wallet, merchant, "-1")),
				400, "invalid_amount", "transfers[1].amount", []string{"g4a", "g4b"}},
			{"float amount in third leg", group(leg("g5a", wallet, merchant, "1"), leg("g5b", wallet, merchant, "1"), leg("g5c", wallet, merchant, "1.5")),
				400, "invalid_amount", "transfers[2].amount", []string{"g5a", "g5b", "g5c"}},
			{"unknown field in second leg", group(leg("g6a", wallet, merchant, "1"), `{"id":"g6b","colour":"red"}`),
				400, "unknown_field", "transfers[1].colour", []string{"g6a", "g6b"}},
			{"bad id in first leg", group(leg("g 7", wallet, merchant, "1")),
				400, "invalid_id", "transfers[0].id", nil},
			{"leg that is not an object", group(leg("g8a", wallet, merchant, "1"), `7`),
				400, "invalid_type", "transfers[1]", []string{"g8a"}},
			{"NUL in reference of second leg", group(leg("g10a", wallet, merchant, "1"), `{"id":"g10b","reference":"\u0000"}`),
				400, "invalid_text", "transfers[1].reference", []string{"g10a", "g10b"}},
			{"id twice in one group", group(leg("g9", wallet, merchant, "1"), leg("g9", wallet, merchant, "1")),
				400, "duplicate_id", "transfers[1].id", []string{"g9"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				a := &api{t: t, db: a.db, url: a.url}
				before := a.snapshot(watched...)
				r := a.post("/v1/transfers", c.body)
				checkErrorShape(t, r, c.status, c.code, c.param)
				if after := a.snapshot(watched...); after != before {
					t.Fatalf("a failed group changed the ledger:\n%s\n%s", before, after)
				}
				for _, id := range c.mustNotExists {
					checkErrorShape(t, a.get("/v1/transfers/"+id), http.StatusNotFound, "transfer_not_found", "")
				}
			})
		}

		// A group that fits applies whole; its legs share its fate.
		r := a.post("/v1/transfers", group(leg("ok1", wallet, merchant, "300"), leg("ok2", merchant, fees, "9")))
		mustStatus(t, r, http.StatusCreated)
		var out listOut
		r.decode(t, &out)
		if out.Object != "list" || len(out.Data) != 2 || out.Data[0].ID != "ok1" || out.Data[1].ID != "ok2" {
			t.Fatalf("group response %s", r.Body)
		}
		if w, m, f := a.account(wallet), a.account(merchant), a.account(fees); w.Balance != 700 || m.Balance != 291 || f.Balance != 9 {
			t.Fatalf("balances %d, %d, %d; want 700, 291, 9", w.Balance, m.Balance, f.Balance)
		}
		// A rejected leg of a failed group is stored as rejected; the other
		// legs' ids stay free.
		mustStatus(t, a.post("/v1/transfers", leg("g1a", wallet, merchant, "1")), http.StatusCreated)
		a.checkLedger()
	})
}

// TestHistoryPagination walks an account's history with next_cursor.
func TestHistoryPagination(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		wallet := a.createAccount("user_wallet", "USD")
		merchants := []string{a.createAccount("merchant", "USD"), a.createAccount("merchant", "USD")}
		other := a.createAccount("user_wallet", "USD")
		a.topUp(wallet, 100_000)
		a.topUp(other, 100_000)
		want := []string{}
		for i := range 30 {
			tr := a.transfer(map[string]any{"id": fmt.Sprintf("trf_%02d", i), "debit_account_id": wallet,
				"credit_account_id": merchants[i%2], "amount": i + 1, "asset": "USD"})
			want = append(want, tr.ID)
			// Another account's transfers interleave and must not show.
			a.transfer(map[string]any{"id": newID("trf"), "debit_account_id": other,
				"credit_account_id": merchants[0], "amount": 1, "asset": "USD"})
		}
		slices.Reverse(want) // newest first
		for _, limit := range []int{1, 7, 10, 30, 100} {
			h := a.history(wallet, limit)
			if len(h) != 31 {
				t.Fatalf("limit %d: %d transfers, want 31", limit, len(h))
			}
			var got []string
			var sum int64
			for i, tr := range h {
				if i > 0 && h[i-1].Timestamp < tr.Timestamp {
					t.Fatalf("limit %d: not newest first at %d", limit, i)
				}
				if tr.DebitAccountID != wallet && tr.CreditAccountID != wallet {
					t.Fatalf("limit %d: %s is not the wallet's", limit, tr.ID)
				}
				if tr.DebitAccountID == wallet {
					sum += tr.Amount
				}
				got = append(got, tr.ID)
			}
			if !slices.Equal(got[:30], want) || h[30].CreditAccountID != wallet {
				t.Fatalf("limit %d: history %v, want %v then the top-up", limit, got, want)
			}
			if acc := a.account(wallet); acc.DebitsPosted != sum || sum != 465 {
				t.Fatalf("debits_posted %d, history sums to %d, want 465", acc.DebitsPosted, sum)
			}
		}
		// The default page is 20.
		r := a.get("/v1/accounts/" + wallet + "/transfers")
		mustStatus(t, r, http.StatusOK)
		var page listOut
		r.decode(t, &page)
		if len(page.Data) != 20 || !page.HasMore || page.NextCursor == "" {
			t.Fatalf("default page: %d transfers, has_more %v", len(page.Data), page.HasMore)
		}
		// An account with no transfers has an empty list, not null.
		r = a.get("/v1/accounts/" + a.createAccount("user_wallet", "USD") + "/transfers")
		mustStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), `"data":[]`) || !strings.Contains(string(r.Body), `"has_more":false`) {
			t.Fatalf("empty history: %s", r.Body)
		}
	})
}

// TestOperationalEndpoints: health, readiness and metrics, without a token.
func TestOperationalEndpoints(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		a.createAccount("user_wallet", "USD") // something for the metrics to count
		none := ""
		for path, want := range map[string]string{"/healthz": `{"status":"ok"}`, "/readyz": `{"status":"ready"}`} {
			r := a.send(request{Method: "GET", Path: path, Token: &none})
			if r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != want {
				t.Fatalf("GET %s: %v", path, r)
			}
			if r.Header.Get("X-Request-Id") == "" {
				t.Errorf("GET %s: no X-Request-Id", path)
			}
		}
		r := a.send(request{Method: "GET", Path: "/healthz", Token: &none, Headers: map[string]string{"X-Request-Id": "req-from-client"}})
		if got := r.Header.Get("X-Request-Id"); got != "req-from-client" {
			t.Errorf("X-Request-Id %q, want the client's", got)
		}
		r = a.send(request{Method: "GET", Path: "/metrics", Token: &none})
		mustStatus(t, r, http.StatusOK)
		for _, name := range []string{"agentpay_http_requests_total", "agentpay_committer_batches_total",
			`route="POST /v1/accounts"`, `status="201"`} {
			if !strings.Contains(string(r.Body), name) {
				t.Errorf("/metrics lacks %s", name)
			}
		}
	})
}
