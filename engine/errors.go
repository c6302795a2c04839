package engine

import "fmt"

// DecodeError: the message body is not something the envelope can read (not UTF-8, not
// JSON, not an object, nested too deeply, a duplicate key, a body that is not an object).
// The outcome is Invalid; retrying cannot help.
type DecodeError struct {
	Offset int // byte offset in the body where the problem was found
	Reason string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("undecodable message at byte %d: %s", e.Offset, e.Reason)
}

// TransportError: the body is not what its transport carries (WithTransport): under
// sns, not an SNS notification (not JSON, not an object, Message missing or not a
// string, …); under auto, a body recognisably an SNS notification whose members are
// bad. The outcome is Invalid; retrying cannot help. The rejected item is keyed by the
// whole body, as for a DecodeError.
type TransportError struct {
	Transport Transport
	Reason    string // what is wrong, e.g. "sns notification: Message is missing"
}

func (e *TransportError) Error() string { return e.Reason }

// UnknownTypeError: the header names a type, or a version of a known type, that events.d
// does not declare. The outcome is Invalid.
type UnknownTypeError struct {
	EventType string
	Version   string // empty when the type itself is unknown
}

func (e *UnknownTypeError) Error() string {
	if e.EventType == "" {
		return "the message names no event type"
	}
	if e.Version == "" {
		return fmt.Sprintf("unknown event type %q", e.EventType)
	}
	return fmt.Sprintf("unknown version %q of event type %q", e.Version, e.EventType)
}

// RuleError: a rule (or a key or attribute expression) failed to evaluate at run time.
// This is a bug in the rules, not in the event; the outcome is RuleFailed.
type RuleError struct {
	Rule string // rule id, or "persist.key.NAME" / "persist.attributes.NAME"
	Pos  Pos    // where the expression is declared
	Err  error
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("rule %s (%s) failed to evaluate: %v", e.Rule, e.Pos, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// Pos is a position in an events.d file. Line and Col are 1-based.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }
