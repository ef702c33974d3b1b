package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/agentpay/agentpay"
)

// MandatePage selects mandates newest first: of one owner column
// (grant_id, user_id or merchant_id) equal to ID, created before Before (a
// mandate id to continue after; "" for the newest), at most Limit.
type MandatePage struct {
	Owner  string // "grant_id", "user_id" or "merchant_id"
	ID     string
	Before string
	Limit  int
}

// Mandates lists mandates by MandatePage. An empty ID lists nothing: a
// mandate of categories has no merchant and a merchant's proposal no
// grant, and those are nobody's list.
func (db *DB) Mandates(ctx context.Context, q MandatePage) ([]agentpay.Mandate, error) {
	switch q.Owner {
	case "grant_id", "user_id", "merchant_id":
	default:
		return nil, fmt.Errorf("store: mandates by %q", q.Owner)
	}
	if q.ID == "" {
		return nil, nil
	}
	query := `SELECT ` + mandateColumns + ` FROM mandates WHERE ` + q.Owner + ` = $1`
	args := []any{q.ID}
	if q.Before != "" {
		// Ids sort by creation time (agentpay.NewID), so the id alone pages.
		query += ` AND id < $2 ORDER BY id DESC LIMIT $3`
		args = append(args, q.Before, q.Limit)
	} else {
		query += ` ORDER BY id DESC LIMIT $2`
		args = append(args, q.Limit)
	}
	rows, err := db.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: mandates: %w", err)
	}
	defer rows.Close()
	var out []agentpay.Mandate
	for rows.Next() {
		m, err := scanMandate(rows)
		if err != nil {
			return nil, fmt.Errorf("store: mandates: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// scanMandate reads one row of mandateColumns.
func scanMandate(rows *sql.Rows) (agentpay.Mandate, error) {
	var m agentpay.Mandate
	var kind, categories, unit, status string
	var count int64
	if err := rows.Scan(&m.ID, &kind, &m.UserID, &m.GrantID, &m.MerchantID, &categories, &m.Asset, &m.PerPaymentMax,
		&m.Budget, &unit, &count, &m.TimeZone, &m.StartsAt, &m.EndsAt, &m.Description, &status, &m.ApprovedAt,
		&m.CreatedAt, &m.UpdatedAt, &m.Row); err != nil {
		return m, err
	}
	m.Kind, m.Status = agentpay.MandateKind(kind), agentpay.MandateStatus(status)
	m.Period = agentpay.Interval{Unit: agentpay.IntervalUnit(unit), Count: int(count)}
	if categories != "" {
		m.Categories = strings.Split(categories, ",")
	}
	return m, nil
}
