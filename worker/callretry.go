package worker

import (
	"context"
	"errors"
	"time"

	"eventproc/backoff"
)

// Acks and visibility changes that fail retryably (a throttled or failed
// DeleteMessageBatch or ChangeMessageVisibilityBatch, an entry failing on the server's
// side) are sent again a few times before the worker gives up on them: a lost ack
// means a needless redelivery, a lost retry delay a retry too soon, and a lost
// extension a message delivered twice.
const callRetries = 3 // sends after the first

// callRetryPause is the pause before each send again: 100 ms before the first, doubling.
var callRetryPause = backoff.Policy{Initial: 100 * time.Millisecond, Multiplier: 2}

// withRetries calls do with vals, then again with the values whose errors are
// retryable, up to callRetries times, pausing as callRetryPause says between calls,
// never past ctx and not once quit is closed (the grace period is over: the stop must
// not wait for retries). Each call gets callTimeout. It returns one error per value:
// the last one met.
func withRetries[T any](ctx context.Context, quit <-chan struct{}, vals []T, callTimeout time.Duration, do func(ctx context.Context, vals []T) []error) []error {
	call := func(vs []T) []error {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		return do(cctx, vs)
	}
	errs := call(vals)
	for retry := 1; retry <= callRetries; retry++ {
		var again []int
		for i, err := range errs {
			var re *RetryableError
			if err != nil && errors.As(err, &re) {
				again = append(again, i)
			}
		}
		if len(again) == 0 || !pauseFor(ctx, quit, callRetryPause.Delay(retry, 0)) {
			break
		}
		sub := make([]T, len(again))
		for k, i := range again {
			sub[k] = vals[i]
		}
		subErrs := call(sub)
		if len(subErrs) != len(sub) {
			break
		}
		for k, i := range again {
			errs[i] = subErrs[k]
		}
	}
	return errs
}

// pauseFor waits d, and reports false when ctx would end or quit close first.
func pauseFor(ctx context.Context, quit <-chan struct{}, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-quit:
		return false
	case <-t.C:
		return true
	}
}
