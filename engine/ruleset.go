package engine

import (
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
)

// API CONTRACT (bodies are being filled in; signatures are stable).

// Ruleset is a loaded, compiled events.d. It is immutable and safe for concurrent use.
type Ruleset struct {
	rejectTable string
	rejectKey   []string
}

// TypeInfo describes one declared event type.
type TypeInfo struct {
	Name     string
	Versions []string // in declaration order
}

// Table is a DynamoDB table that events.d writes to, with its key attribute names
// (the first is the partition key, the optional second the sort key; both strings).
type Table struct {
	Name string
	Key  []string
}

// EnvelopeInfo names the header fields that carry the event's type, version and id, and
// the top-level key that holds the body.
type EnvelopeInfo struct {
	TypeField, VersionField, IDField, BodyField string
	HeaderFields                                []string
}

// Load reads every *.yaml file of fsys (recursively), compiles it, runs nothing, and
// returns the ruleset with every diagnostic found. The ruleset is nil when any
// diagnostic is an error.
func Load(fsys fs.FS) (*Ruleset, Diagnostics) {
	return nil, Diagnostics{{Severity: Error, Code: "not-implemented", Message: "engine not implemented yet"}}
}

// Evaluate decodes and validates one message body. It never panics and never blocks;
// ctx is checked between rules.
func (rs *Ruleset) Evaluate(ctx context.Context, body string) *Verdict {
	return &Verdict{Outcome: Invalid, Err: errors.New("engine not implemented yet"), Retry: DefaultRetry}
}

// Types lists the declared event types, sorted by name.
func (rs *Ruleset) Types() []TypeInfo { return nil }

// Tables lists every table that valid or rejected events are written to.
func (rs *Ruleset) Tables() []Table { return nil }

// Envelope describes the envelope.
func (rs *Ruleset) Envelope() EnvelopeInfo { return EnvelopeInfo{} }

// DefaultRetry is the defaults file's retry policy (DefaultRetry when none is declared).
func (rs *Ruleset) DefaultRetry() RetryPolicy { return DefaultRetry }

// Retry returns the retry policy of a type and version (the defaults when unknown).
func (rs *Ruleset) Retry(eventType, version string) RetryPolicy { return DefaultRetry }

// MaxAttempts is the largest MaxAttempts of any policy in the ruleset. A queue's
// redrive maxReceiveCount must exceed it.
func (rs *Ruleset) MaxAttempts() int { return DefaultRetry.MaxAttempts }

// Rejection says where a rejected (Invalid) message is stored: the defaults file's
// rejected table, keyed by "rejected#" + the hex SHA-256 of the body in every key
// attribute, so that a redelivered rejected message overwrites its own item.
func (rs *Ruleset) Rejection(body string) Persist { return Persist{} }

// Generate returns a message body of the given type and version built from the
// declarations, with a fresh random event id. When valid is false the event is made
// invalid (a required field dropped or given the wrong type).
func (rs *Ruleset) Generate(eventType, version string, r *rand.Rand, valid bool) (string, error) {
	return "", errors.New("engine not implemented yet")
}

// DecodeDocument decodes a whole message body generically for storage: objects become
// map[string]any, arrays []any, numbers json.Number (the exact literal), and strings,
// bools and null their Go equivalents. It applies the engine's decoding limits.
func DecodeDocument(body string) (map[string]any, error) {
	return nil, errors.New("engine not implemented yet")
}
