package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"eventproc/engine"
)

// A write reported failed may have landed: a worker that crashed after its batch write
// but before its acks, a call that timed out after DynamoDB stored the items. The
// redelivered message cannot know, and may run out of attempts (an outage shorter than
// the detector's thresholds, its own throttled key). So before an exhausted message is
// dead-lettered its item is read back: stored with the message's payload, the message
// was processed after all and is acked. Not found, stored with another payload, or the
// read failing: it is dead-lettered as before. This read is made only on this rare path.

// PayloadHashAttr is the item attribute that holds the hex SHA-256 of the event an item
// was written from (payloadHash).
const PayloadHashAttr = "payload_hash"

// Looker is a Sink that can read an item back. The worker uses it, when the Sink
// implements it, before dead-lettering a message as Exhausted.
type Looker interface {
	// Lookup reads the item stored under key in table, with a strongly consistent read,
	// and returns its PayloadHashAttr ("" when it has none) and whether it exists.
	// Errors are *RetryableError or *FatalError. Safe for concurrent use.
	Lookup(ctx context.Context, table string, key map[string]string) (hash string, found bool, err error)
}

var errNoLookup = errors.New("the sink cannot read items back")

// payloadHash is the hex SHA-256 of a message's body, stored with its item.
func payloadHash(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// lookup reports whether it is stored with the payload it carries.
func (w *Worker) lookup(it Item) (stored bool, err error) {
	l, ok := w.cfg.Sink.(Looker)
	if !ok {
		return false, errNoLookup
	}
	want, _ := it.Attrs[PayloadHashAttr].(string)
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
	case hash != want:
		return false, fmt.Errorf("item %s stored with another payload (%s ≠ %s)", keyText(it.Key), short(hash), short(want))
	}
	return true, nil
}

// exhausted decides about a message out of attempts: its item is looked up first, and
// the message is acked when the item is stored with its payload; else dead-lettered.
func exhausted(f facts) action {
	switch {
	case !f.lookedUp:
		return action{outcome: Exhausted, reason: f.putErr.Error(), lookup: true}
	case f.stored && f.verdict.Outcome == engine.Valid:
		return action{outcome: Processed, reason: "its write failed (" + f.putErr.Error() + ") but its item was found already stored", ack: true}
	case f.stored:
		return action{outcome: Rejected, reason: "its write failed (" + f.putErr.Error() + ") but its item was found already stored", ack: true}
	}
	reason := f.putErr.Error()
	if f.lookupErr != nil && !errors.Is(f.lookupErr, errNoLookup) {
		reason += "; " + f.lookupErr.Error()
	}
	return action{outcome: Exhausted, reason: reason, deadLetter: true}
}

func keyText(key map[string]string) string {
	s := ""
	for i, k := range sortedKeys(key) {
		if i > 0 {
			s += ","
		}
		s += k + "=" + key[k]
	}
	return s
}

func short(hash string) string {
	if hash == "" {
		return "none"
	}
	return hash[:min(len(hash), 12)]
}
