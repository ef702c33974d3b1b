package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Limits of the merchant directory.
const (
	// DirectoryListMax bounds ?limit= of GET /v1/directory/merchants.
	DirectoryListMax = 100
	// DirectoryQueryMax bounds ?q=, in bytes.
	DirectoryQueryMax = 100
)

// directoryRoutes serves the merchant directory to agents: which active
// merchants they can pay and in what. Any linked agent may read it (any
// scope): it is what an agent needs before it can ask for a payment, and it
// shows only what the merchants show every payer anyway.
func (s *Server) directoryRoutes() {
	s.mux.Handle("GET /v1/directory/merchants", s.agent("", s.listDirectory))
	s.mux.Handle("GET /v1/directory/merchants/{id}", s.agent("", s.getDirectoryMerchant))
}

// directoryMerchantJSON is a merchant as agents see it: never its webhook
// URL, secrets, keys or balances.
type directoryMerchantJSON struct {
	Object   string   `json:"object"`
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`     // business, or creator (a person who receives tips)
	Category string   `json:"category"` // ISO 18245 merchant category code
	Country  string   `json:"country"`
	Assets   []string `json:"assets"` // the assets it takes: those it has a ledger account in
}

type directoryListJSON struct {
	Object  string                  `json:"object"`
	Data    []directoryMerchantJSON `json:"data"`
	HasMore bool                    `json:"has_more"`
}

// listDirectory is GET /v1/directory/merchants?limit=&starting_after=&q=&kind=:
// active merchants in id order (oldest first), q a case-insensitive part of
// the name, kind business or creator.
func (s *Server) listDirectory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > DirectoryListMax {
			s.writeError(w, r, agentpay.ParamErrorf("limit", "invalid_limit", "limit is 1 to %d", DirectoryListMax))
			return
		}
		limit = n
	}
	after := q.Get("starting_after")
	if after != "" && (!strings.HasPrefix(after, "mer_") || !agentpay.ValidID(after)) {
		s.writeError(w, r, agentpay.ParamErrorf("starting_after", "invalid_id", "starting_after must be a merchant id"))
		return
	}
	name := q.Get("q")
	if len(name) > DirectoryQueryMax || !utf8.ValidString(name) {
		s.writeError(w, r, agentpay.ParamErrorf("q", "invalid_query", "q is at most %d bytes of text", DirectoryQueryMax))
		return
	}
	var kind agentpay.MerchantKind // none: any
	if vs, ok := q["kind"]; ok {
		if kind = agentpay.MerchantKind(vs[0]); len(vs) != 1 || !kind.Valid() {
			s.writeError(w, r, agentpay.ParamErrorf("kind", "invalid_kind", "kind is one of business or creator"))
			return
		}
	}
	list, err := s.DB.Directory(r.Context(), store.DirectoryQuery{After: after, Name: name, Kind: kind, Limit: limit + 1})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := directoryListJSON{Object: "list", Data: []directoryMerchantJSON{}}
	if len(list) > limit {
		list, out.HasMore = list[:limit], true
	}
	for _, m := range list {
		out.Data = append(out.Data, directoryJSON(m))
	}
	writeJSON(w, http.StatusOK, out)
}

// getDirectoryMerchant is GET /v1/directory/merchants/{id}: one active
// merchant; a suspended or unknown one is 404 alike.
func (s *Server) getDirectoryMerchant(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m, err := s.DB.Merchant(r.Context(), id)
	if err == nil && m.Status != agentpay.MerchantActive {
		err = agentpay.Errorf(agentpay.ENOTFOUND, "merchant_not_found", "merchant %s not found", id)
	}
	var e store.DirectoryMerchant
	if err == nil {
		e, err = s.DB.DirectoryEntry(r.Context(), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, directoryJSON(e))
}

func directoryJSON(m store.DirectoryMerchant) directoryMerchantJSON {
	return directoryMerchantJSON{Object: "merchant", ID: m.ID, Name: m.Name, Kind: string(m.Kind), Category: m.MCC,
		Country: m.Country, Assets: m.Assets}
}
