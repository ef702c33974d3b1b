package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/httpapi"
)

// fixture is a small ledger with a transfer and pending transfers in every
// state, for bad requests to run against.
type fixture struct {
	wallet, merchant, euroMerchant, funding string
	single                                  string // wallet → merchant, 10
	voided, posted, open, expired           string // pending wallet → merchant
}

func newFixture(t *testing.T, a *api) fixture {
	t.Helper()
	f := fixture{
		wallet:       a.createAccount("user_wallet", "USD"),
		merchant:     a.createAccount("merchant", "USD"),
		euroMerchant: a.createAccount("merchant", "EUR"),
		funding:      agentpay.SystemAccountID(agentpay.AccountFunding, "USD"),
	}
	a.topUp(f.wallet, 1000)
	pay := func(fields map[string]any) string {
		fields["debit_account_id"], fields["credit_account_id"], fields["asset"] = f.wallet, f.merchant, "USD"
		if fields["id"] == nil {
			fields["id"] = newID("trf")
		}
		return a.transfer(fields).ID
	}
	f.single = pay(map[string]any{"amount": 10})
	f.voided = pay(map[string]any{"type": "pending", "amount": 100})
	a.transfer(map[string]any{"id": newID("trf"), "type": "void_pending", "pending_id": f.voided})
	f.posted = pay(map[string]any{"type": "pending", "amount": 100})
	a.transfer(map[string]any{"id": newID("trf"), "type": "post_pending", "pending_id": f.posted})
	f.open = pay(map[string]any{"type": "pending", "amount": 100})
	f.expired = pay(map[string]any{"type": "pending", "amount": 50, "timeout_seconds": 1})

	// The background expirer does not run under httptest: expire by hand
	// until the database's clock has passed the timeout.
	waitFor(t, "the pending transfer to expire", func() bool {
		if _, err := a.db.ExpireDue(t.Context()); err != nil {
			t.Fatalf("ExpireDue: %v", err)
		}
		return a.getTransfer(f.expired).PendingStatus == "expired"
	})
	a.checkLedger()
	return f
}

// badCase is a bad request and the error it must get.
type badCase struct {
	name   string
	method string // POST unless set
	path   string // /v1/transfers unless set
	body   string
	key    *string // a new key unless set
	token  *string // the operator token unless set
	status int
	code   string
	param  string
}

// TestBadRequestsChangeNothing sends every kind of bad request and requires
// a 4xx JSON error of the one shape, and the ledger exactly as it was.
func TestBadRequestsChangeNothing(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		f := newFixture(t, a)
		transfer := func(fields map[string]any) string {
			if _, ok := fields["id"]; !ok {
				fields["id"] = newID("trf")
			}
			for k, v := range map[string]any{"debit_account_id": f.wallet, "credit_account_id": f.merchant, "asset": "USD", "amount": 1} {
				if _, ok := fields[k]; !ok {
					fields[k] = v
				}
			}
			for k, v := range fields {
				if v == nil {
					delete(fields, k)
				}
			}
			return jsonString(fields)
		}
		raw := func(amount string) string {
			return fmt.Sprintf(`{"id":%q,"debit_account_id":%q,"credit_account_id":%q,"asset":"USD","amount":%s}`,
				newID("trf"), f.wallet, f.merchant, amount)
		}
		resolve := func(typ, pending string, amount any) string {
			return transfer(map[string]any{"type": typ, "pending_id": pending, "amount": amount,
				"debit_account_id": nil, "credit_account_id": nil, "asset": nil})
		}
		oversized := `{"id":"trf_big","reference":"` + strings.Repeat("a", httpapi.BodyBytesMax) + `"}`
		empty, wrong := "", "not-the-operator-token-0123456789"

		cases := []badCase{
			{name: "unknown debit account", body: transfer(map[string]any{"debit_account_id": "acc_nope"}),
				status: 404, code: "debit_account_not_found", param: "debit_account_id"},
			{name: "unknown credit account", body: transfer(map[string]any{"credit_account_id": "acc_nope"}),
				status: 404, code: "credit_account_not_found", param: "credit_account_id"},
			{name: "top-up of unknown account", path: "/v1/accounts/acc_nope/topups", body: `{"id":"top_1","amount":5}`,
				status: 404, code: "account_not_found"},
			{name: "asset mismatch between accounts", body: transfer(map[string]any{"credit_account_id": f.euroMerchant}),
				status: 400, code: "asset_mismatch", param: "asset"},
			{name: "asset mismatch with both accounts", body: transfer(map[string]any{"asset": "EUR"}),
				status: 400, code: "asset_mismatch", param: "asset"},
			{name: "unknown asset", body: transfer(map[string]any{"asset": "NOPE"}),
				status: 400, code: "unknown_asset", param: "asset"},
			{name: "zero amount", body: transfer(map[string]any{"amount": 0}),
				status: 400, code: "invalid_amount", param: "amount"},
			{name: "negative amount", body: transfer(map[string]any{"amount": -5}),
				status: 400, code: "invalid_amount", param: "amount"},
			{name: "float amount", body: raw("1.5"),
				status: 400, code: "invalid_amount", param: "amount"},
			{name: "exponent amount", body: raw("1e2"),
				status: 400, code: "invalid_amount", param: "amount"},
			{name: "amount overflowing int64", body: raw("99999999999999999999"),
				status: 400, code: "invalid_amount", param: "amount"},
			{name: "amount as a string", body: raw(`"10"`),
				status: 400, code: "invalid_amount", param: "amount"},
			{name: "debit beyond balance", body: transfer(map[string]any{"amount": 1_000_000}),
				status: 409, code: "exceeds_credits", param: "amount"},
			{name: "pending beyond balance", body: transfer(map[string]any{"type": "pending", "amount": 791}),
				status: 409, code: "exceeds_credits", param: "amount"},
			{name: "payout beyond merchant balance", path: "/v1/accounts/" + f.merchant + "/payouts", body: `{"id":"pay_1","amount":100000}`,
				status: 409, code: "exceeds_credits", param: "amount"},
			{name: "post a voided transfer", body: resolve("post_pending", f.voided, nil),
				status: 409, code: "pending_transfer_already_voided", param: "pending_id"},
			{name: "post an already posted transfer", body: resolve("post_pending", f.posted, nil),
				status: 409, code: "pending_transfer_already_posted", param: "pending_id"},
			{name: "void an already posted transfer", body: resolve("void_pending", f.posted, nil),
				status: 409, code: "pending_transfer_already_posted", param: "pending_id"},
			{name: "post more than the pending amount", body: resolve("post_pending", f.open, 101),
				status: 409, code: "exceeds_pending_transfer_amount", param: "amount"},
			{name: "post after expiry", body: resolve("post_pending", f.expired, nil),
				status: 409, code: "pending_transfer_expired", param: "pending_id"},
			{name: "post a single transfer", body: resolve("post_pending", f.single, nil),
				status: 409, code: "pending_transfer_not_pending", param: "pending_id"},
			{name: "post an unknown pending transfer", body: resolve("post_pending", "trf_nope", 5),
				status: 404, code: "pending_transfer_not_found", param: "pending_id"},
			{name: "reused transfer id with other fields", body: transfer(map[string]any{"id": f.single, "amount": 11}),
				status: 400, code: "exists_with_different_fields", param: "id"},
			{name: "missing transfer id", body: transfer(map[string]any{"id": nil}),
				status: 400, code: "invalid_id", param: "id"},
			{name: "transfer id with bad characters", body: transfer(map[string]any{"id": "trf 1"}),
				status: 400, code: "invalid_id", param: "id"},
			{name: "same account on both sides", body: transfer(map[string]any{"credit_account_id": f.wallet}),
				status: 400, code: "accounts_must_be_different", param: "credit_account_id"},
			{name: "timeout on a single transfer", body: transfer(map[string]any{"timeout_seconds": 5}),
				status: 400, code: "invalid_timeout", param: "timeout_seconds"},
			{name: "unknown transfer type", body: transfer(map[string]any{"type": "refund"}),
				status: 400, code: "invalid_type", param: "type"},
			{name: "malformed JSON", body: `{"id": "trf_1", "amount": `,
				status: 400, code: "invalid_json"},
			{name: "not JSON at all", body: `amount=5`,
				status: 400, code: "invalid_json"},
			{name: "empty body", body: ``,
				status: 400, code: "invalid_json"},
			{name: "JSON array instead of object", body: `[]`,
				status: 400, code: "invalid_json"},
			{name: "duplicate field", body: `{"id":"trf_dup","amount":1,"amount":1000000}`,
				status: 400, code: "invalid_json"},
			{name: "unknown JSON field", body: transfer(map[string]any{"bogus": true}),
				status: 400, code: "unknown_field", param: "bogus"},
			{name: "trailing object", body: transfer(map[string]any{}) + `{}`,
				status: 400, code: "invalid_json"},
			{name: "trailing garbage", body: transfer(map[string]any{}) + ` x`,
				status: 400, code: "invalid_json"},
			{name: "one transfer and a group at once", body: `{"id":"trf_x","transfers":[{"id":"trf_y"}]}`,
				status: 400, code: "invalid_request", param: "transfers"},
			{name: "empty group", body: `{"transfers":[]}`,
				status: 400, code: "invalid_group_size", param: "transfers"},
			{name: "oversized body", body: oversized,
				status: 413, code: "body_too_large"},
			{name: "missing Idempotency-Key", body: transfer(map[string]any{}), key: &empty,
				status: 400, code: "idempotency_key_required", param: "Idempotency-Key"},
			{name: "too long Idempotency-Key", body: transfer(map[string]any{}), key: ptr(strings.Repeat("k", 256)),
				status: 400, code: "invalid_idempotency_key", param: "Idempotency-Key"},
			{name: "missing token", body: transfer(map[string]any{}), token: &empty,
				status: 401, code: "missing_token"},
			{name: "wrong token", body: transfer(map[string]any{}), token: &wrong,
				status: 401, code: "invalid_token"},
			{name: "wrong token on a read", method: "GET", path: "/v1/accounts/" + f.wallet, token: &wrong,
				status: 401, code: "invalid_token"},
			{name: "missing token on the ledger check", method: "GET", path: "/v1/ledger/check", token: &empty,
				status: 401, code: "missing_token"},
			{name: "new account of unknown kind", path: "/v1/accounts", body: `{"kind":"piggy_bank","asset":"USD"}`,
				status: 400, code: "invalid_kind", param: "kind"},
			{name: "new account of unknown asset", path: "/v1/accounts", body: `{"kind":"user_wallet","asset":"NOPE"}`,
				status: 400, code: "unknown_asset", param: "asset"},
			{name: "new account with both flags", path: "/v1/accounts",
				body:   `{"kind":"user_wallet","asset":"USD","flags":["debits_must_not_exceed_credits","credits_must_not_exceed_debits"]}`,
				status: 400, code: "invalid_flag", param: "flags"},
			{name: "top-up of a merchant", path: "/v1/accounts/" + f.merchant + "/topups", body: `{"id":"top_2","amount":5}`,
				status: 400, code: "invalid_account_kind", param: "id"},
			{name: "negative top-up", path: "/v1/accounts/" + f.wallet + "/topups", body: `{"id":"top_3","amount":-5}`,
				status: 400, code: "invalid_amount", param: "amount"},
			{name: "float top-up", path: "/v1/accounts/" + f.wallet + "/topups", body: `{"id":"top_4","amount":0.5}`,
				status: 400, code: "invalid_amount", param: "amount"},
			{name: "unknown route", method: "GET", path: "/v1/nope",
				status: 404, code: "route_not_found"},
			{name: "unknown route under an account", path: "/v1/accounts/" + f.wallet + "/refunds", body: `{}`,
				status: 404, code: "route_not_found"},
			{name: "unknown transfer", method: "GET", path: "/v1/transfers/trf_nope",
				status: 404, code: "transfer_not_found"},
			{name: "unknown account", method: "GET", path: "/v1/accounts/acc_nope",
				status: 404, code: "account_not_found"},
			{name: "history of unknown account", method: "GET", path: "/v1/accounts/acc_nope/transfers",
				status: 404, code: "account_not_found"},
			// PostgreSQL text cannot hold NUL: such input once came back as
			// a 500 there (and failed the whole batch it was in).
			{name: "NUL in account id of path", method: "GET", path: "/v1/accounts/a%00b",
				status: 404, code: "account_not_found"},
			{name: "NUL in account id of history path", method: "GET", path: "/v1/accounts/a%00b/transfers",
				status: 404, code: "account_not_found"},
			{name: "NUL in transfer id of path", method: "GET", path: "/v1/transfers/a%00b",
				status: 404, code: "transfer_not_found"},
			{name: "non-ASCII account id of path", method: "GET", path: "/v1/accounts/%C3%A9",
				status: 404, code: "account_not_found"},
			{name: "NUL in top-up path", path: "/v1/accounts/a%00b/topups", body: `{"id":"top_5","amount":5}`,
				status: 404, code: "account_not_found"},
			{name: "NUL in reference", body: transfer(map[string]any{"reference": "a\x00b"}),
				status: 400, code: "invalid_text", param: "reference"},
			{name: "NUL in code", body: transfer(map[string]any{"code": "\x00"}),
				status: 400, code: "invalid_text", param: "code"},
			{name: "NUL in top-up reference", path: "/v1/accounts/" + f.wallet + "/topups", body: `{"id":"top_6","amount":5,"reference":"\u0000"}`,
				status: 400, code: "invalid_text", param: "reference"},
			{name: "NUL in account of a post", body: transfer(map[string]any{"type": "post_pending", "pending_id": "trf_nope",
				"debit_account_id": "acc\x00", "credit_account_id": nil, "asset": nil, "amount": nil}),
				status: 400, code: "invalid_account", param: "debit_account_id"},
			{name: "bad pending id", body: transfer(map[string]any{"type": "post_pending", "pending_id": "trf nope",
				"debit_account_id": nil, "credit_account_id": nil, "asset": nil, "amount": nil}),
				status: 400, code: "invalid_pending_id", param: "pending_id"},
		}
		for _, limit := range []string{"0", "-1", "abc", "101", "1.5", "99999999999999999999"} {
			cases = append(cases, badCase{name: "history limit " + limit, method: "GET", path: "/v1/accounts/" + f.wallet + "/transfers?limit=" + limit,
				status: 400, code: "invalid_limit", param: "limit"})
		}
		for _, cursor := range []string{"abc", "1.", ".trf_1", "x.trf_1", "1.trf%201", "1.2.3", "99999999999999999999.trf_1"} {
			cases = append(cases, badCase{name: "history cursor " + cursor, method: "GET", path: "/v1/accounts/" + f.wallet + "/transfers?cursor=" + cursor,
				status: 400, code: "invalid_cursor", param: "cursor"})
		}

		watched := []string{f.wallet, f.merchant, f.euroMerchant, f.funding}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a := &api{t: t, db: a.db, url: a.url}
				before := a.snapshot(watched...)
				rq := request{Method: c.method, Path: c.path, Body: c.body, Token: c.token, Key: "key-" + randomHex(8)}
				if rq.Method == "" {
					rq.Method = "POST"
				}
				if rq.Path == "" {
					rq.Path = "/v1/transfers"
				}
				if c.key != nil {
					rq.Key = *c.key
				}
				if rq.Method == "GET" {
					rq.Key = ""
				}
				r := a.send(rq)
				checkErrorShape(t, r, c.status, c.code, c.param)
				if c.status == http.StatusUnauthorized {
					if strings.Contains(string(r.Body), wrong) || strings.Contains(string(r.Body), adminToken) {
						t.Errorf("401 echoes a token: %s", r.Body)
					}
					if r.Header.Get("WWW-Authenticate") == "" {
						t.Errorf("401 without WWW-Authenticate")
					}
				}
				if after := a.snapshot(watched...); after != before {
					t.Errorf("the request changed the ledger:\nbefore %s\nafter  %s", before, after)
				}
				if rq.Method == "POST" && rq.Key != "" {
					// A retry with the same key gets the same answer: a stored
					// one for a request that reached the ledger, a fresh one
					// for a request refused before.
					again := a.send(rq)
					if again.Status != r.Status {
						t.Errorf("retry: %v, first %v", again, r)
					}
				}
			})
		}
		a.checkLedger()
	})
}

func ptr[T any](v T) *T { return &v }
