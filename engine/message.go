package engine

import (
	"slices"
	"time"
)

// Transport names how a message's body carries the event: as the queue delivered it, or
// wrapped by a service that routed it there.
type Transport string

const (
	// TransportAuto recognises an SNS notification by its shape and unwraps it; anything
	// else is raw. The default.
	TransportAuto Transport = "auto"
	// TransportRaw takes the body as the event itself.
	TransportRaw Transport = "raw"
	// TransportSNS expects an SNS notification (Type, MessageId, TopicArn, Message as a
	// string, MessageAttributes, Timestamp, …) and judges the string in Message; a body
	// that is not one is rejected with a reason that says why.
	TransportSNS Transport = "sns"
)

// Transports lists the transports, for flags and configuration.
var Transports = []Transport{TransportAuto, TransportRaw, TransportSNS}

// Message is what the queue (and an SNS wrapper) says about a message besides its body.
// Rules, keys and persistence attributes see it as the CEL variable message; a field
// that is not known is its zero value (an empty string or map, a zero time).
type Message struct {
	ID              string            // message.id: the queue's message id
	Attributes      map[string]string // message.attributes: SQS message attributes (binary ones base64)
	SentAt          time.Time         // message.sent_at: when the queue accepted it
	ReceiveCount    int64             // message.receive_count: 1 on the first delivery
	GroupID         string            // message.group_id: MessageGroupId (FIFO queues, fair queues)
	SequenceNumber  string            // message.sequence_number: FIFO queues
	DeduplicationID string            // message.deduplication_id: FIFO queues

	// Set by the sns transport from the notification it unwrapped.
	TopicARN      string            // message.topic_arn
	SNSMessageID  string            // message.sns_message_id
	SNSAttributes map[string]string // message.sns_attributes: the notification's MessageAttributes
	SNSSubject    string            // message.sns_subject: the notification's Subject
	SNSTimestamp  time.Time         // message.sns_timestamp: when SNS published it
	Transport     Transport         // message.transport: raw or sns, as the message was read
}

// EvalOption changes what Evaluate reads or puts in a verdict. Options are values: passing
// them does not allocate.
type EvalOption struct {
	forStorage bool
	msg        *Message
	transport  Transport
}

// ForStorage makes Evaluate's verdict carry what storing the message needs besides
// the persistence key and attributes: for a valid event the message decoded for storage
// (Verdict.Fields, Verdict.Body), for an invalid one where and under which key it is
// stored (Verdict.Rejected, Verdict.Header). The worker asks for it; commands that only
// judge messages (validate, test, diff) do not pay for it.
var ForStorage = EvalOption{forStorage: true}

// WithMessage gives Evaluate the message's metadata (the CEL variable message). Evaluate
// does not modify m; the verdict's Message is a copy with what the transport adds.
func WithMessage(m *Message) EvalOption { return EvalOption{msg: m} }

// WithTransport says how the body carries the event (TransportAuto when not given).
func WithTransport(t Transport) EvalOption { return EvalOption{transport: t} }

// evalOptions is the options of one Evaluate call, merged.
type evalOptions struct {
	forStorage bool
	msg        *Message
	transport  Transport
}

func mergeOptions(opts []EvalOption) evalOptions {
	o := evalOptions{transport: TransportAuto}
	for _, x := range opts {
		o.forStorage = o.forStorage || x.forStorage
		if x.msg != nil {
			o.msg = x.msg
		}
		if x.transport != "" {
			o.transport = x.transport
		}
	}
	return o
}

// AttributesCoveredBy reports whether names, the message attribute names a message was
// received with (["All"]: every one), include every one the rules read. It does not
// allocate.
func (rs *Ruleset) AttributesCoveredBy(names []string) bool {
	if len(rs.msgAttrs) == 0 || slices.Contains(names, "All") {
		return true
	}
	for _, n := range rs.msgAttrs {
		if !slices.Contains(names, n) {
			return false
		}
	}
	return true
}

// MessageAttributeNames lists the SQS message attributes the rules read through
// message.attributes, for ReceiveMessage's MessageAttributeNames: nil when none is read,
// the sorted names when every read names its attribute with a constant
// (message.attributes["x"], message.attributes.x, "x" in message.attributes,
// has(message.attributes.x)), ["All"] when one is read by a name only known at run time
// or the map (or message) is used whole. Every rule, variable, key, attribute and
// message_expr counts, the envelope's included.
func (rs *Ruleset) MessageAttributeNames() []string {
	return append([]string(nil), rs.msgAttrs...)
}
