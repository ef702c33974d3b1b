package webhook

import (
	"math/rand/v2"
	"time"
)

// Rules of retries and of disabling endpoints.
const (
	// RetryWindow is how long after its first attempt a delivery is
	// retried; the last attempt is at the end of the window, then the
	// delivery is dead.
	RetryWindow = 72 * time.Hour
	// DisableAfter is how long an endpoint may fail without a single
	// success before it is disabled: the same three days, so an endpoint
	// is disabled about when the first delivery it failed dies.
	DisableAfter = 72 * time.Hour
	// SecretGrace is how long a replaced secret keeps signing beside the
	// new one, so receivers can switch without rejecting deliveries.
	SecretGrace = 24 * time.Hour
	// jitter spreads each delay by up to ±20 %, so that deliveries that
	// failed together (an endpoint's outage) do not retry together.
	jitter = 0.2
)

// backoff is the delay after the nth failed attempt (n from 1); after the
// last entry, every retry waits as long as it.
var backoff = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour}

// Delay returns how long to wait after the nth failed attempt, before
// jitter: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, then every 6 h.
func Delay(attempts int64) time.Duration {
	i := min(max(attempts, 1), int64(len(backoff))) - 1
	return backoff[i]
}

// jittered spreads d by a factor from 1-jitter to 1+jitter.
func jittered(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (1 - jitter + 2*jitter*rand.Float64()))
}

// nextAttempt returns when to try again after the nth failed attempt at
// now, for a delivery first attempted at first, and false when the retry
// window is over and the delivery is dead. The last retry is clamped to the
// end of the window, so a delivery always gets an attempt at three days.
func nextAttempt(attempts int64, first, now time.Time) (time.Time, bool) {
	end := first.Add(RetryWindow)
	if !now.Before(end) {
		return time.Time{}, false
	}
	next := now.Add(jittered(Delay(attempts)))
	if next.After(end) {
		next = end
	}
	return next, true
}
