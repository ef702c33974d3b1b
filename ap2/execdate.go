package ap2

import (
	"errors"
	"time"
)

// parseExecTime reads an execution date of AP2 ("ISO8601 date"): a full
// date such as 2026-04-30, covering that whole UTC day, or an RFC 3339
// date-time such as 2026-04-30T23:59:59Z, covering that second. It returns
// the first and last Unix second covered, so that windows compare whole
// days and instants alike, both ends inclusive.
func parseExecTime(s string) (first, last int64, err error) {
	if len(s) == len(time.DateOnly) {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return 0, 0, errors.New("not an ISO 8601 date")
		}
		return d.Unix(), d.Unix() + 24*60*60 - 1, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, 0, errors.New("not an ISO 8601 date or RFC 3339 date-time")
	}
	return t.Unix(), t.Unix(), nil
}
