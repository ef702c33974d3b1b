package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// accountJSON is an account as the API shows it. Amounts are integers in the
// asset's minor units; the *_formatted fields are decimal strings for people.
type accountJSON struct {
	Object           string   `json:"object"`
	ID               string   `json:"id"`
	Kind             string   `json:"kind"`
	Asset            string   `json:"asset"`
	Flags            []string `json:"flags"`
	OwnerID          string   `json:"owner_id,omitempty"`
	DebitsPending    int64    `json:"debits_pending"`
	DebitsPosted     int64    `json:"debits_posted"`
	CreditsPending   int64    `json:"credits_pending"`
	CreditsPosted    int64    `json:"credits_posted"`
	Balance          int64    `json:"balance"`
	Available        int64    `json:"available"`
	BalanceFormatted string   `json:"balance_formatted"`
	CreatedAt        string   `json:"created_at"`
}

func toAccountJSON(a agentpay.Account) accountJSON {
	formatted, _ := agentpay.FormatAmount(a.Balance(), a.Asset)
	return accountJSON{Object: "account", ID: a.ID, Kind: string(a.Kind), Asset: a.Asset, Flags: a.Flags.Names(), OwnerID: a.OwnerID,
		DebitsPending: a.DebitsPending, DebitsPosted: a.DebitsPosted, CreditsPending: a.CreditsPending, CreditsPosted: a.CreditsPosted,
		Balance: a.Balance(), Available: a.Available(), BalanceFormatted: formatted, CreatedAt: timeString(a.CreatedAt)}
}

func timeString(us int64) string {
	return time.UnixMicro(us).UTC().Format(time.RFC3339Nano)
}

type createAccountRequest struct {
	Kind    string    `json:"kind"`
	Asset   string    `json:"asset"`
	Flags   *[]string `json:"flags"`
	OwnerID string    `json:"owner_id"`
}

func (s *Server) createAccount(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req createAccountRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	kind := agentpay.AccountKind(req.Kind)
	if !kind.Valid() {
		return nil, nil, agentpay.ParamErrorf("kind", "invalid_kind",
			"kind must be user_wallet, merchant, merchant_reserve, protection_fund, fees or funding")
	}
	if err := agentpay.ValidateAssetCode(req.Asset); err != nil {
		return nil, nil, err
	}
	flags := kind.DefaultFlags()
	if req.Flags != nil {
		var err error
		if flags, err = agentpay.ParseAccountFlags(*req.Flags); err != nil {
			return nil, nil, err
		}
	}
	if req.OwnerID != "" && !agentpay.ValidID(req.OwnerID) {
		return nil, nil, agentpay.ParamErrorf("owner_id", "invalid_id", "owner_id must be 1 to 64 letters, digits, '_' or '-'")
	}
	a := agentpay.Account{ID: agentpay.NewID("acc"), Kind: kind, Asset: req.Asset, Flags: flags, OwnerID: req.OwnerID}
	return &store.Unit{Accounts: []agentpay.Account{a}}, func(res store.Result) (int, any) {
		return http.StatusCreated, toAccountJSON(res.Accounts[0])
	}, nil
}

// pathAccount returns the account the path names. An id that is not a
// valid id cannot exist, so it is not found without asking the database,
// which could fail on it (PostgreSQL refuses NUL in text): bad input must
// never be a 500.
func (s *Server) pathAccount(r *http.Request) (agentpay.Account, error) {
	id := r.PathValue("id")
	if !agentpay.ValidID(id) {
		return agentpay.Account{}, agentpay.Errorf(agentpay.ENOTFOUND, "account_not_found",
			"account not found: ids are 1 to 64 letters, digits, '_' or '-'")
	}
	return s.DB.Account(r.Context(), id)
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	a, err := s.pathAccount(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAccountJSON(a))
}

type listJSON struct {
	Object     string         `json:"object"`
	Data       []transferJSON `json:"data"`
	HasMore    bool           `json:"has_more"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// accountTransfers lists an account's transfers, newest first. The cursor is
// opaque to clients: "TIMESTAMP.ID" of the last transfer of the page.
func (s *Server) accountTransfers(w http.ResponseWriter, r *http.Request) {
	a, err := s.pathAccount(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := a.ID
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			s.writeError(w, r, agentpay.ParamErrorf("limit", "invalid_limit", "limit must be an integer from 1 to 100"))
			return
		}
		limit = n
	}
	var after *store.Cursor
	if v := r.URL.Query().Get("cursor"); v != "" {
		ts, tid, ok := strings.Cut(v, ".")
		n, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || !agentpay.ValidID(tid) {
			s.writeError(w, r, agentpay.ParamErrorf("cursor", "invalid_cursor", "cursor must be a next_cursor from an earlier page"))
			return
		}
		after = &store.Cursor{Timestamp: n, ID: tid}
	}
	page, err := s.DB.AccountTransfers(r.Context(), id, after, limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := listJSON{Object: "list", Data: []transferJSON{}}
	for i, t := range page {
		if i == limit {
			out.HasMore = true
			break
		}
		out.Data = append(out.Data, toTransferJSON(t))
	}
	if out.HasMore {
		last := page[limit-1]
		out.NextCursor = strconv.FormatInt(last.Timestamp, 10) + "." + last.ID
	}
	writeJSON(w, http.StatusOK, out)
}
