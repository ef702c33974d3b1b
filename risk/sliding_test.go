package risk

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

func TestSliding(t *testing.T) {
	const m, d = time.Minute, 24 * time.Hour
	tests := []struct {
		name            string
		prev, cur       int64
		elapsed, window time.Duration
		want            int64
	}{
		{"window just started", 100, 10, 0, m, 110},
		{"a quarter in", 100, 10, m / 4, m, 85},
		{"half way", 100, 10, m / 2, m, 60},
		{"rounds down", 1, 0, time.Nanosecond, m, 0},
		{"at the end", 100, 10, m, m, 10},
		{"past the end", 100, 10, 2 * m, m, 10},
		{"clock behind: previous counts whole", 100, 10, -time.Second, m, 110},
		{"no window", 100, 10, time.Second, 0, 10},
		{"negative totals count as zero", -100, -10, 0, m, 0},
		{"amounts that overflow 64-bit products", 1e15, 2e14, 6 * time.Hour, d, 2e14 + 75e13},
		{"largest previous", math.MaxInt64, 0, d / 2, d, math.MaxInt64 / 2},
		{"saturates", 5, math.MaxInt64, 0, m, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := Sliding(tt.prev, tt.cur, tt.elapsed, tt.window); got != tt.want {
			t.Errorf("%s: Sliding(%d, %d, %v, %v) = %d, want %d", tt.name, tt.prev, tt.cur, tt.elapsed, tt.window, got, tt.want)
		}
	}
	// Random inputs against big integers.
	rng := rand.New(rand.NewPCG(5, 6))
	for range 10000 {
		prev, cur := rng.Int64()>>rng.IntN(63), rng.Int64()>>rng.IntN(63)
		window := time.Duration(rng.Int64N(int64(30*d)) + 1)
		elapsed := time.Duration(rng.Int64N(int64(window)))
		want := new(big.Int).Mul(big.NewInt(prev), big.NewInt(int64(window-elapsed)))
		want.Quo(want, big.NewInt(int64(window)))
		want.Add(want, big.NewInt(cur))
		if !want.IsInt64() {
			want.SetInt64(math.MaxInt64)
		}
		if got := Sliding(prev, cur, elapsed, window); got != want.Int64() {
			t.Fatalf("Sliding(%d, %d, %v, %v) = %d, want %s", prev, cur, elapsed, window, got, want)
		}
	}
}

func TestWindowStart(t *testing.T) {
	at := time.Date(2026, 3, 5, 14, 37, 42, 500, time.FixedZone("EET", 2*3600))
	tests := []struct {
		window time.Duration
		want   time.Time
	}{
		{time.Minute, time.Date(2026, 3, 5, 12, 37, 0, 0, time.UTC)},
		{time.Hour, time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)},
		{24 * time.Hour, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)},
		{0, at.UTC()},
	}
	for _, tt := range tests {
		got := WindowStart(at, tt.window)
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("WindowStart(%v, %v) = %v, want %v", at, tt.window, got, tt.want)
		}
	}
	// The instant before a window starts belongs to the previous window, and
	// a reading with a monotonic clock gives the same start as its wall time.
	start := WindowStart(time.Now(), time.Minute)
	if prev := WindowStart(start.Add(-time.Nanosecond), time.Minute); !prev.Equal(start.Add(-time.Minute)) {
		t.Errorf("previous window starts at %v, want %v", prev, start.Add(-time.Minute))
	}
	now := time.Now()
	if !WindowStart(now, time.Hour).Equal(WindowStart(now.Round(0), time.Hour)) {
		t.Error("the monotonic reading changes the window")
	}
}
