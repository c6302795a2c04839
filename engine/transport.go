package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Transports: a body that a routing service wrapped (an SNS notification) is unwrapped
// before the envelope reads it, so that the same event gets the same verdict, key and
// item however it travelled.

// snsNotification is what the sns transport reads from a notification.
type snsNotification struct {
	message   string // the event: the notification's Message
	topicARN  string
	messageID string
	subject   string
	timestamp time.Time
	attrs     map[string]string // MessageAttributes: name → Value (Binary ones base64, as sent)
}

// snsMarker is a member every SNS notification has, for auto's cheap first look: a body
// without it is raw, and is not parsed twice.
const snsMarker = `"TopicArn"`

// unwrap returns the event body to judge under transport t, and the notification it
// came in (nil for a raw body). A body that is not a well-formed notification under
// sns, or a recognisable notification with a bad Message under auto, is an error
// (*TransportError, or *DecodeError for a body over the size limit or not UTF-8).
func unwrap(body string, t Transport) (string, *snsNotification, error) {
	switch t {
	case TransportRaw:
		return body, nil, nil
	case TransportAuto, "":
		if !strings.Contains(body, snsMarker) {
			return body, nil, nil
		}
		n, err := parseSNS(body, false)
		if n == nil && err == nil {
			return body, nil, nil // not a notification: raw
		}
		if err != nil {
			return "", nil, err
		}
		return n.message, n, nil
	case TransportSNS:
		n, err := parseSNS(body, true)
		if err != nil {
			return "", nil, err
		}
		return n.message, n, nil
	}
	return "", nil, &TransportError{Transport: t, Reason: fmt.Sprintf("unknown transport %q", string(t))}
}

// parseSNS reads an SNS notification. With strict false (auto), a body that is not
// recognisably one (a JSON object with "Type": "Notification" and a string TopicArn)
// gives nil and no error; with strict true (sns), it is an error that says why.
func parseSNS(body string, strict bool) (*snsNotification, error) {
	if err := checkMessage(body); err != nil {
		if !strict {
			return nil, nil // raw: the envelope reports it
		}
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &top); err != nil || top == nil {
		if !strict {
			return nil, nil
		}
		if err == nil || json.Valid([]byte(body)) {
			return nil, snsErr("not a JSON object, but %s", jsonKind(json.RawMessage(strings.TrimSpace(body))))
		}
		return nil, snsErr("not JSON (%v)", err)
	}
	typ, typErr := snsString(top, "Type", true)
	arn, arnErr := snsString(top, "TopicArn", true)
	if !strict && (typErr != nil || arnErr != nil || typ != "Notification") {
		return nil, nil
	}
	switch {
	case typErr != nil:
		return nil, typErr
	case typ != "Notification":
		return nil, snsErr("Type is %q, not \"Notification\"", typ)
	case arnErr != nil:
		return nil, arnErr
	}
	n := &snsNotification{topicARN: arn}
	if err := n.read(top); err != nil {
		return nil, err
	}
	return n, nil
}

// read reads a notification's members other than Type and TopicArn.
func (n *snsNotification) read(top map[string]json.RawMessage) error {
	var err error
	if n.message, err = snsString(top, "Message", true); err != nil {
		return err
	}
	if n.messageID, err = snsString(top, "MessageId", false); err != nil {
		return err
	}
	if n.subject, err = snsString(top, "Subject", false); err != nil {
		return err
	}
	ts, err := snsString(top, "Timestamp", false)
	if err != nil {
		return err
	}
	if ts != "" {
		if n.timestamp, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return snsErr("Timestamp %q is not an RFC 3339 time", ts)
		}
	}
	n.attrs, err = snsAttributes(top["MessageAttributes"])
	return err
}

// snsString reads the string member name of a notification; an absent or null one is
// "" (an error when required), any other JSON value an error.
func snsString(top map[string]json.RawMessage, name string, required bool) (string, error) {
	raw, ok := top[name]
	if !ok || string(raw) == "null" {
		if required {
			return "", snsErr("%s is missing", name)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", snsErr("%s is %s, not a string", name, jsonKind(raw))
	}
	return s, nil
}

// snsAttributes reads MessageAttributes: {name: {"Type": …, "Value": …}}. Every value is
// kept as the text SNS sends (a Binary one is base64).
func snsAttributes(raw json.RawMessage) (map[string]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(raw, &attrs); err != nil {
		return nil, snsErr("MessageAttributes is %s, not an object", jsonKind(raw))
	}
	if len(attrs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(attrs))
	for name, a := range attrs {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(a, &fields); err != nil || fields == nil {
			return nil, snsErr("MessageAttributes.%s is %s, not an object with Type and Value", name, jsonKind(a))
		}
		v, err := snsString(fields, "Value", true)
		if err != nil {
			return nil, snsErr("MessageAttributes.%s: %s", name, strings.TrimPrefix(err.Error(), "sns notification: "))
		}
		out[name] = v
	}
	return out, nil
}

func snsErr(format string, args ...any) *TransportError {
	return &TransportError{Transport: TransportSNS, Reason: "sns notification: " + fmt.Sprintf(format, args...)}
}

// jsonKind names the kind of a JSON value, for messages: "a number", "an object", ….
func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a bool"
	case 'n':
		return "null"
	}
	return "a number"
}

// apply records in m what the notification says about the message.
func (n *snsNotification) apply(m *Message) {
	m.TopicARN, m.SNSMessageID, m.SNSAttributes = n.topicARN, n.messageID, n.attrs
	m.SNSSubject, m.SNSTimestamp = n.subject, n.timestamp
	m.Transport = TransportSNS
}
