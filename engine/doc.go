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
//
// # Loading
//
// [Load] reads every YAML file of events.d into a model that keeps each value's
// position (decoded from yaml.Node, never through map[string]any), and returns the
// compiled [Ruleset] with every diagnostic, never just the first. The loader builds in
// phases: the defaults, the envelope, every version's schema (resolving extends and
// checking compatibility between versions), the CEL environment with the envelope's
// variables and rules, then each version's variables, rules and persistence, the
// tables, and the test suites. What a version inherits (through extends, or from the
// defaults) is compiled again for each version; a problem in it is still reported
// once, naming every version it was found for.
//
// # The CEL type provider
//
// Each declared object (the header, each version's body, nested objects) becomes a
// CEL struct type served by a custom type provider, so body.totl or body.total + "x"
// is a load-time error at its file:line:col: a CEL error inside an expression is
// offset into file coordinates. Objects cannot be constructed in an expression, and
// the environment has no I/O and no clock: the standard library, the string
// extensions, optional values and eventproc's named checks.
//
// # Decoding
//
// The envelope says where the version is: a header field, a constant, or a member
// inside the body, which a pre-scan of the body's bytes finds (skipping everything
// else) before the body is decoded against that version's schema. A field's JSON name
// may hold '-', which CEL reads as '_' (header.detail_type); items keep the JSON names.
//
// A message body is decoded straight into records of its version's schema: no
// intermediate maps, strings sliced from the body when they need no unescaping, and
// records taken from pools. The decoder is strict: invalid UTF-8, control characters
// in strings, trailing data, duplicate keys, nesting deeper than 64 levels and
// messages over 1 MiB ([limits.MessageBytes]) are decode errors (outcome Invalid, with the byte
// offset). A value of the wrong type for a declared field is a violation, not an
// error, so the rest of the message is still checked.
//
// # Transports and message metadata
//
// Before the envelope reads a body, its transport ([WithTransport]) unwraps it: an SNS
// notification's Message string is judged exactly as a raw body would be, so the same
// event gets the same verdict, key and item however it travelled; [TransportAuto]
// recognises a notification by its shape after a byte scan that raw bodies pass
// without being parsed. A notification that cannot be read is Invalid with a
// [TransportError]. Every expression also sees the CEL variable message ([Message],
// given with [WithMessage]; zero values when not), an object of a fixed type served by
// the same type provider, from the pooled evaluation state: reading it allocates only
// what a field read returns, and a ruleset that never reads it pays nothing. The reads
// of message.attributes are collected from every checked expression at load time
// ([Ruleset.MessageAttributeNames]) so that the worker asks SQS for those attributes
// only.
//
// # Native constraint checks
//
// Short-hand constraints (min_length, gt, enum, pattern, format, …) run natively; each
// one is also the CEL expression over self that defines it, compiled at load time and
// proven equal to the native check by a test. CEL runs only for declared rules,
// variables and persistence expressions; variables are evaluated lazily, at most once
// per message. Rules run only on well-typed input: when a required field is missing, a
// field has the wrong type or a max_length fails, no rule runs.
//
// # Cost limits
//
// Every program's cost is estimated at load time against the declared bounds
// (max_length, and 1 MiB for anything unbounded) and refused over the limit
// ([DefaultCostLimit], or defaults.cost_limit). Programs with comprehensions (all,
// exists, map, …), whose work multiplies with the data, are also limited at run time.
// Loop-free programs (a key, a comparison) run without a cost tracker: their work is
// linear in a message the engine bounds, so the estimate already holds. Evaluation
// takes a context, checked between rules.
package engine
