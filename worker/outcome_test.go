package worker

import (
	"errors"
	"testing"
	"time"

	"eventproc/engine"
)

// TestDecide is the outcome table, row by row.
func TestDecide(t *testing.T) {
	policy := engine.RetryPolicy{MaxAttempts: 3, InitialDelay: 10 * time.Second, Multiplier: 3, MaxDelay: time.Minute, Jitter: 0.5}
	valid := &engine.Verdict{Outcome: engine.Valid, Retry: policy}
	invalid := &engine.Verdict{Outcome: engine.Invalid, Retry: policy, Violations: []engine.Violation{{Rule: "r", Message: "m"}}}
	ruleFailed := &engine.Verdict{Outcome: engine.RuleFailed, Retry: policy, Err: errors.New("rule x failed")}
	retryable := &RetryableError{Err: errors.New("throttled")}
	fatal := &FatalError{Err: errors.New("no such table")}
	other := errors.New("something odd")
	unwritable := &UnwritableError{Err: errors.New("item size has exceeded the maximum allowed size")}
	outage := &OutageError{Dependency: "table events", Failed: 20, Total: 21, Window: 10 * time.Second}
	dlqOutage := &OutageError{Dependency: "dead-letter queue of q", Failed: 20, Total: 20, Window: 10 * time.Second}
	conflict := &ConflictError{Table: "events", Key: `pk="k"`, Existing: "aa", Incoming: "bb"}
	tests := []struct {
		name    string
		f       facts
		attempt int
		stopped bool
		want    action
	}{
		{"valid stored", facts{verdict: valid, wrote: true}, 1, false, action{outcome: Processed, ack: true}},
		{"invalid stored", facts{verdict: invalid, wrote: true}, 1, false, action{outcome: Rejected, reason: "r: m", ack: true}},
		{"rule failed", facts{verdict: ruleFailed}, 1, false, action{outcome: RuleFailed, reason: "rule x failed", deadLetter: true}},
		{"retry 1", facts{verdict: valid, wrote: true, putErr: retryable}, 1, false,
			action{outcome: Retry, reason: retryable.Error(), visibility: true, delay: 7500 * time.Millisecond}},
		{"retry 2", facts{verdict: invalid, wrote: true, putErr: retryable}, 2, false,
			action{outcome: Retry, reason: retryable.Error(), visibility: true, delay: 22500 * time.Millisecond}},
		{"unclassified error is retried", facts{verdict: valid, wrote: true, putErr: other}, 1, false,
			action{outcome: Retry, reason: other.Error(), visibility: true, delay: 7500 * time.Millisecond}},
		{"exhausted: its item is looked up first", facts{verdict: valid, wrote: true, putErr: retryable}, 3, false,
			action{outcome: Exhausted, reason: retryable.Error(), lookup: true}},
		{"exhausted, not stored", facts{verdict: valid, wrote: true, putErr: retryable, lookedUp: true}, 3, false,
			action{outcome: Exhausted, reason: retryable.Error(), deadLetter: true}},
		{"beyond exhausted", facts{verdict: valid, wrote: true, putErr: retryable, lookedUp: true}, 9, false,
			action{outcome: Exhausted, reason: retryable.Error(), deadLetter: true}},
		{"exhausted, found stored: processed", facts{verdict: valid, wrote: true, putErr: retryable, lookedUp: true, stored: true}, 3, false,
			action{outcome: Processed, reason: "its write failed (" + retryable.Error() + ") but its item was found already stored", ack: true}},
		{"exhausted, rejected item found stored: rejected", facts{verdict: invalid, wrote: true, putErr: retryable, lookedUp: true, stored: true}, 3, false,
			action{outcome: Rejected, reason: "its write failed (" + retryable.Error() + ") but its item was found already stored", ack: true}},
		{"exhausted, look-up failed: tried again (it may be stored)", facts{verdict: valid, wrote: true, putErr: retryable, lookedUp: true, lookupErr: other}, 3, false,
			action{outcome: Retry, reason: retryable.Error() + "; out of attempts, but " + other.Error(), visibility: true, delay: 45 * time.Second}},
		{"exhausted, look-up failed two attempts past the last: dead-lettered", facts{verdict: valid, wrote: true, putErr: retryable, lookedUp: true, lookupErr: other}, 5, false,
			action{outcome: Exhausted, reason: retryable.Error() + "; " + other.Error(), deadLetter: true}},
		{"exhausted, look-up failed for good: dead-lettered", facts{verdict: valid, wrote: true, putErr: retryable, lookedUp: true, lookupErr: fatal}, 3, false,
			action{outcome: Exhausted, reason: retryable.Error() + "; " + fatal.Error(), deadLetter: true}},
		{"exhausted, look-up failed during an outage: held", facts{verdict: valid, wrote: true, putErr: retryable, lookedUp: true, lookupErr: other, outage: outage}, 3, false,
			action{outcome: Outage, reason: retryable.Error(), hold: true, fatal: outage}},
		{"exhausted, sink cannot look up: dead-lettered", facts{verdict: valid, wrote: true, putErr: retryable, lookedUp: true, lookupErr: errNoLookup}, 3, false,
			action{outcome: Exhausted, reason: retryable.Error(), deadLetter: true}},
		{"outage: held, no attempt spent", facts{verdict: valid, wrote: true, putErr: retryable, outage: outage}, 1, false,
			action{outcome: Outage, reason: retryable.Error(), hold: true, fatal: outage}},
		{"outage on the last attempt: held, not exhausted", facts{verdict: valid, wrote: true, putErr: retryable, outage: outage}, 3, false,
			action{outcome: Outage, reason: retryable.Error(), hold: true, fatal: outage}},
		{"outage while stopping: released", facts{verdict: valid, wrote: true, putErr: retryable, outage: outage}, 1, true,
			action{outcome: Released, reason: retryable.Error(), visibility: true}},
		{"dead-letter queue down: held", facts{verdict: ruleFailed, deadLettered: true, dlqErr: retryable, dlqOutage: dlqOutage}, 2, false,
			action{outcome: Outage, reason: "dead-letter: " + retryable.Error(), hold: true, fatal: dlqOutage}},
		{"fatal does not spend attempts", facts{verdict: valid, wrote: true, putErr: fatal}, 3, false,
			action{outcome: Fatal, reason: fatal.Error(), hold: true, fatal: fatal}},
		{"stopped: released, not retried", facts{verdict: valid, wrote: true, putErr: retryable}, 3, true,
			action{outcome: Released, reason: retryable.Error(), visibility: true}},
		{"stopped but stored: acked", facts{verdict: valid, wrote: true}, 1, true, action{outcome: Processed, ack: true}},
		{"panic", facts{panic: &panicError{value: "boom"}}, 1, false, action{outcome: Panicked, reason: "panic: boom", deadLetter: true}},
		{"panic in the sink", facts{verdict: valid, wrote: true, putErr: &panicError{value: "nil map"}}, 1, false,
			action{outcome: Panicked, reason: "panic: nil map", deadLetter: true}},
		{"unwritable item: dead-lettered at once", facts{verdict: valid, wrote: true, putErr: unwritable}, 1, false,
			action{outcome: Unwritable, reason: unwritable.Error(), deadLetter: true}},
		{"unwritable, dead-lettered: ack", facts{verdict: invalid, wrote: true, putErr: unwritable, deadLettered: true}, 1, false,
			action{outcome: Unwritable, reason: unwritable.Error(), ack: true}},
		{"conflict: dead-lettered at once, attempts not spent", facts{verdict: valid, wrote: true, putErr: conflict}, 1, false,
			action{outcome: Conflict, reason: conflict.Error(), deadLetter: true, conflict: conflict}},
		{"conflict, dead-lettered: ack", facts{verdict: valid, wrote: true, putErr: conflict, deadLettered: true}, 1, false,
			action{outcome: Conflict, reason: conflict.Error(), ack: true, conflict: conflict}},
		{"item not buildable", facts{verdict: valid, buildErr: errors.New("no key")}, 1, false,
			action{outcome: Broken, reason: "no key", deadLetter: true}},
		{"dead-lettered: ack", facts{verdict: ruleFailed, deadLettered: true}, 1, false,
			action{outcome: RuleFailed, reason: "rule x failed", ack: true}},
		{"exhausted, dead-lettered: ack", facts{verdict: valid, wrote: true, putErr: retryable, lookedUp: true, deadLettered: true}, 3, false,
			action{outcome: Exhausted, reason: retryable.Error(), ack: true}},
		{"dead-letter refused for now: retry", facts{verdict: ruleFailed, deadLettered: true, dlqErr: retryable}, 2, false,
			action{outcome: Retry, reason: "dead-letter: " + retryable.Error(), visibility: true, delay: 22500 * time.Millisecond}},
		{"dead-letter queue missing: pause", facts{verdict: valid, wrote: true, putErr: retryable, lookedUp: true, deadLettered: true, dlqErr: fatal}, 3, false,
			action{outcome: Fatal, reason: "dead-letter: " + fatal.Error(), hold: true, fatal: fatal}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(tt.f, tt.attempt, tt.stopped, 0.5)
			if got != tt.want {
				t.Errorf("decide = %+v\nwant       %+v", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	cfg := Config{ReceiveBackoff: 200 * time.Millisecond, ReceiveBackoffMax: 20 * time.Second}
	for _, tt := range []struct {
		failures int
		u        float64
		want     time.Duration
	}{
		{1, 0, 200 * time.Millisecond},
		{2, 0, 400 * time.Millisecond},
		{8, 0, 20 * time.Second},
		{100, 0, 20 * time.Second},
		{1, 1, 150 * time.Millisecond},
	} {
		if got := cfg.receiveBackoff().Delay(tt.failures, tt.u); got != tt.want {
			t.Errorf("backoff(%d, %v) = %v, want %v", tt.failures, tt.u, got, tt.want)
		}
	}
}
