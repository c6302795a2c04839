package worker

// API CONTRACT between the worker loop and the adapters. Extend with care: both
// adapters/sqsqueue, adapters/dynamotable and worker/workertest implement these.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Message is one message received from a queue.
type Message struct {
	ID            string // the queue's message id
	ReceiptHandle string
	Body          string
	ReceiveCount  int       // ApproximateReceiveCount: 1 on the first delivery
	FirstReceived time.Time // ApproximateFirstReceiveTimestamp
	SentAt        time.Time
	// Attributes are the message attributes the source was asked for: String and
	// Number ones as sent, Binary ones base64 (a dead-lettered message's reason, …).
	Attributes map[string]string
	// AttributeNames are the message attribute names the source asked for when it
	// received the message (["All"]: every one), when AttributeNamesKnown: a reload of
	// the rules in between may make them read one it was not asked for (see
	// AttributeChecker).
	AttributeNames      []string
	AttributeNamesKnown bool

	// FIFO queues (and fair queues for GroupID): "" elsewhere.
	GroupID         string // MessageGroupId
	SequenceNumber  string // SequenceNumber: the queue's order within the group
	DeduplicationID string // MessageDeduplicationId
}

// Visibility asks that a received message become visible again after Delay (0: at once).
type Visibility struct {
	Message Message
	Delay   time.Duration
}

// Source is a queue the worker consumes. Implementations are safe for concurrent use.
type Source interface {
	// Name identifies the queue in logs and metrics (its URL).
	Name() string
	// Receive long-polls for up to max (≤ 10) messages. It blocks until messages
	// arrive, the poll's wait time elapses (then it returns no messages and no error),
	// or ctx is done. Errors are *RetryableError or *FatalError.
	Receive(ctx context.Context, max int) ([]Message, error)
	// Ack deletes messages, batching the calls. It returns the messages that could not
	// be deleted, with an error that says why.
	Ack(ctx context.Context, msgs []Message) (failed []Message, err error)
	// SetVisibility changes the visibility of messages, batching the calls. It returns
	// the changes that failed, with an error that says why.
	SetVisibility(ctx context.Context, changes []Visibility) (failed []Visibility, err error)
}

// Item is one DynamoDB item to write: Key holds the key attributes (all strings), Attrs
// every other attribute. Values are string, int64, float64, bool, json.Number, time.Time,
// nil, []any or map[string]any.
type Item struct {
	Table string
	Key   map[string]string
	Attrs map[string]any
}

// HashAttribute is the item attribute that holds the hex SHA-256 of the event the item
// came from (engine.Verdict.PayloadHash): two items with one key and different hashes
// come from different events.
const HashAttribute = "payload_hash"

// PayloadHash is the item's HashAttribute ("" when it has none).
func (it Item) PayloadHash() string {
	s, _ := it.Attrs[HashAttribute].(string)
	return s
}

// Sink stores items. Implementations are safe for concurrent use.
type Sink interface {
	// Put writes items idempotently: an item whose key is already stored with the same
	// payload hash (Item.PayloadHash) is not written again and succeeds; one whose key
	// is stored with another hash is not written and fails with a *ConflictError; the
	// stored item is kept unchanged. A stored item without a hash (written before
	// hashes were stored), or an item without one, conflicts with nothing: it is kept
	// or replaced, by configuration. Items of one call with one key and different hashes are put one after
	// the other, in order: the first is written, the others conflict with it. It
	// returns one error per item, in order (nil for a stored one); each is nil,
	// *RetryableError, *FatalError (the deployment is wrong: every item of its kind
	// fails), *UnwritableError (this item can never be written: no retry) or
	// *ConflictError. One item's *UnwritableError or *ConflictError must not fail the
	// other items of the call.
	Put(ctx context.Context, items []Item) []error
}

// DeadLetter parks messages that cannot be processed.
type DeadLetter interface {
	// Send puts msg (its body unchanged) on the dead-letter queue of the source it came
	// from, with attrs as string message attributes; on a FIFO dead-letter queue, in
	// msg's group, deduplicated by msg's id (a repeated send of one message is stored
	// once). Errors are *RetryableError or *FatalError.
	Send(ctx context.Context, source string, msg Message, attrs map[string]string) error
}

// RetryableError is an infrastructure failure that another attempt may not meet:
// throttling, a 5xx, a timeout, a network error.
type RetryableError struct{ Err error }

func (e *RetryableError) Error() string { return fmt.Sprintf("retryable: %v", e.Err) }
func (e *RetryableError) Unwrap() error { return e.Err }

// FatalError is a deployment problem that no retry fixes: a missing table or queue,
// denied access, invalid credentials.
type FatalError struct{ Err error }

func (e *FatalError) Error() string { return fmt.Sprintf("fatal: %v", e.Err) }
func (e *FatalError) Unwrap() error { return e.Err }

// UnwritableError is an item that can never be written as it is, whatever the
// deployment: over the store's item size, a number out of its range, a value the sink
// cannot convert, no key. Its message is dead-lettered at once; no retry helps.
type UnwritableError struct{ Err error }

func (e *UnwritableError) Error() string { return fmt.Sprintf("unwritable: %v", e.Err) }
func (e *UnwritableError) Unwrap() error { return e.Err }

// ConflictError is an item whose key is already stored with another event's payload
// hash: the stored item is kept, this one is not written, and its message is
// dead-lettered at once (outcome conflict). No retry helps.
type ConflictError struct {
	Table    string
	Key      string // the key, as name="value" pairs sorted by name
	Existing string // the stored item's payload hash
	Incoming string // this item's payload hash
}

// KeyString renders a key as ConflictError.Key holds it: name="value" pairs sorted by
// name, joined by commas.
func KeyString(key map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(key)) {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, key[k])
	}
	return b.String()
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("conflict: %s in %s is stored with payload hash %s, not %s", e.Key, e.Table, e.Existing, e.Incoming)
}

// IsUnwritable reports whether err is, or wraps, an *UnwritableError.
func IsUnwritable(err error) bool {
	var u *UnwritableError
	return errors.As(err, &u)
}

// IsFatal reports whether err is, or wraps, a *FatalError.
func IsFatal(err error) bool {
	var f *FatalError
	return errors.As(err, &f)
}
