package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Count adds to one counter: N events and Amount minor units, kept until
// ExpiresAt (microseconds). Counts commute, so the committer sums those of
// a batch by id and adds them with one upsert: units never conflict on a
// counter, however hot, and every node reads exact sums.
type Count struct {
	ID        string
	N, Amount int64
	ExpiresAt int64
}

// CountersMax bounds the counters one read may ask for.
const CountersMax = 512

// Counters reads counters by id in one query; a missing one is zero.
func (db *DB) Counters(ctx context.Context, ids ...string) (map[string]Count, error) {
	if len(ids) > CountersMax {
		return nil, fmt.Errorf("store: %d counters asked for, at most %d", len(ids), CountersMax)
	}
	out := make(map[string]Count, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	marks := make([]string, len(ids))
	for i, id := range ids {
		args[i] = id
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT id, n, amount, expires_at FROM counters WHERE id IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: counters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.ID, &c.N, &c.Amount, &c.ExpiresAt); err != nil {
			return nil, fmt.Errorf("store: counters: %w", err)
		}
		out[c.ID] = c
	}
	return out, rows.Err()
}

// CountersWithPrefix reads at most limit counters whose ids start with
// prefix, in id order: a range of the primary key, not a scan, for small
// families such as one user's amount histogram.
func (db *DB) CountersWithPrefix(ctx context.Context, prefix string, limit int) ([]Count, error) {
	if prefix == "" {
		return nil, fmt.Errorf("store: counters: empty prefix")
	}
	// Every id with the prefix sorts at or after it and before the prefix
	// with its last byte raised by one (ids are ASCII; the columns use
	// byte order).
	end := prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
	rows, err := db.reader.QueryContext(ctx, `SELECT id, n, amount, expires_at FROM counters WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3`,
		prefix, end, limit)
	if err != nil {
		return nil, fmt.Errorf("store: counters: %w", err)
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.ID, &c.N, &c.Amount, &c.ExpiresAt); err != nil {
			return nil, fmt.Errorf("store: counters: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// sumCounts sums counts by id, in id order (so that nodes upserting the
// same counters lock them in the same order), keeping the latest expiry.
func sumCounts(counts []Count) []Count {
	byID := make(map[string]int, len(counts))
	var out []Count
	for _, c := range counts {
		i, ok := byID[c.ID]
		if !ok {
			byID[c.ID] = len(out)
			out = append(out, c)
			continue
		}
		out[i].N += c.N
		out[i].Amount += c.Amount
		out[i].ExpiresAt = max(out[i].ExpiresAt, c.ExpiresAt)
	}
	slices.SortFunc(out, func(a, b Count) int { return strings.Compare(a.ID, b.ID) })
	return out
}
