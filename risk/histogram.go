package risk

import (
	"math"
	"math/bits"
)

// An amount history is a histogram of a user's payment amounts over
// log-scale buckets, a quarter octave wide: bucket b holds the amounts a with
// floor(4·log2(a)) = b, that is 2^(b/4) <= a < 2^((b+1)/4), so any amount is
// within 19% (2^(1/4)) of every other amount in its bucket. Counters of this
// shape are a few dozen integers per user and asset, add up across nodes,
// and give quantiles (the user's median and p95) to about 10%.

// BucketMax is the largest bucket: Bucket(math.MaxInt64).
const BucketMax = 251

// quarterOctave[k] is floor(2^(63 + k/4)): the fraction 2^(k/4), k = 0..3,
// in 64-bit fixed point with the binary point after the top bit. For k > 0
// the true value is irrational, so for an integer x, x >= 2^(63+k/4) exactly
// when x > quarterOctave[k]; TestQuarterOctave recomputes the table.
var quarterOctave = [4]uint64{
	0x8000000000000000,
	0x9837f0518db8a96f,
	0xb504f333f9de6484,
	0xd744fccad69d6af4,
}

// Bucket returns floor(4·log2(amount)) for amount >= 1, and 0 for smaller
// amounts. It uses integer arithmetic only, so it is exact at every bucket
// boundary, where a floating-point logarithm could round either way.
func Bucket(amount int64) int {
	if amount <= 1 {
		return 0
	}
	octave := bits.Len64(uint64(amount)) - 1 // floor(log2(amount))
	// Normalise amount/2^octave, which is in [1, 2), to 64-bit fixed point.
	x := uint64(amount) << (63 - octave)
	quarter := 0
	for k := 3; k > 0; k-- {
		if x > quarterOctave[k] {
			quarter = k
			break
		}
	}
	return 4*octave + quarter
}

// BucketLow returns the smallest amount >= 1 whose bucket is at least b:
// the amounts of bucket b are BucketLow(b) up to BucketLow(b+1)-1 (the last
// bucket ends at math.MaxInt64). b is clamped to [0, BucketMax]. Below 8 some
// buckets hold no integer at all; there BucketLow(b) == BucketLow(b+1).
func BucketLow(b int) int64 {
	b = min(max(b, 0), BucketMax)
	octave, quarter := b/4, b%4
	if quarter == 0 {
		return 1 << octave
	}
	// ceil(2^(octave + quarter/4)), an irrational number, is its floor plus one.
	return int64(quarterOctave[quarter]>>(63-octave)) + 1
}

// bucketHigh returns the largest amount of bucket b (clamped like BucketLow).
func bucketHigh(b int) int64 {
	b = min(max(b, 0), BucketMax)
	if b == BucketMax {
		return math.MaxInt64
	}
	return BucketLow(b+1) - 1
}

// BucketMid returns the geometric midpoint of bucket b's amounts, rounded:
// the estimate with the smallest worst-case ratio to any of them (about 9%
// once amounts are in the hundreds). It is always within the bucket; for a
// bucket that holds no integer it is BucketLow(b).
func BucketMid(b int) int64 {
	lo, hi := BucketLow(b), bucketHigh(b)
	if hi <= lo {
		return lo
	}
	mid := int64(math.Round(math.Sqrt(float64(lo)) * math.Sqrt(float64(hi))))
	// float64 carries 53 bits; clamping keeps large buckets' midpoints inside.
	return min(max(mid, lo), hi)
}

// Quantile estimates the q-quantile (0 <= q <= 1; 0.5 is the median) of the
// amounts counted in a histogram keyed by Bucket. The q-quantile of n amounts
// is the ceil(q·n)-th smallest (the smallest for q = 0); the estimate is the
// midpoint of its bucket, so it is in the same bucket as the exact value and
// within 19% of it (about 9% once amounts are in the hundreds). Buckets outside [0, BucketMax] count as the
// nearest valid bucket and non-positive counts are ignored. An empty
// histogram gives 0.
func Quantile(counts map[int]int64, q float64) int64 {
	var dense [BucketMax + 1]int64
	var total int64
	for b, c := range counts {
		if c <= 0 {
			continue
		}
		b = min(max(b, 0), BucketMax)
		dense[b] = saturatingAdd(dense[b], c)
		total = saturatingAdd(total, c)
	}
	if total == 0 {
		return 0
	}
	if !(q > 0) { // also NaN
		q = 0
	}
	q = min(q, 1)
	rank := total
	if r := math.Ceil(q * float64(total)); r < float64(total) {
		rank = max(int64(r), 1)
	}
	var seen int64
	for b, c := range dense {
		seen = saturatingAdd(seen, c)
		if seen >= rank {
			return BucketMid(b)
		}
	}
	return BucketMid(BucketMax) // unreachable: seen reaches total
}

// saturatingAdd adds non-negative counts, stopping at math.MaxInt64.
func saturatingAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
