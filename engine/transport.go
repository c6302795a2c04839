package engine

import (
	"errors"
	"fmt"
	"strconv"
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

// snsMarker is the name of a member every SNS notification has, for auto's cheap first
// look: a body without it is raw, and is not parsed twice. Without its quotes, the scan
// skips from one rare 'T' to the next instead of stopping at every '"' of a JSON body
// (BenchmarkUnwrapRaw: about 40 ns for a 330-byte event, against 500 ns quoted).
const snsMarker = "TopicArn"

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
// gives nil and no error; with strict true (sns), it is an error that says why. It
// reads with the engine's own strict JSON reader (no case folding, no duplicate
// members).
func parseSNS(body string, strict bool) (*snsNotification, error) {
	if err := checkMessage(body); err != nil {
		if !strict {
			return nil, nil // raw: the envelope reports it
		}
		return nil, err
	}
	top, err := jsonMembers(body)
	if err != nil {
		if !strict {
			return nil, nil
		}
		return nil, err
	}
	typ, typErr := top.str("Type", true)
	arn, arnErr := top.str("TopicArn", true)
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
func (n *snsNotification) read(top jsonObject) error {
	var err error
	if n.message, err = top.str("Message", true); err != nil {
		return err
	}
	if n.messageID, err = top.str("MessageId", false); err != nil {
		return err
	}
	if n.subject, err = top.str("Subject", false); err != nil {
		return err
	}
	ts, err := top.str("Timestamp", false)
	if err != nil {
		return err
	}
	if ts != "" {
		if n.timestamp, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return snsErr("Timestamp %q is not an RFC 3339 time", ts)
		}
	}
	n.attrs, err = snsAttributes(top.get("MessageAttributes"))
	return err
}

// jsonMember is one member of a JSON object: its string value (unescaped) when it is a
// string, else the text of its value.
type jsonMember struct {
	key  string
	text string // the value's JSON text (a string's without quotes, unescaped)
	kind byte   // the value's first byte: '"', '{', '[', 't', 'f', 'n', or a number's
}

// jsonObject is an object's members, in order.
type jsonObject []jsonMember

func (o jsonObject) get(key string) *jsonMember {
	for i := range o {
		if o[i].key == key {
			return &o[i]
		}
	}
	return nil
}

// str reads the string member key; an absent or null one is "" (an error when
// required), any other JSON value an error.
func (o jsonObject) str(key string, required bool) (string, error) {
	m := o.get(key)
	switch {
	case m == nil || m.kind == 'n':
		if required {
			return "", snsErr("%s is missing", key)
		}
		return "", nil
	case m.kind != '"':
		return "", snsErr("%s is %s, not a string", key, jsonKind(m.kind))
	}
	return m.text, nil
}

// jsonMembers reads src, which must be exactly one JSON object, into its members.
func jsonMembers(src string) (jsonObject, error) {
	d := decoder{src: src}
	d.ws()
	if first := d.peek(); first != '{' {
		err := d.skip()
		if d.ws(); err == nil && d.i != len(src) {
			err = d.fail("data after the JSON value")
		}
		if err == nil {
			return nil, snsErr("not a JSON object, but %s", jsonKind(first))
		}
		return nil, notJSON(err)
	}
	out := make(jsonObject, 0, 12) // a notification has 11 members
	var seen map[string]struct{}   // past a notification's size, duplicates are found by a map
	err := d.members(func(key string) error {
		if dup := jsonDup(out, &seen, key); dup {
			return d.fail("duplicate key " + strconv.Quote(key))
		}
		m := jsonMember{key: key, kind: d.peek()}
		start := d.i
		if m.kind == '"' {
			s, err := d.str()
			m.text = s
			if err != nil {
				return err
			}
		} else if err := d.skip(); err != nil {
			return err
		}
		if m.kind != '"' {
			m.text = src[start:d.i]
		}
		out = append(out, m)
		return nil
	})
	if err == nil {
		if d.ws(); d.i != len(src) {
			err = d.fail("data after the JSON object")
		}
	}
	if err != nil {
		return nil, notJSON(err)
	}
	return out, nil
}

// jsonDup reports whether key is already among out's members: by a scan while they are
// few, then by the map seen (built on first need), so that reading a large object stays
// linear in its size.
func jsonDup(out jsonObject, seen *map[string]struct{}, key string) bool {
	const scanMax = 16
	if len(out) < scanMax {
		return out.get(key) != nil
	}
	if *seen == nil {
		*seen = make(map[string]struct{}, 2*len(out))
		for _, m := range out {
			(*seen)[m.key] = struct{}{}
		}
	}
	if _, ok := (*seen)[key]; ok {
		return true
	}
	(*seen)[key] = struct{}{}
	return false
}

// notJSON is the error for a body the JSON reader refused (err).
func notJSON(err error) error {
	var de *DecodeError
	if errors.As(err, &de) {
		return snsErr("not JSON (%s at byte %d)", de.Reason, de.Offset)
	}
	return snsErr("not JSON (%v)", err)
}

// snsAttributes reads MessageAttributes: {name: {"Type": …, "Value": …}}. Every value is
// kept as the text SNS sends (a Binary one is base64).
func snsAttributes(m *jsonMember) (map[string]string, error) {
	if m == nil || m.kind == 'n' {
		return nil, nil
	}
	if m.kind != '{' {
		return nil, snsErr("MessageAttributes is %s, not an object", jsonKind(m.kind))
	}
	attrs, err := jsonMembers(m.text)
	if err != nil || len(attrs) == 0 {
		return nil, err
	}
	out := make(map[string]string, len(attrs))
	for _, a := range attrs {
		if a.kind != '{' {
			return nil, snsErr("MessageAttributes.%s is %s, not an object with Type and Value", a.key, jsonKind(a.kind))
		}
		fields, err := jsonMembers(a.text)
		if err != nil {
			return nil, err
		}
		v, err := fields.str("Value", true)
		if err != nil {
			return nil, snsErr("MessageAttributes.%s: %s", a.key, strings.TrimPrefix(err.Error(), "sns notification: "))
		}
		out[a.key] = v
	}
	return out, nil
}

func snsErr(format string, args ...any) *TransportError {
	return &TransportError{Transport: TransportSNS, Reason: "sns notification: " + fmt.Sprintf(format, args...)}
}

// jsonKind names the kind of a JSON value by its first byte, for messages: "a
// number", "an object", ….
func jsonKind(first byte) string {
	switch first {
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
