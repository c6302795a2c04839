package engine

import (
	"strings"
)

// Outcome is the engine's decision about one message.
type Outcome int

const (
	// Valid: a known event of a known version that passes every error-severity rule.
	Valid Outcome = iota
	// Invalid: not JSON, not an object, a bad header, an unknown type or version, or a
	// violated rule. Retrying cannot change this outcome.
	Invalid
	// RuleFailed: a rule could not be evaluated (a bug in the rules, such as reading an
	// optional field without has()). Verdict.Err is a *RuleError naming the rule and its
	// position.
	RuleFailed
)

func (o Outcome) String() string {
	switch o {
	case Valid:
		return "valid"
	case Invalid:
		return "invalid"
	case RuleFailed:
		return "rule_failed"
	}
	return "unknown"
}

// Violation is one failed rule.
type Violation struct {
	Rule    string `json:"rule"`    // rule id, e.g. "body.total.gt" or "big-orders-need-items"
	Field   string `json:"field"`   // the field it concerns, e.g. "body.total"; may be empty
	Message string `json:"message"` // human-readable reason
}

// Attribute is one named value computed from an event for persistence. Value is one of
// string, int64, float64, bool, []any or map[string]any.
type Attribute struct {
	Name  string
	Value any
}

// Persist says where and under which key a valid event is stored.
type Persist struct {
	Table      string
	Key        []Attribute // key attributes in declaration order; every Value is a string
	Attributes []Attribute // extra attributes declared by the persistence mapping
}

// Verdict is the result of evaluating one message body.
type Verdict struct {
	Outcome   Outcome
	EventType string // from the envelope's type field, when it could be read
	Version   string // from where the envelope reads it (a header field, a body member, its constant), when it could be read
	EventID   string // from the envelope's id field, when it could be read

	// Violations lists the failed error-severity rules (Outcome Invalid); Warnings lists
	// failed warning-severity rules, whatever the outcome.
	Violations []Violation
	Warnings   []Violation

	// Err explains an Invalid outcome that is not a list of violations (*DecodeError,
	// *TransportError, *UnknownTypeError) and every RuleFailed outcome (*RuleError).
	Err error

	// Persist is set when Outcome is Valid: the table, the key and the persistence
	// attributes of the event's item.
	Persist *Persist

	// Fields and Body are set when Outcome is Valid: the rest of the event's item, the
	// message decoded for storage once, during Evaluate. Fields lists the message's
	// top-level members other than the envelope's body field, in message order; Body
	// is the body field's object. Values are decoded as DecodeDocument decodes them
	// (numbers as json.Number, texts as sent), and their strings share the message's
	// memory.
	Fields []Attribute
	Body   map[string]any

	// Rejected is set when Outcome is Invalid: the table the message is stored in (the
	// type's rejected_table, else the defaults'), its key (as Ruleset.Rejection gives
	// it), and those of the type's persistence attributes that could be computed (none
	// when a field is missing or of the wrong type; an attribute whose expression
	// fails is left out).
	Rejected *Persist

	// Header lists the header fields that were present and valid (no violation names
	// them), in declaration order, when Outcome is Invalid: a rejected item keeps them,
	// so rejections can be found by tenant.
	Header []Attribute

	// Message is the metadata Evaluate was given (WithMessage), with what the
	// transport added (Transport, and an SNS notification's topic, id, attributes,
	// subject and time); nil when none was given and the body was read raw (or could
	// not be read). An event unwrapped from an SNS notification always has one.
	Message *Message

	// Retry is the retry policy of the event's type and version, or the defaults when
	// the type is not known.
	Retry RetryPolicy

	// PayloadHash is set by Evaluate with ForStorage when Outcome is Valid or Invalid:
	// the hex SHA-256 of the event as judged (see PayloadHash), the same whether it came
	// raw or wrapped. It is stored on the item as payload_hash: a write that finds
	// another hash under its key is a conflict.
	PayloadHash string
}

// Reason is a one-line summary of why the verdict is not Valid ("" when it is).
func (v *Verdict) Reason() string {
	switch {
	case v.Outcome == Valid:
		return ""
	case v.Err != nil:
		return v.Err.Error()
	}
	var b strings.Builder
	for i, x := range v.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(x.Rule)
		b.WriteString(": ")
		b.WriteString(x.Message)
	}
	return b.String()
}
