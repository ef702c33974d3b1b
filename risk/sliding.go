package risk

import (
	"math/bits"
	"time"
)

// Velocities are kept as fixed windows: one counter per subject and window
// start, so every node adds to the same row and old rows are dropped whole.
// A fixed window alone lets a burst straddling a boundary slip through at
// twice the limit, so the caller reads the current and the previous window
// and estimates the last full window with Sliding (Cloudflare's sliding
// window counter). The estimate assumes the previous window's events were
// spread evenly over it; it is exact for steady traffic and off by at most
// the previous window's count otherwise, in either direction.

// Sliding estimates the count (or amount) over the last window, given the
// previous fixed window's total prev, the current one's total cur, and the
// time elapsed since the current window started:
//
//	cur + prev·(window−elapsed)/window
//
// computed exactly in 128-bit integer arithmetic and rounded down. Negative
// totals count as 0, elapsed is clamped to [0, window], a non-positive window
// returns cur, and a sum that does not fit is math.MaxInt64.
func Sliding(prev, cur int64, elapsed, window time.Duration) int64 {
	prev, cur = max(prev, 0), max(cur, 0)
	if window <= 0 || elapsed >= window {
		return cur
	}
	elapsed = max(elapsed, 0)
	// prev < 2^63 and remaining <= window, so the product's high word is
	// below window and Div64 cannot overflow; the quotient is at most prev.
	remaining := uint64(window - elapsed)
	hi, lo := bits.Mul64(uint64(prev), remaining)
	weighted, _ := bits.Div64(hi, lo, uint64(window))
	return saturatingAdd(cur, int64(weighted))
}

// WindowStart returns the start of the fixed window of length window that
// holds t: t rounded down to a multiple of window since Go's zero time, in
// UTC, so every node agrees and windows that divide a day start on UTC
// minutes, hours and days. The previous window starts window earlier. A
// non-positive window returns t in UTC.
func WindowStart(t time.Time, window time.Duration) time.Time {
	return t.UTC().Truncate(window)
}
