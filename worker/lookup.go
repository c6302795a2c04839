package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"eventproc/engine"
)

// A write reported failed may have landed: a worker that crashed after its batch write
// but before its acks, a call that timed out after DynamoDB stored the items. The
// redelivered message cannot know, and may run out of attempts (an outage shorter than
// the detector's thresholds, its own throttled key). So before an exhausted message is
// dead-lettered its item is read back: stored with the message's payload, the message
// was processed after all and is acked. Not found, stored with another payload, or the
// read failing: it is dead-lettered as before. This read is made only on this rare path.

// Looker is a Sink that can read an item back. The worker uses it, when the Sink
// implements it, before dead-lettering a message as Exhausted.
type Looker interface {
	// Lookup reads the item stored under key in table, with a strongly consistent read,
	// and returns its HashAttribute ("" when it has none) and whether it exists.
	// Errors are *RetryableError, *FatalError or *UnwritableError (a key the store
	// refuses). Safe for concurrent use.
	Lookup(ctx context.Context, table string, key map[string]string) (hash string, found bool, err error)
}

var errNoLookup = errors.New("the sink cannot read items back")

// lookup reports whether it is stored with the payload it carries.
func (w *Worker) lookup(it Item) (stored bool, err error) {
	l, ok := w.cfg.Sink.(Looker)
	if !ok {
		return false, errNoLookup
	}
	want := it.PayloadHash()
	if want == "" {
		return false, errors.New("the item carries no payload hash")
	}
	ctx, cancel := context.WithTimeout(w.hardCtx, w.cfg.CallTimeout)
	defer cancel()
	hash, found, err := l.Lookup(ctx, it.Table, it.Key)
	switch {
	case err != nil:
		return false, fmt.Errorf("look up item: %w", err)
	case !found:
		return false, nil
	case hash == "":
		// Written before items carried their payload's hash: taken as its own.
		return true, nil
	case hash != want:
		// Its key holds another event: a conflict its own writes did not get to see.
		return false, &ConflictError{Table: it.Table, Key: KeyString(it.Key), Existing: hash, Incoming: want}
	}
	return true, nil
}

// lookupUnknown reports whether a look-up failed without telling (a retryable error):
// the item may be stored.
func lookupUnknown(err error) bool {
	var ce *ConflictError
	return err != nil && !errors.Is(err, errNoLookup) && !errors.As(err, &ce) && !IsFatal(err) && !IsUnwritable(err)
}

// lookupRetries is how many attempts past its last an exhausted message gets when its
// look-up fails without telling, before it is dead-lettered all the same (the queue's
// redrive policy, at max attempts + 3 as provision sets it, must not come first).
const lookupRetries = 2

// exhausted decides about a message out of attempts (over: how many attempts past its
// last this one is): its item is looked up first, and the message is acked when the
// item is stored with its payload; a conflict when it holds another; tried again after
// delay when the look-up failed without telling (the item may be stored: dead-lettering
// it could leave it in two places), up to lookupRetries times; else dead-lettered.
func exhausted(f facts, delay time.Duration, over int) action {
	switch {
	case !f.lookedUp:
		return action{outcome: Exhausted, reason: f.putErr.Error(), lookup: true}
	case f.stored && f.verdict.Outcome == engine.Valid:
		return action{outcome: Processed, reason: "its write failed (" + f.putErr.Error() + ") but its item was found already stored", ack: true}
	case f.stored:
		return action{outcome: Rejected, reason: "its write failed (" + f.putErr.Error() + ") but its item was found already stored", ack: true}
	}
	var ce *ConflictError
	if errors.As(f.lookupErr, &ce) {
		return action{outcome: Conflict, reason: ce.Error(), deadLetter: true, conflict: ce}
	}
	if lookupUnknown(f.lookupErr) && over < lookupRetries {
		return action{outcome: Retry, reason: f.putErr.Error() + "; out of attempts, but " + f.lookupErr.Error(), visibility: true, delay: delay}
	}
	reason := f.putErr.Error()
	if f.lookupErr != nil && !errors.Is(f.lookupErr, errNoLookup) {
		reason += "; " + f.lookupErr.Error()
	}
	return action{outcome: Exhausted, reason: reason, deadLetter: true}
}
