package subscriptions

import "math/bits"

// Prorate returns what a price increase of diff costs for the rest of the
// current period: diff × remaining / length, rounded half up to the minor
// unit, where remaining is the time from the new mandate's approval to the
// period's end and length the period's own length (both in microseconds,
// so a 28-day February and a 31-day March each count in full). It is 0
// when diff, remaining or length is not positive. The product is taken in
// 128 bits: a yearly period is 3×10^13 µs, which times a large amount
// overflows int64. Decreases credit nothing: the period was paid at the
// price the user approved, and the lower price applies from the next one.
func Prorate(diff, remaining, length int64) int64 {
	if diff <= 0 || remaining <= 0 || length <= 0 {
		return 0
	}
	remaining = min(remaining, length)
	hi, lo := bits.Mul64(uint64(diff), uint64(remaining))
	// hi < length since remaining ≤ length and diff < 2^63, so Div64
	// cannot overflow; the quotient is at most diff.
	q, r := bits.Div64(hi, lo, uint64(length))
	if 2*r >= uint64(length) {
		q++
	}
	return int64(q)
}
