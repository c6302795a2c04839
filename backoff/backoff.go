// Package backoff is eventproc's one exponential backoff: a delay that starts at
// Initial, grows by Multiplier per failure, is capped at Max, and is shortened by up to
// a fraction Jitter of itself. The rules engine (a message's retry delays), the worker
// (failed receives, acks and visibility changes sent again, the intake breaker's
// pause) and the DynamoDB adapter (unprocessed items written again) all use it.
//
// It is a package of its own, at the top of the module and importing nothing of
// eventproc, so that engine, worker and adapters can all import it without bending the
// rule that imports point inward (adapters → worker → engine): it sits beside that chain,
// not inside it.
//
// A Policy is a value: it holds no state and no random source. The caller counts the
// failures and passes the uniform random number that drives the jitter, so that a test
// can give it fixed numbers and get fixed delays.
package backoff

import (
	"math"
	"time"
)

// Policy is a capped exponential backoff with jitter.
type Policy struct {
	Initial    time.Duration // delay after the first failure
	Multiplier float64       // growth per failure; ≥ 1 (2: doubling)
	Max        time.Duration // cap on any delay, before jitter; 0: none
	Jitter     float64       // in [0, 1]: a delay is shortened by up to this fraction of itself
}

// Delay returns the delay after failure number n (1-based: n = 1 is the first failure,
// which waits Initial). u, uniform in [0, 1), drives the jitter; 0 gives the delay
// without jitter, the longest.
//
// The delay is Initial × Multiplier^(n-1), capped at Max, then shortened by
// Jitter × u of itself. An n below 1 counts as 1; a delay that overflows is Max.
func (p Policy) Delay(n int, u float64) time.Duration {
	n = max(n, 1)
	d := float64(p.Initial) * math.Pow(p.Multiplier, float64(n-1))
	if p.Max > 0 && (d > float64(p.Max) || math.IsInf(d, 0) || math.IsNaN(d)) {
		d = float64(p.Max)
	}
	if !(d < 1<<63) { // beyond a time.Duration (or NaN): only without a cap
		d = math.Nextafter(1<<63, 0)
	}
	if p.Jitter > 0 && u > 0 {
		d -= d * p.Jitter * u
	}
	return time.Duration(d)
}
