package engine

import (
	"time"

	"eventproc/backoff"
)

// RetryPolicy says how often, and after what delays, a message whose processing hit a
// retryable infrastructure failure is tried again.
type RetryPolicy struct {
	MaxAttempts  int           // attempts in all, the first included; ≥ 1
	InitialDelay time.Duration // delay after the first failed attempt
	Multiplier   float64       // growth per attempt; ≥ 1
	MaxDelay     time.Duration // cap on any delay
	Jitter       float64       // in [0, 1]: a delay is reduced by up to this fraction
}

// DefaultRetry is the policy used when events.d declares none: 5 attempts, 30 s, ×2,
// capped at 5 minutes, with 20 % jitter.
var DefaultRetry = RetryPolicy{
	MaxAttempts:  5,
	InitialDelay: 30 * time.Second,
	Multiplier:   2,
	MaxDelay:     5 * time.Minute,
	Jitter:       0.2,
}

// Delay returns how long to wait before the next attempt, after attempt number
// attempt (1-based, as in SQS's ApproximateReceiveCount) failed. u is a uniform random
// number in [0, 1) that drives the jitter; pass 0 for the un-jittered delay.
//
// The delay is the policy's Backoff after attempt failures (InitialDelay ×
// Multiplier^(attempt-1), capped at MaxDelay, then reduced by Jitter×u of itself), and
// never below one second (SQS's granularity).
func (p RetryPolicy) Delay(attempt int, u float64) time.Duration {
	return max(p.Backoff().Delay(attempt, u), time.Second)
}

// Backoff is the policy's delays as a backoff.Policy.
func (p RetryPolicy) Backoff() backoff.Policy {
	return backoff.Policy{Initial: p.InitialDelay, Multiplier: p.Multiplier, Max: p.MaxDelay, Jitter: p.Jitter}
}

// Exhausted reports whether attempt (1-based) was the last one the policy allows.
func (p RetryPolicy) Exhausted(attempt int) bool { return attempt >= p.MaxAttempts }
