package engine

import (
	"encoding/json"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Test cases with message metadata and a transport: a case's message mapping is the
// Message the worker would pass (WithMessage), its transport how the input is read.

// caseMessageKeys are the keys of a case's message mapping: the fields of message that
// a queue or SNS sets (transport is how the case is read, not metadata).
var caseMessageKeys = []string{"id", "attributes", "sent_at", "receive_count", "group_id", "sequence_number",
	"deduplication_id", "topic_arn", "sns_message_id", "sns_attributes", "sns_subject", "sns_timestamp"}

// caseDelivery reads a case's message and transport.
func (f *srcFile) caseDelivery(c *caseSpec, cm map[string]keyval, w string) bool {
	ok := true
	if kv, has := cm["message"]; has && kv.valid {
		c.msg, ok = f.caseMessage(kv.v, w+".message")
	}
	if kv, has := cm["transport"]; has && kv.valid {
		s, good := f.str(kv.v, w+".transport")
		switch {
		case !good:
			return false
		case !contains(transportNames(), s):
			f.errorf(kv.v, "invalid-value", "%s.transport must be one of %s, not %q%s", w, strings.Join(transportNames(), ", "), s, didYouMean(s, transportNames()))
			return false
		}
		c.transport = Transport(s)
	}
	return ok
}

func transportNames() []string {
	out := make([]string, len(Transports))
	for i, t := range Transports {
		out[i] = string(t)
	}
	return out
}

// caseMessage reads a case's message mapping, strictly.
func (f *srcFile) caseMessage(n *yaml.Node, w string) (*Message, bool) {
	m := &Message{}
	strs := map[string]*string{"id": &m.ID, "group_id": &m.GroupID, "sequence_number": &m.SequenceNumber,
		"deduplication_id": &m.DeduplicationID, "topic_arn": &m.TopicARN, "sns_message_id": &m.SNSMessageID,
		"sns_subject": &m.SNSSubject}
	ok := n.Kind == yaml.MappingNode
	for key, kv := range f.mapping(n, w, caseMessageKeys, nil) {
		what := w + "." + key
		good := kv.valid
		switch {
		case !good:
		case key == "attributes":
			m.Attributes, good = f.stringMap(kv.v, what)
		case key == "sns_attributes":
			m.SNSAttributes, good = f.stringMap(kv.v, what)
		case key == "sent_at":
			m.SentAt, good = f.timestamp(kv.v, what)
		case key == "sns_timestamp":
			m.SNSTimestamp, good = f.timestamp(kv.v, what)
		case key == "receive_count":
			m.ReceiveCount, good = f.integer(kv.v, what)
		default:
			*strs[key], good = f.str(kv.v, what)
		}
		ok = ok && good
	}
	return m, ok
}

// stringMap reads a mapping of strings (message attributes).
func (f *srcFile) stringMap(n *yaml.Node, what string) (map[string]string, bool) {
	if n.Kind != yaml.MappingNode {
		f.errorf(n, "wrong-type", "%s must be a mapping of names to strings, not %s", what, kindName(n))
		return nil, false
	}
	out := map[string]string{}
	ok := true
	for _, e := range f.entries(n, what) {
		s, good := f.str(e.v, what+"."+e.key)
		out[e.key], ok = s, ok && good
	}
	return out, ok
}

// timestamp reads an RFC 3339 time.
func (f *srcFile) timestamp(n *yaml.Node, what string) (time.Time, bool) {
	s, ok := f.str(n, what)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		f.errorf(n, "invalid-value", "%s must be an RFC 3339 time, not %q", what, s)
		return time.Time{}, false
	}
	return t, true
}

// delivery is a case's input and options. A case that names its transport is read
// with it; transport sns delivers a case built from event or base wrapped in an SNS
// notification of the built message, with the SNS fields of its message mapping (a raw
// case's text is then the notification). A case that names none is read with def
// (auto by default); def sns wraps every such case, raw ones too, so that a whole
// suite runs as if it came through SNS.
func (c *caseSpec) delivery(def Transport) (string, []EvalOption) {
	t, wrap := c.transport, c.transport == TransportSNS && c.doc != nil
	if t == "" {
		t, wrap = def, def == TransportSNS
	}
	opts := []EvalOption{WithTransport(t)}
	if c.msg != nil {
		opts = append(opts, WithMessage(c.msg))
	}
	if wrap {
		return wrapSNS(c.input, c.msg), opts
	}
	return c.input, opts
}

// testTopicARN is the topic of a suite's wrapped case whose message names none.
const testTopicARN = "arn:aws:sns:us-east-1:000000000000:eventproc-test"

// wrapSNS wraps event in an SNS notification as SNS delivers one to SQS, with the SNS
// fields of m (a test topic when m names none).
func wrapSNS(event string, m *Message) string {
	if m == nil {
		m = &Message{}
	}
	type attr struct {
		Type  string `json:"Type"`
		Value string `json:"Value"`
	}
	n := struct {
		Type              string          `json:"Type"`
		MessageID         string          `json:"MessageId"`
		TopicArn          string          `json:"TopicArn"`
		Subject           string          `json:"Subject,omitempty"`
		Message           string          `json:"Message"`
		Timestamp         string          `json:"Timestamp,omitempty"`
		MessageAttributes map[string]attr `json:"MessageAttributes,omitempty"`
	}{Type: "Notification", MessageID: m.SNSMessageID, TopicArn: m.TopicARN, Subject: m.SNSSubject, Message: event}
	if n.TopicArn == "" {
		n.TopicArn = testTopicARN
	}
	if !m.SNSTimestamp.IsZero() {
		n.Timestamp = m.SNSTimestamp.UTC().Format(time.RFC3339Nano)
	}
	for k, v := range m.SNSAttributes {
		if n.MessageAttributes == nil {
			n.MessageAttributes = map[string]attr{}
		}
		n.MessageAttributes[k] = attr{"String", v}
	}
	b, err := json.Marshal(n)
	if err != nil {
		return event // strings and maps of strings always marshal
	}
	return string(b)
}
