// Package batch sends the entries of a batch call (SQS SendMessageBatch, SNS
// PublishBatch) and retries those the service did not take for a reason other than the
// sender's, the same way for every adapter that sends.
package batch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"eventproc/worker"
)

// Failure is one entry that a call did not take.
type Failure struct {
	Index int   // into the caller's entries
	Err   error // why, with the entry's context
	// SenderFault says the entry itself is refused (too large, a bad attribute):
	// retrying cannot help, so the send stops and reports it.
	SenderFault bool
}

// Call sends the entries whose indexes are pending in one request. It returns how many
// the service took and the failures among the rest; err is the whole request's error,
// already classified (*worker.RetryableError or *worker.FatalError).
type Call func(ctx context.Context, pending []int) (sent int, failed []Failure, err error)

// attempts bounds the calls Send makes for one batch.
const attempts = 4

// Send calls call with the entries 0..n-1, then again, after a short growing pause,
// with the entries that failed for a retryable reason (throttling, a server fault), up
// to four calls in all. It stops at a request error that is not retryable and at the
// first sender faults, which it returns joined. It returns how many entries were sent
// and, when some were not, why.
func Send(ctx context.Context, n int, call Call) (int, error) {
	pending := make([]int, n)
	for i := range pending {
		pending[i] = i
	}
	sent := 0
	var lastErr error
	for attempt := 0; len(pending) > 0 && attempt < attempts; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return sent, &worker.RetryableError{Err: fmt.Errorf("send: %w", ctx.Err())}
			case <-time.After(time.Duration(50<<attempt) * time.Millisecond):
			}
		}
		ok, failed, err := call(ctx, pending)
		if err != nil {
			if !errors.As(err, new(*worker.RetryableError)) {
				return sent, err
			}
			lastErr = err
			continue
		}
		sent += ok
		var retry []int
		var errs []error
		for _, f := range failed {
			if f.SenderFault {
				errs = append(errs, f.Err)
				continue
			}
			retry = append(retry, f.Index)
			lastErr = f.Err
		}
		if len(errs) > 0 {
			return sent, errors.Join(errs...)
		}
		pending = retry
	}
	if len(pending) > 0 {
		return sent, lastErr
	}
	return sent, nil
}

// EntryError is the failure of one entry of a batch call, as the service reports it.
type EntryError struct {
	Code        string
	Message     string
	SenderFault bool
}

func (e *EntryError) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// Classified returns e as the worker's kind of error: a sender fault (the entry itself
// is refused) is neither retryable nor fatal; anything else is retryable.
func (e *EntryError) Classified() error {
	if e.SenderFault {
		return e
	}
	return &worker.RetryableError{Err: e}
}
