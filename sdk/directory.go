package sdk

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// DirectoryMerchant is a merchant an agent can pay, as the directory shows
// it: never its secrets, keys or balances.
type DirectoryMerchant struct {
	Object   string   `json:"object"`
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`     // MerchantBusiness, or MerchantCreator: a person who receives tips
	Category string   `json:"category"` // ISO 18245 merchant category code, e.g. 5411 grocery stores
	Country  string   `json:"country"`  // ISO 3166-1 alpha-2
	Assets   []string `json:"assets"`   // what it takes payments in
}

// DirectoryList is a page of the merchant directory, in id order.
type DirectoryList struct {
	Data    []DirectoryMerchant `json:"data"`
	HasMore bool                `json:"has_more"`
}

// Merchant kinds: a business sells things; a creator (a writer, streamer,
// open-source maintainer) receives tips.
const (
	MerchantBusiness = "business"
	MerchantCreator  = "creator"
)

// DirectoryQuery selects a page of the directory: Query (optional) is a
// part of the name, any case; Kind (optional) is MerchantBusiness or
// MerchantCreator; Limit is 1 to 100 (0: 20); StartingAfter is the last
// merchant id of the previous page ("" for the first).
type DirectoryQuery struct {
	Query         string
	Kind          string
	Limit         int
	StartingAfter string
}

// Merchants lists the active merchants the agent can pay. Any linked agent
// may read the directory, whatever its scopes.
func (a *Agent) Merchants(ctx context.Context, q DirectoryQuery) (*DirectoryList, error) {
	v := url.Values{}
	if q.Query != "" {
		v.Set("q", q.Query)
	}
	if q.Kind != "" {
		v.Set("kind", q.Kind)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.StartingAfter != "" {
		v.Set("starting_after", q.StartingAfter)
	}
	path := "/v1/directory/merchants"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var l DirectoryList
	if err := a.Do(ctx, http.MethodGet, path, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Merchant reads one active merchant of the directory; a suspended or
// unknown one is an *Error merchant_not_found.
func (a *Agent) Merchant(ctx context.Context, id string) (*DirectoryMerchant, error) {
	var m DirectoryMerchant
	if err := a.Do(ctx, http.MethodGet, "/v1/directory/merchants/"+url.PathEscape(id), nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}
