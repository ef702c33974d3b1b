package main

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentpay/agentpay"
)

// payment is one transfer a test sent, with everything needed to resend it
// byte for byte.
type payment struct {
	ID, Key, Body    string
	Wallet, Merchant string
	Amount           int64
}

// ledgerSetup is the accounts a workload pays between.
type ledgerSetup struct {
	wallets, merchants []string
	funds              int64 // each wallet's top-up
}

type accountJSON struct {
	ID             string `json:"id"`
	DebitsPending  int64  `json:"debits_pending"`
	DebitsPosted   int64  `json:"debits_posted"`
	CreditsPending int64  `json:"credits_pending"`
	CreditsPosted  int64  `json:"credits_posted"`
}

type transferJSON struct {
	ID              string `json:"id"`
	DebitAccountID  string `json:"debit_account_id"`
	CreditAccountID string `json:"credit_account_id"`
	Amount          int64  `json:"amount"`
}

// setUpLedger creates funded wallets and merchants over HTTP.
func setUpLedger(t *testing.T, s *server, wallets, merchants int) ledgerSetup {
	t.Helper()
	l := ledgerSetup{funds: 1_000_000_000_000}
	create := func(kind string) string {
		var a accountJSON
		s.must(http.StatusCreated, "POST", "/v1/accounts", "acct-"+randomHex(8), `{"kind":"`+kind+`","asset":"USD"}`, &a)
		return a.ID
	}
	for range wallets {
		w := create("user_wallet")
		s.must(http.StatusCreated, "POST", "/v1/accounts/"+w+"/topups", "top-"+w,
			fmt.Sprintf(`{"id":"top_%s","amount":%d}`, w, l.funds), nil)
		l.wallets = append(l.wallets, w)
	}
	for range merchants {
		l.merchants = append(l.merchants, create("merchant"))
	}
	return l
}

func (l ledgerSetup) payment(worker, i int) payment {
	p := payment{ID: agentpay.NewID("trf"), Wallet: l.wallets[(worker+i)%len(l.wallets)],
		Merchant: l.merchants[(worker*7+i)%len(l.merchants)], Amount: int64(1 + (worker*13+i)%100)}
	p.Key = "key-" + p.ID
	p.Body = fmt.Sprintf(`{"id":%q,"debit_account_id":%q,"credit_account_id":%q,"amount":%d,"asset":"USD","code":"test"}`,
		p.ID, p.Wallet, p.Merchant, p.Amount)
	return p
}

// outcome sorts what a workload sent by what the client learned.
type outcome struct {
	acked   []payment // got 201: must be in the ledger, once
	unknown []payment // got no response: may or may not have committed
	refused []string  // got another response
}

// drive pays from workers goroutines until each of them gets no response
// (the server is gone). When trigger payments have been acknowledged it calls
// act, which is meant to kill or stop the server: the trigger is a count,
// not a time.
func drive(s *server, l ledgerSetup, workers, trigger int, act func()) outcome {
	var (
		mu    sync.Mutex
		out   outcome
		acked atomic.Int64
		wg    sync.WaitGroup
	)
	fire, done := make(chan struct{}), make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			// Bounded, in case act fails to stop the server.
			for i := range 20 * trigger {
				p := l.payment(w, i)
				r, err := s.do("POST", "/v1/transfers", p.Key, p.Body)
				mu.Lock()
				switch {
				case err != nil:
					out.unknown = append(out.unknown, p)
				case r.Status == http.StatusCreated:
					out.acked = append(out.acked, p)
				default:
					out.refused = append(out.refused, fmt.Sprintf("%s: %v", p.ID, r))
				}
				mu.Unlock()
				if err != nil {
					return
				}
				if r.Status == http.StatusCreated && acked.Add(1) == int64(trigger) {
					close(fire)
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-fire:
		act()
	case <-done:
	}
	<-done
	return out
}

// history returns an account's whole history, following next_cursor.
func (s *server) history(account string) []transferJSON {
	s.t.Helper()
	var all []transferJSON
	cursor := ""
	for {
		var page struct {
			Data       []transferJSON `json:"data"`
			HasMore    bool           `json:"has_more"`
			NextCursor string         `json:"next_cursor"`
		}
		path := "/v1/accounts/" + account + "/transfers?limit=100"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		s.must(http.StatusOK, "GET", path, "", "", &page)
		all = append(all, page.Data...)
		if !page.HasMore {
			return all
		}
		cursor = page.NextCursor
	}
}

// ledgerState is what the ledger holds now, read over HTTP.
type ledgerState struct {
	accounts map[string]accountJSON
	present  map[string]transferJSON // payments (wallet → merchant) in the histories
}

// readLedger reads every account and history and checks that they agree:
// no transfer twice in a history, and each account's posted totals equal
// the sums of its history.
func readLedger(t *testing.T, s *server, l ledgerSetup) ledgerState {
	t.Helper()
	st := ledgerState{accounts: map[string]accountJSON{}, present: map[string]transferJSON{}}
	for _, id := range append(append([]string{}, l.wallets...), l.merchants...) {
		var a accountJSON
		s.must(http.StatusOK, "GET", "/v1/accounts/"+id, "", "", &a)
		st.accounts[id] = a
		seen := map[string]bool{}
		var debits, credits int64
		for _, tr := range s.history(id) {
			if seen[tr.ID] {
				t.Fatalf("transfer %s twice in the history of %s", tr.ID, id)
			}
			seen[tr.ID] = true
			if tr.DebitAccountID == id {
				debits += tr.Amount
			} else {
				credits += tr.Amount
			}
			if tr.CreditAccountID != "acc_funding_USD" && tr.DebitAccountID != "acc_funding_USD" {
				st.present[tr.ID] = tr
			}
		}
		if a.DebitsPosted != debits || a.CreditsPosted != credits || a.DebitsPending != 0 || a.CreditsPending != 0 {
			t.Fatalf("account %s is %+v but its history sums to debits %d, credits %d", id, a, debits, credits)
		}
	}
	var walletDebits, merchantCredits, payments int64
	for _, w := range l.wallets {
		walletDebits += st.accounts[w].DebitsPosted
		if st.accounts[w].CreditsPosted != l.funds {
			t.Fatalf("wallet %s credited %d, want its one top-up of %d", w, st.accounts[w].CreditsPosted, l.funds)
		}
	}
	for _, m := range l.merchants {
		merchantCredits += st.accounts[m].CreditsPosted
	}
	for _, tr := range st.present {
		payments += tr.Amount
	}
	if walletDebits != payments || merchantCredits != payments {
		t.Fatalf("wallets debited %d, merchants credited %d, payments present sum to %d", walletDebits, merchantCredits, payments)
	}
	return st
}

// checkLedgerOK requires GET /v1/ledger/check to report ok.
func checkLedgerOK(t *testing.T, s *server) {
	t.Helper()
	var out struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	s.must(http.StatusOK, "GET", "/v1/ledger/check", "", "", &out)
	if !out.OK {
		t.Fatalf("ledger check failed: %s", out.Error)
	}
}

// verifyAfterRestart proves, on a restarted server, that no acknowledged
// payment was lost or doubled, and that retrying the unacknowledged ones
// with their Idempotency-Key applies each at most once. It returns how many
// of the unacknowledged ones had committed all the same.
func verifyAfterRestart(t *testing.T, s *server, l ledgerSetup, out outcome) (committedUnacked int) {
	t.Helper()
	st := readLedger(t, s, l)
	for _, p := range out.acked {
		tr, ok := st.present[p.ID]
		if !ok {
			t.Fatalf("acknowledged payment %s is not in the ledger", p.ID)
		}
		if tr.Amount != p.Amount || tr.DebitAccountID != p.Wallet || tr.CreditAccountID != p.Merchant {
			t.Fatalf("acknowledged payment %s is stored as %+v", p.ID, tr)
		}
	}
	// Each acknowledged payment is also found by id (in parallel: there are
	// thousands).
	var wg sync.WaitGroup
	work := make(chan payment)
	var missing atomic.Int64
	for range 16 {
		wg.Go(func() {
			for p := range work {
				if r, err := s.do("GET", "/v1/transfers/"+p.ID, "", ""); err != nil || r.Status != http.StatusOK {
					missing.Add(1)
				}
			}
		})
	}
	for _, p := range out.acked {
		work <- p
	}
	close(work)
	wg.Wait()
	if missing.Load() != 0 {
		t.Fatalf("%d acknowledged payments not found by GET /v1/transfers/{id}", missing.Load())
	}
	sent := map[string]bool{}
	for _, p := range append(append([]payment{}, out.acked...), out.unknown...) {
		sent[p.ID] = true
	}
	for id := range st.present {
		if !sent[id] {
			t.Fatalf("payment %s is in the ledger but was never sent", id)
		}
	}

	// Retry every unacknowledged payment with its key and body: one that
	// committed before the crash is replayed, one that did not is applied
	// now, and none is applied twice.
	want := map[string]int64{} // wallet -> debits_posted expected after the retries
	for _, w := range l.wallets {
		want[w] = st.accounts[w].DebitsPosted
	}
	for _, p := range out.unknown {
		_, committed := st.present[p.ID]
		r := s.must(http.StatusCreated, "POST", "/v1/transfers", p.Key, p.Body, nil)
		if replayed := r.Header.Get("Idempotent-Replayed") == "true"; replayed != committed {
			t.Fatalf("payment %s: committed before the crash %v, but the retry's Idempotent-Replayed is %v", p.ID, committed, replayed)
		}
		if committed {
			committedUnacked++
		} else {
			want[p.Wallet] += p.Amount
		}
	}
	for round := range 2 { // and once more: now every retry is a replay
		st = readLedger(t, s, l)
		for _, w := range l.wallets {
			if got := st.accounts[w].DebitsPosted; got != want[w] {
				t.Fatalf("round %d: wallet %s debited %d, want %d", round, w, got, want[w])
			}
		}
		for _, p := range out.unknown {
			if _, ok := st.present[p.ID]; !ok {
				t.Fatalf("retried payment %s is not in the ledger", p.ID)
			}
			r := s.must(http.StatusCreated, "POST", "/v1/transfers", p.Key, p.Body, nil)
			if r.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("second retry of %s was not a replay", p.ID)
			}
		}
	}
	if len(st.present) != len(out.acked)+len(out.unknown) {
		t.Fatalf("%d payments present, want %d acknowledged + %d retried", len(st.present), len(out.acked), len(out.unknown))
	}
	checkLedgerOK(t, s)
	return committedUnacked
}
