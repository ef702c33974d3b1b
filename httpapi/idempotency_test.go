package httpapi_test

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing"
)

// TestIdempotentReplay: the same key and body get the first status and the
// byte-identical body with Idempotent-Replayed: true, and one effect.
func TestIdempotentReplay(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		accounts := a.count(`SELECT COUNT(*) FROM accounts`)
		create := request{Method: "POST", Path: "/v1/accounts", Key: "acct-1", Body: `{"kind":"user_wallet","asset":"USD"}`}
		first := a.send(create)
		mustStatus(t, first, http.StatusCreated)
		if first.replayed() {
			t.Fatal("a first response is marked replayed")
		}
		for range 3 {
			again := a.send(create)
			if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) || !again.replayed() {
				t.Fatalf("replay %v (replayed %v), first %v", again, again.replayed(), first)
			}
		}
		if n := a.count(`SELECT COUNT(*) FROM accounts`); n != accounts+1 {
			t.Fatalf("%d accounts created, want 1", n-accounts)
		}
		var wallet accountOut
		first.decode(t, &wallet)
		merchant := a.createAccount("merchant", "USD")

		top := request{Method: "POST", Path: "/v1/accounts/" + wallet.ID + "/topups", Key: "top-1", Body: `{"id":"top_a","amount":500}`}
		mustStatus(t, a.send(top), http.StatusCreated)
		if r := a.send(top); r.Status != http.StatusCreated || !r.replayed() {
			t.Fatalf("top-up replay: %v", r)
		}

		body := fmt.Sprintf(`{"id":"trf_a","debit_account_id":%q,"credit_account_id":%q,"amount":120,"asset":"USD","reference":"order 7"}`, wallet.ID, merchant)
		pay := request{Method: "POST", Path: "/v1/transfers", Key: "pay-1", Body: body}
		first = a.send(pay)
		mustStatus(t, first, http.StatusCreated)

		// The same JSON with keys reordered and other whitespace is the same
		// request (RFC 8785): a replay, not a conflict.
		reordered := fmt.Sprintf("{\n  \"reference\": \"order 7\",\t\"asset\":\"USD\", \"amount\": 120,\n"+
			"  \"credit_account_id\": %q, \"debit_account_id\": %q, \"id\": \"trf_a\"\n}\n", merchant, wallet.ID)
		for _, b := range []string{body, reordered, `{"id":"trf_\u0061"` + body[len(`{"id":"trf_a"`):]} {
			pay.Body = b
			again := a.send(pay)
			if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) || !again.replayed() {
				t.Fatalf("replay of %s: %v, first %v", b, again, first)
			}
		}
		if got := a.account(wallet.ID); got.DebitsPosted != 120 || got.CreditsPosted != 500 {
			t.Fatalf("wallet %+v, want one top-up of 500 and one payment of 120", got)
		}
		if h := a.history(wallet.ID, 100); len(h) != 2 {
			t.Fatalf("history has %d transfers, want 2", len(h))
		}
		a.checkLedger()
	})
}

// TestIdempotencyConflict: the same key with another body is 422, and does
// nothing.
func TestIdempotencyConflict(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		wallet := a.createAccount("user_wallet", "USD")
		merchant := a.createAccount("merchant", "USD")
		a.topUp(wallet, 1000)
		pay := func(id string, amount string) request {
			return request{Method: "POST", Path: "/v1/transfers", Key: "same-key", Body: fmt.Sprintf(
				`{"id":%q,"debit_account_id":%q,"credit_account_id":%q,"amount":%s,"asset":"USD"}`, id, wallet, merchant, amount)}
		}
		mustStatus(t, a.send(pay("trf_1", "100")), http.StatusCreated)
		before := a.snapshot(wallet, merchant)
		for _, rq := range []request{pay("trf_1", "101"), pay("trf_2", "100"),
			{Method: "POST", Path: "/v1/transfers", Key: "same-key", Body: `{}`}} {
			r := a.send(rq)
			checkErrorShape(t, r, http.StatusUnprocessableEntity, "idempotency_conflict", "Idempotency-Key")
			if r.replayed() {
				t.Errorf("a conflict is marked replayed")
			}
		}
		if after := a.snapshot(wallet, merchant); after != before {
			t.Fatalf("a conflicting request changed the ledger:\n%s\n%s", before, after)
		}
	})
}

// TestIdempotencyLargeIntegers: RFC 8785 writes numbers as IEEE 754
// doubles, so two amounts beyond 2^53 can canonicalize alike; they are still
// different requests. (At scale 18, 2^53 minor units is 0.009 of a coin.)
func TestIdempotencyLargeIntegers(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		wallet := a.createAccount("user_wallet", "USD")
		const big = 1 << 53 // 9007199254740992
		top := func(amount int64) request {
			return request{Method: "POST", Path: "/v1/accounts/" + wallet + "/topups", Key: "big-key",
				Body: `{"id":"top_big","amount":` + strconv.FormatInt(amount, 10) + `}`}
		}
		mustStatus(t, a.send(top(big)), http.StatusCreated)
		if r := a.send(top(big)); r.Status != http.StatusCreated || !r.replayed() {
			t.Fatalf("replay: %v", r)
		}
		checkErrorShape(t, a.send(top(big+1)), http.StatusUnprocessableEntity, "idempotency_conflict", "Idempotency-Key")
		checkErrorShape(t, a.send(top(math.MaxInt64)), http.StatusUnprocessableEntity, "idempotency_conflict", "Idempotency-Key")
		if got := a.account(wallet); got.CreditsPosted != big {
			t.Fatalf("wallet %+v", got)
		}
	})
}

// TestIdempotencyStoresRejections: a 409 is stored like a 201: after the
// wallet is topped up, the same key still gets the rejection, and so does
// the rejected transfer id under a new key.
func TestIdempotencyStoresRejections(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		wallet := a.createAccount("user_wallet", "USD")
		merchant := a.createAccount("merchant", "USD")
		a.topUp(wallet, 100)
		pay := request{Method: "POST", Path: "/v1/transfers", Key: "reject-1", Body: fmt.Sprintf(
			`{"id":"trf_r","debit_account_id":%q,"credit_account_id":%q,"amount":500,"asset":"USD"}`, wallet, merchant)}
		first := a.send(pay)
		checkErrorShape(t, first, http.StatusConflict, "exceeds_credits", "amount")
		a.topUp(wallet, 1000)
		again := a.send(pay)
		if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) || !again.replayed() {
			t.Fatalf("replay after top-up: %v, first %v", again, first)
		}
		pay.Key = "reject-2"
		r := a.send(pay)
		checkErrorShape(t, r, http.StatusConflict, "exceeds_credits", "")
		if got := a.account(wallet); got.DebitsPosted != 0 || got.Available != 1100 {
			t.Fatalf("wallet %+v, want nothing debited", got)
		}
		checkErrorShape(t, a.get("/v1/transfers/trf_r"), http.StatusNotFound, "transfer_not_found", "")
	})
}

// TestIdempotencyConcurrent: many requests with one key at once have one
// effect; every other one gets the replay or 409 idempotency_in_flight with
// Retry-After.
func TestIdempotencyConcurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		wallet := a.createAccount("user_wallet", "USD")
		merchant := a.createAccount("merchant", "USD")
		a.topUp(wallet, 1_000_000)
		const n = 20
		race := func(rq request) []response {
			t.Helper()
			out := make([]response, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					out[i] = a.send(rq)
				})
			}
			close(start)
			wg.Wait()
			var first *response
			for i, r := range out {
				switch {
				case r.Status == http.StatusConflict:
					checkErrorShape(t, r, http.StatusConflict, "idempotency_in_flight", "")
					if r.Header.Get("Retry-After") == "" {
						t.Errorf("409 idempotency_in_flight without Retry-After")
					}
				case r.Status == http.StatusCreated && !r.replayed():
					if first != nil {
						t.Fatalf("two first responses:\n%v\n%v", *first, r)
					}
					first = &out[i]
				case r.Status != http.StatusCreated:
					t.Fatalf("unexpected %v", r)
				}
			}
			if first == nil {
				t.Fatalf("no request took effect: %v", out)
			}
			for _, r := range out {
				if r.Status == http.StatusCreated && !bytes.Equal(r.Body, first.Body) {
					t.Fatalf("replay differs:\n%v\n%v", r, *first)
				}
			}
			return out
		}

		accounts := a.count(`SELECT COUNT(*) FROM accounts`)
		race(request{Method: "POST", Path: "/v1/accounts", Key: "race-acct", Body: `{"kind":"merchant","asset":"USD"}`})
		if got := a.count(`SELECT COUNT(*) FROM accounts`); got != accounts+1 {
			t.Fatalf("%d accounts created by one key, want 1", got-accounts)
		}

		race(request{Method: "POST", Path: "/v1/transfers", Key: "race-pay", Body: fmt.Sprintf(
			`{"id":"trf_race","debit_account_id":%q,"credit_account_id":%q,"amount":7,"asset":"USD"}`, wallet, merchant)})
		if got := a.account(wallet); got.DebitsPosted != 7 {
			t.Fatalf("wallet debited %d, want 7 once", got.DebitsPosted)
		}

		// Distinct transfer ids under one key: only the key keeps this to
		// one effect.
		race(request{Method: "POST", Path: "/v1/accounts/" + wallet + "/topups", Key: "race-top", Body: `{"id":"top_race","amount":3}`})
		if got := a.account(wallet); got.CreditsPosted != 1_000_003 {
			t.Fatalf("wallet credited %d, want 1000003", got.CreditsPosted)
		}
		a.checkLedger()
	})
}

// TestIdempotencyKeysPerRoute: one key on different routes is different
// requests, each with its own effect.
func TestIdempotencyKeysPerRoute(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		const key = "shared-key"
		before := a.count(`SELECT COUNT(*) FROM accounts`)
		r := a.send(request{Method: "POST", Path: "/v1/accounts", Key: key, Body: `{"kind":"user_wallet","asset":"USD"}`})
		mustStatus(t, r, http.StatusCreated)
		var wallet accountOut
		r.decode(t, &wallet)
		other := a.createAccount("user_wallet", "USD")
		merchant := a.createAccount("merchant", "USD")
		for _, rq := range []request{
			{Method: "POST", Path: "/v1/accounts/" + wallet.ID + "/topups", Key: key, Body: `{"id":"top_k1","amount":100}`},
			{Method: "POST", Path: "/v1/accounts/" + other + "/topups", Key: key, Body: `{"id":"top_k2","amount":100}`},
			{Method: "POST", Path: "/v1/transfers", Key: key, Body: fmt.Sprintf(
				`{"id":"trf_k","debit_account_id":%q,"credit_account_id":%q,"amount":40,"asset":"USD"}`, wallet.ID, merchant)},
			{Method: "POST", Path: "/v1/accounts/" + merchant + "/payouts", Key: key, Body: `{"id":"out_k","amount":15}`},
		} {
			r := a.send(rq)
			if r.Status != http.StatusCreated || r.replayed() {
				t.Fatalf("%s %s: %v (replayed %v)", rq.Method, rq.Path, r, r.replayed())
			}
		}
		// A funding account was created for the top-ups, beside the three.
		if got := a.count(`SELECT COUNT(*) FROM accounts`); got != before+4 {
			t.Fatalf("%d accounts created, want 4", got-before)
		}
		if w, o, m := a.account(wallet.ID), a.account(other), a.account(merchant); w.Balance != 60 || o.Balance != 100 || m.Balance != 25 {
			t.Fatalf("balances %d, %d, %d; want 60, 100, 25", w.Balance, o.Balance, m.Balance)
		}
		a.checkLedger()
	})
}
