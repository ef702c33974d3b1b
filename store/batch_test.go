package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// TestBadUnitFailsAlone commits good and bad units in one batch: each gets
// its own answer, and the good ones all commit.
func TestBadUnitFailsAlone(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		f := newFixture(t, db, "USD", 1_000)
		poor := f.account(agentpay.AccountUserWallet, "USD")
		f.mustTransfer(pay("trf_poor_topup", f.funding, poor, 5, "USD"))

		type want struct{ code, kind string }
		var units []*store.Unit
		var wants []want
		add := func(w want, ts ...agentpay.Transfer) {
			units = append(units, &store.Unit{Transfers: ts})
			wants = append(wants, w)
		}
		for i := range 100 {
			add(want{}, pay(fmt.Sprintf("trf_good_%d", i), f.wallet, f.merchant, 10, "USD"))
			switch i % 10 {
			case 1:
				add(want{"exceeds_credits", agentpay.ECONFLICT}, pay(fmt.Sprintf("trf_poor_%d", i), poor, f.merchant, 50, "USD"))
			case 3:
				add(want{"debit_account_not_found", agentpay.ENOTFOUND}, pay(fmt.Sprintf("trf_nodebit_%d", i), "acc_missing", f.merchant, 1, "USD"))
			case 5:
				add(want{"credit_account_not_found", agentpay.ENOTFOUND}, pay(fmt.Sprintf("trf_nocredit_%d", i), f.wallet, fmt.Sprintf("acc_missing_%d", i), 1, "USD"))
			case 7:
				// A linked group whose second transfer fails: the first, which
				// the wallet could afford, is not applied either.
				add(want{"exceeds_credits", agentpay.ECONFLICT},
					pay(fmt.Sprintf("trf_grp_a_%d", i), poor, f.merchant, 5, "USD"),
					pay(fmt.Sprintf("trf_grp_b_%d", i), poor, f.merchant, 1, "USD"))
			case 9:
				add(want{"invalid_amount", agentpay.EINVALID}, pay(fmt.Sprintf("trf_zero_%d", i), f.wallet, f.merchant, 0, "USD"))
			}
		}
		results := submitBatch(t, db, units)
		for i, res := range results {
			w := wants[i]
			switch {
			case w.code == "" && (res.Err != nil || len(res.Transfers) != 1 || res.Transfers[0].Timestamp == 0):
				t.Errorf("unit %d (%s): %+v, want success", i, units[i].Transfers[0].ID, res)
			case w.code != "" && (agentpay.ErrorCode(res.Err) != w.code || agentpay.ErrorKind(res.Err) != w.kind || res.Transfers != nil):
				t.Errorf("unit %d (%s): %+v, want %s (%s)", i, units[i].Transfers[0].ID, res, w.code, w.kind)
			}
		}
		// A refusal says what was available, not the shortfall after the debit.
		if res := f.submit(pay("trf_poor_msg", poor, f.merchant, 50, "USD")); res.Err == nil || !strings.Contains(res.Err.Error(), "has 5 available; the transfer needs 50") {
			t.Errorf("refusal message: %v", res.Err)
		}
		if w, m, p := f.balance(f.wallet), f.balance(f.merchant), f.balance(poor); w.Balance() != 0 || m.Balance() != 1_000 || p.Balance() != 5 {
			t.Fatalf("wallet %+v merchant %+v poor %+v", w, m, p)
		}
		if n := count(t, db.Reader(), "transfers WHERE id LIKE 'trf_good_%' AND result = ''"); n != 100 {
			t.Fatalf("%d good transfers stored", n)
		}
		if n := count(t, db.Reader(), "transfers WHERE id LIKE 'trf_grp_%' AND result = ''"); n != 0 {
			t.Fatalf("%d transfers of failed groups applied", n)
		}
		f.check()
	})
}

var testRows = &store.Table{Name: "test_rows", Key: "id", Columns: []string{"id", "n"}, Types: []store.ColumnType{store.Text, store.Int}}

func createTestRows(t *testing.T, db *store.DB) {
	t.Helper()
	if _, err := db.Writer().Exec(`CREATE TABLE test_rows (id TEXT PRIMARY KEY, n BIGINT NOT NULL CHECK (n >= 0))`); err != nil {
		t.Fatal(err)
	}
}

func row(id string, n int64) store.Row { return store.Row{Table: testRows, Values: []any{id, n}} }

// TestBisectIsolatesUnitTheDatabaseRejects commits a batch in which one unit
// passes every check in memory but breaks a CHECK constraint: the committer
// bisects the batch, so only that unit fails and the others commit.
func TestBisectIsolatesUnitTheDatabaseRejects(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db, reg := instrumented(t, open())
		createTestRows(t, db)
		f := newFixture(t, db, "USD", 1_000)
		const n, bad = 64, 37
		units := make([]*store.Unit, n)
		for i := range units {
			v := int64(i)
			if i == bad {
				v = -1
			}
			units[i] = &store.Unit{
				Rows:      []store.Row{row(fmt.Sprintf("row_%d", i), v)},
				Transfers: []agentpay.Transfer{pay(fmt.Sprintf("trf_row_%d", i), f.wallet, f.merchant, 10, "USD")},
			}
		}
		results := submitBatch(t, db, units)
		for i, res := range results {
			if i == bad {
				if agentpay.ErrorKind(res.Err) != agentpay.EINTERNAL || agentpay.ErrorCode(res.Err) != "commit_failed" {
					t.Errorf("bad unit: %v, want commit_failed (internal)", res.Err)
				}
				continue
			}
			if res.Err != nil {
				t.Errorf("unit %d: %v", i, res.Err)
			}
		}
		if got := counter(t, reg, "agentpay_committer_bisections_total"); got == 0 {
			t.Errorf("the batch was not bisected")
		}
		if c := count(t, db.Reader(), "test_rows"); c != n-1 {
			t.Errorf("%d rows, want %d", c, n-1)
		}
		if exists(t, db.Reader(), "test_rows", "id = $1", fmt.Sprintf("row_%d", bad)) {
			t.Errorf("the bad unit's row was written")
		}
		// The bad unit had no effect at all: not even a stored rejection, so a
		// corrected retry under the same transfer id succeeds.
		if exists(t, db.Reader(), "transfers", "id = $1", fmt.Sprintf("trf_row_%d", bad)) {
			t.Errorf("the bad unit's transfer was written")
		}
		if w, m := f.balance(f.wallet), f.balance(f.merchant); w.Balance() != 1_000-10*(n-1) || m.Balance() != 10*(n-1) {
			t.Errorf("wallet %+v merchant %+v", w, m)
		}
		units[bad].Rows = []store.Row{row(fmt.Sprintf("row_%d", bad), 0)}
		if res := db.Committer.Submit(f.ctx, units[bad]); res.Err != nil {
			t.Errorf("corrected retry: %v", res.Err)
		}
		if m := f.balance(f.merchant); m.Balance() != 10*n {
			t.Errorf("merchant %+v", m)
		}
		f.check()
	})
}

// TestRowKeyConflict fails a unit whose row key exists, in the database or
// earlier in its batch, with already_exists; its transfers are not applied.
func TestRowKeyConflict(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		createTestRows(t, db)
		f := newFixture(t, db, "USD", 1_000)
		if res := db.Committer.Submit(f.ctx, &store.Unit{Rows: []store.Row{row("row_a", 1)},
			Transfers: []agentpay.Transfer{pay("trf_a", f.wallet, f.merchant, 100, "USD")}}); res.Err != nil {
			t.Fatal(res.Err)
		}
		cases := []struct {
			name     string
			units    []*store.Unit
			want     []string // per unit: "" for success, else the error code
			anyOrder bool     // units of one batch race: which one wins is not known
		}{
			{"key in the database", []*store.Unit{
				{Rows: []store.Row{row("row_a", 2)}, Transfers: []agentpay.Transfer{pay("trf_b", f.wallet, f.merchant, 100, "USD")}},
			}, []string{"already_exists"}, false},
			{"second of several rows", []*store.Unit{
				{Rows: []store.Row{row("row_c", 2), row("row_a", 2)}, Transfers: []agentpay.Transfer{pay("trf_c", f.wallet, f.merchant, 100, "USD")}},
			}, []string{"already_exists"}, false},
			{"key earlier in the batch", []*store.Unit{
				{Rows: []store.Row{row("row_d", 1)}, Transfers: []agentpay.Transfer{pay("trf_d1", f.wallet, f.merchant, 100, "USD")}},
				{Rows: []store.Row{row("row_d", 2)}, Transfers: []agentpay.Transfer{pay("trf_d2", f.wallet, f.merchant, 100, "USD")}},
			}, []string{"", "already_exists"}, true},
			{"key twice in one unit", []*store.Unit{
				{Rows: []store.Row{row("row_e", 1), row("row_e", 2)}, Transfers: []agentpay.Transfer{pay("trf_e", f.wallet, f.merchant, 100, "USD")}},
				{Rows: []store.Row{row("row_f", 1)}, Transfers: []agentpay.Transfer{pay("trf_f", f.wallet, f.merchant, 100, "USD")}},
			}, []string{"already_exists", ""}, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := f.in(t)
				before := f.balance(f.merchant).Balance()
				results := submitBatch(t, db, tc.units)
				got := make([]string, len(results))
				for i, res := range results {
					if res.Err != nil {
						got[i] = agentpay.ErrorCode(res.Err)
					}
				}
				want := tc.want
				if tc.anyOrder {
					got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
				}
				if !slices.Equal(got, want) {
					t.Fatalf("results %q, want %q (%+v)", got, want, results)
				}
				var moved int64
				for i, res := range results {
					tr := tc.units[i].Transfers[0]
					_, err := db.Transfer(f.ctx, tr.ID)
					if res.Err != nil {
						if agentpay.ErrorKind(res.Err) != agentpay.ECONFLICT || agentpay.ErrorKind(err) != agentpay.ENOTFOUND {
							t.Fatalf("unit %d: error %v; transfer lookup %v", i, res.Err, err)
						}
						continue
					}
					if err != nil {
						t.Fatalf("unit %d transfer: %v", i, err)
					}
					moved += tr.Amount
					for _, r := range tc.units[i].Rows {
						var n int64
						if err := db.Reader().QueryRow(`SELECT n FROM test_rows WHERE id = $1`, r.Values[0]).Scan(&n); err != nil || n != r.Values[1] {
							t.Fatalf("row %s: n = %d, %v; want the committed unit's %d", r.Values[0], n, err, r.Values[1])
						}
					}
				}
				if got := f.balance(f.merchant).Balance(); got != before+moved {
					t.Fatalf("merchant %d -> %d, want +%d", before, got, moved)
				}
				f.check()
			})
		}
		var n int64
		if err := db.Reader().QueryRow(`SELECT n FROM test_rows WHERE id = 'row_a'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("row_a n = %d, %v: overwritten", n, err)
		}
		if exists(t, db.Reader(), "test_rows", "id = 'row_c'") {
			t.Fatal("row_c of a failed unit was written")
		}
		f.check()
	})
}

// TestAccountCreatedWithItsFunding creates accounts in the unit that funds
// them: all or nothing.
func TestAccountCreatedWithItsFunding(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		f := newFixture(t, db, "USD", 500)
		newWallet := func(id string) agentpay.Account {
			return agentpay.Account{ID: id, Kind: agentpay.AccountUserWallet, Asset: "USD", Flags: agentpay.AccountUserWallet.DefaultFlags(), OwnerID: "usr_1"}
		}
		// Funded and then spent from in the same unit.
		res := db.Committer.Submit(f.ctx, &store.Unit{
			Accounts: []agentpay.Account{newWallet("acc_new1")},
			Transfers: []agentpay.Transfer{
				pay("trf_new1_fund", f.wallet, "acc_new1", 300, "USD"),
				pay("trf_new1_pay", "acc_new1", f.merchant, 120, "USD"),
			},
		})
		if res.Err != nil || len(res.Accounts) != 1 || res.Accounts[0].ID != "acc_new1" || res.Accounts[0].CreatedAt == 0 {
			t.Fatalf("create = %+v", res)
		}
		if a := f.balance("acc_new1"); a != res.Accounts[0] || a.Balance() != 180 || a.OwnerID != "usr_1" || a.Flags != agentpay.AccountDebitsMustNotExceedCredits {
			t.Fatalf("acc_new1 = %+v, result %+v", a, res.Accounts[0])
		}

		cases := []struct {
			name string
			unit *store.Unit
			code string
		}{
			{"funding exceeds the payer", &store.Unit{Accounts: []agentpay.Account{newWallet("acc_new2")},
				Transfers: []agentpay.Transfer{pay("trf_new2_fund", f.wallet, "acc_new2", 201, "USD")}}, "exceeds_credits"},
			{"spends more than funded", &store.Unit{Accounts: []agentpay.Account{newWallet("acc_new3")},
				Transfers: []agentpay.Transfer{pay("trf_new3_fund", f.wallet, "acc_new3", 100, "USD"), pay("trf_new3_pay", "acc_new3", f.merchant, 101, "USD")}}, "exceeds_credits"},
			{"second account exists", &store.Unit{Accounts: []agentpay.Account{newWallet("acc_new4"), newWallet("acc_new1")},
				Transfers: []agentpay.Transfer{pay("trf_new4_fund", f.wallet, "acc_new4", 100, "USD")}}, "account_exists"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := f.in(t)
				before := allAccounts(t, db)
				res := db.Committer.Submit(f.ctx, tc.unit)
				if agentpay.ErrorCode(res.Err) != tc.code || res.Accounts != nil {
					t.Fatalf("result %+v, want %s", res, tc.code)
				}
				if got := allAccounts(t, db); !mapsEqual(got, before) {
					t.Fatalf("accounts changed: %d -> %d accounts", len(before), len(got))
				}
				if _, err := db.Account(f.ctx, tc.unit.Accounts[0].ID); agentpay.ErrorCode(err) != "account_not_found" {
					t.Fatalf("account of a failed unit: %v", err)
				}
				f.check()
			})
		}
		// The ids of failed units' accounts remain free.
		res = db.Committer.Submit(f.ctx, &store.Unit{Accounts: []agentpay.Account{newWallet("acc_new2")},
			Transfers: []agentpay.Transfer{pay("trf_new2_fund_again", f.wallet, "acc_new2", 200, "USD")}})
		if res.Err != nil || f.balance("acc_new2").Balance() != 200 || f.balance(f.wallet).Balance() != 0 {
			t.Fatalf("retry = %+v", res)
		}
		f.check()
	})
}
