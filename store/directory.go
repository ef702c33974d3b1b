package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/agentpay/agentpay"
)

// DirectoryMerchant is an active merchant as the agents' directory lists
// it: what a merchant shows every payer anyway, never its webhook, keys or
// balances.
type DirectoryMerchant struct {
	ID, Name, MCC, Country string
	Kind                   agentpay.MerchantKind
	Assets                 []string // those it has a ledger account in
}

// DirectoryQuery selects a page of the directory: active merchants after
// the id After, whose name contains Name (any case; ASCII case folding on
// SQLite) if it is not "", of Kind if it is not "", at most Limit.
type DirectoryQuery struct {
	After, Name string
	Kind        agentpay.MerchantKind
	Limit       int
}

// The directory reads the merchants in id order (their primary key, so a
// page is an index range), and the assets of a page's merchants in one
// range read of the accounts_owner index.
const (
	directorySelect = `SELECT id, name, mcc, country, kind FROM merchants WHERE status = 'active' AND id > $1`
	directoryOrder  = ` ORDER BY id LIMIT $`
	// The kind filter reads the merchants_kind index (kind, id) in id
	// order, so a page of creators is an index range too.
	directoryKindFilter = ` AND kind = $`
	// The name filter is a scan of the merchants after the cursor until a
	// page is found: merchants are few next to payments, and no index
	// serves a substring match on both engines.
	directoryNameFilter = ` AND LOWER(name) LIKE $`
	directoryAssets     = `SELECT owner_id, asset FROM accounts WHERE owner_id <> '' AND owner_id >= $1 AND owner_id <= $2
		AND kind = 'merchant' ORDER BY owner_id, asset`
)

// Directory returns the page of active merchants q selects, with their
// assets.
func (db *DB) Directory(ctx context.Context, q DirectoryQuery) ([]DirectoryMerchant, error) {
	query, args := directorySelect, []any{q.After}
	if q.Name != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(q.Name))+"%")
		query += directoryNameFilter + strconv.Itoa(len(args)) + ` ESCAPE '\'`
	}
	if q.Kind != "" {
		args = append(args, string(q.Kind))
		query += directoryKindFilter + strconv.Itoa(len(args))
	}
	args = append(args, q.Limit)
	query += directoryOrder + strconv.Itoa(len(args))
	rows, err := db.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: directory: %w", err)
	}
	defer rows.Close()
	var list []DirectoryMerchant
	for rows.Next() {
		var m DirectoryMerchant
		var kind string
		if err := rows.Scan(&m.ID, &m.Name, &m.MCC, &m.Country, &kind); err != nil {
			return nil, fmt.Errorf("store: directory: %w", err)
		}
		m.Kind = agentpay.MerchantKind(kind)
		list = append(list, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: directory: %w", err)
	}
	return list, db.addAssets(ctx, list)
}

// DirectoryEntry returns one merchant with its assets, active or not (the
// caller decides what to show).
func (db *DB) DirectoryEntry(ctx context.Context, id string) (DirectoryMerchant, error) {
	m, err := db.Merchant(ctx, id)
	if err != nil {
		return DirectoryMerchant{}, err
	}
	list := []DirectoryMerchant{{ID: m.ID, Name: m.Name, MCC: m.MCC, Country: m.Country, Kind: m.Kind}}
	return list[0], db.addAssets(ctx, list)
}

// addAssets fills in the assets of merchants in id order, in one read of
// the accounts owned in their id range (merchants outside the page in that
// range are skipped).
func (db *DB) addAssets(ctx context.Context, list []DirectoryMerchant) error {
	if len(list) == 0 {
		return nil
	}
	at := make(map[string]int, len(list))
	for i := range list {
		list[i].Assets = []string{}
		at[list[i].ID] = i
	}
	rows, err := db.reader.QueryContext(ctx, directoryAssets, list[0].ID, list[len(list)-1].ID)
	if err != nil {
		return fmt.Errorf("store: directory assets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var owner, asset string
		if err := rows.Scan(&owner, &asset); err != nil {
			return fmt.Errorf("store: directory assets: %w", err)
		}
		if i, ok := at[owner]; ok {
			list[i].Assets = append(list[i].Assets, asset)
		}
	}
	return rows.Err()
}

// escapeLike escapes LIKE's wildcards (and its escape character) in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
