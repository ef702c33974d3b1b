package risk

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQuarterOctave recomputes the table: floor(2^(63+k/4)) is the integer
// fourth root of 2^(252+k), and floor(sqrt(floor(sqrt(x)))) is that root.
func TestQuarterOctave(t *testing.T) {
	for k, got := range quarterOctave {
		x := new(big.Int).Lsh(big.NewInt(1), uint(252+k))
		root := new(big.Int).Sqrt(new(big.Int).Sqrt(x))
		if !root.IsUint64() || root.Uint64() != got {
			t.Errorf("quarterOctave[%d] = %#x, want %#x", k, got, root)
		}
	}
}

// exactBucket checks floor(4·log2(a)) = b the exact way: 2^b <= a^4 < 2^(b+1).
func exactBucket(a int64, b int) bool {
	a4 := new(big.Int).Exp(big.NewInt(a), big.NewInt(4), nil)
	lo := new(big.Int).Lsh(big.NewInt(1), uint(b))
	hi := new(big.Int).Lsh(big.NewInt(1), uint(b+1))
	return a4.Cmp(lo) >= 0 && a4.Cmp(hi) < 0
}

func TestBucket(t *testing.T) {
	for _, tt := range []struct {
		amount int64
		bucket int
	}{
		{math.MinInt64, 0}, {-5, 0}, {0, 0}, {1, 0}, {2, 4}, {3, 6}, {4, 8}, {5, 9}, {1000, 39}, {1024, 40},
		{1217, 40}, {1218, 41}, {math.MaxInt64, BucketMax},
	} {
		if got := Bucket(tt.amount); got != tt.bucket {
			t.Errorf("Bucket(%d) = %d, want %d", tt.amount, got, tt.bucket)
		}
	}
	// Every boundary and its neighbours, where a floating-point log2 could
	// round the wrong way, then random amounts on a log scale.
	var amounts []int64
	for b := 0; b <= BucketMax; b++ {
		lo := BucketLow(b)
		amounts = append(amounts, lo, lo+1)
		if lo > 1 {
			amounts = append(amounts, lo-1)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		amounts = append(amounts, rng.Int64N(math.MaxInt64)>>rng.IntN(63))
	}
	for _, a := range amounts {
		if a >= 1 && !exactBucket(a, Bucket(a)) {
			t.Fatalf("Bucket(%d) = %d is not floor(4·log2(%d))", a, Bucket(a), a)
		}
	}
}

func TestBucketLowAndMid(t *testing.T) {
	for _, tt := range []struct {
		b   int
		low int64
	}{{-3, 1}, {0, 1}, {1, 2}, {4, 2}, {5, 3}, {6, 3}, {7, 4}, {8, 4}, {40, 1024}, {41, 1218}, {BucketMax, BucketLow(BucketMax)}, {BucketMax + 9, BucketLow(BucketMax)}} {
		if got := BucketLow(tt.b); got != tt.low {
			t.Errorf("BucketLow(%d) = %d, want %d", tt.b, got, tt.low)
		}
	}
	for b := 0; b <= BucketMax; b++ {
		lo, hi := BucketLow(b), bucketHigh(b)
		// BucketLow(b) is the first amount whose bucket is at least b.
		if Bucket(lo) < b || (lo > 1 && Bucket(lo-1) >= b) {
			t.Errorf("BucketLow(%d) = %d: Bucket(%d) = %d, Bucket(%d) = %d", b, lo, lo, Bucket(lo), lo-1, Bucket(lo-1))
		}
		mid := BucketMid(b)
		if hi < lo { // a bucket with no integer: amounts 1 to 7 skip some
			if mid != lo || b >= 8 {
				t.Errorf("empty bucket %d: BucketMid = %d, BucketLow = %d", b, mid, lo)
			}
			continue
		}
		if Bucket(lo) != b || Bucket(hi) != b || mid < lo || mid > hi {
			t.Errorf("bucket %d: low %d, high %d, mid %d (buckets %d, %d, %d)", b, lo, hi, mid, Bucket(lo), Bucket(hi), Bucket(mid))
		}
	}
}

func TestQuantile(t *testing.T) {
	if got := Quantile(nil, 0.5); got != 0 {
		t.Errorf("Quantile(nil) = %d", got)
	}
	if got := Quantile(map[int]int64{7: 0, 9: -3}, 0.5); got != 0 {
		t.Errorf("Quantile of no counts = %d", got)
	}
	h := map[int]int64{Bucket(100): 1, Bucket(1000): 1, -4: 0, 400: 1}
	for _, tt := range []struct {
		q    float64
		want int64
	}{{math.NaN(), BucketMid(Bucket(100))}, {-1, BucketMid(Bucket(100))}, {0.5, BucketMid(Bucket(1000))}, {2, BucketMid(BucketMax)}} {
		if got := Quantile(h, tt.q); got != tt.want {
			t.Errorf("Quantile(h, %v) = %d, want %d", tt.q, got, tt.want)
		}
	}

	// Against exact quantiles of random samples: the estimate is in the
	// exact value's bucket, so within 2^(1/4) of it.
	rng := rand.New(rand.NewPCG(3, 4))
	samplers := map[string]func() int64{
		"log-uniform": func() int64 { return int64(math.Exp(rng.Float64() * 30)) },
		"normal":      func() int64 { return max(1, int64(2000+400*rng.NormFloat64())) },
		"constant":    func() int64 { return 1999 },
		"bimodal": func() int64 {
			if rng.IntN(10) == 0 {
				return 500000 + rng.Int64N(1000)
			}
			return 300 + rng.Int64N(50)
		},
	}
	for name, sample := range samplers {
		for _, n := range []int{1, 2, 5, 20, 1000} {
			amounts := make([]int64, n)
			hist := map[int]int64{}
			for i := range amounts {
				amounts[i] = sample()
				hist[Bucket(amounts[i])]++
			}
			slices.Sort(amounts)
			for _, q := range []float64{0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1} {
				exact := amounts[max(int(math.Ceil(q*float64(n))), 1)-1]
				got := Quantile(hist, q)
				ratio := float64(max(got, exact)) / float64(min(got, exact))
				if Bucket(got) != Bucket(exact) || ratio >= math.Pow(2, 0.25) {
					t.Errorf("%s, n %d, q %v: estimate %d, exact %d", name, n, q, got, exact)
				}
			}
		}
	}
}
