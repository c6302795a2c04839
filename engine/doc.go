// Package engine is eventproc's rules engine.
//
// It reads events.d (YAML files) from an fs.FS, builds a position-aware model of the
// envelope, the event types and their versions, compiles every CEL expression once
// against types derived from the declarations, and evaluates SQS message bodies into
// verdicts. Loading never stops at the first problem: it returns every diagnostic,
// sorted, each with a file position.
//
// A loaded *Ruleset is immutable and safe for concurrent use. Evaluation is bounded:
// every CEL program has a cost limit, and decoding bounds nesting depth.
//
// The engine imports cel-go, the YAML library and the standard library only: no AWS,
// no process configuration, no network.
package engine
