package worker

import (
	"fmt"
	"sort"
	"unicode/utf8"

	"eventproc/engine"
)

// validItem builds the item of a valid event from its verdict: the message's members
// but the body, the engine's persistence attributes, the body as "body", the event's
// type, version and id, and the processing facts. The key comes from the persistence
// mapping, so a redelivered or duplicated event writes the same item again.
func (w *Worker) validItem(msg Message, v *engine.Verdict) (Item, error) {
	if v.Persist == nil || v.Persist.Table == "" || len(v.Persist.Key) == 0 {
		return Item{}, fmt.Errorf("valid verdict without a persistence target")
	}
	if v.Body == nil {
		return Item{}, fmt.Errorf("valid verdict without a body document")
	}
	attrs := make(map[string]any, len(v.Fields)+len(v.Persist.Attributes)+8)
	for _, f := range v.Fields {
		attrs[f.Name] = f.Value
	}
	for _, a := range v.Persist.Attributes {
		attrs[a.Name] = a.Value
	}
	attrs["body"] = v.Body
	attrs["event_type"] = v.EventType
	attrs["schema_version"] = v.Version
	attrs["event_id"] = v.EventID
	setString(attrs, HashAttribute, v.PayloadHash)
	w.stamp(attrs, msg, "processed")
	o := originOf(msg, v)
	setString(attrs, "message_group_id", o.GroupID)
	setString(attrs, "sequence_number", o.SequenceNumber)
	key, err := keyOf(v.Persist.Key)
	if err != nil {
		return Item{}, err
	}
	for k := range key {
		delete(attrs, k)
	}
	return Item{Table: v.Persist.Table, Key: key, Attrs: attrs}, nil
}

// rejectedItem builds the item of an invalid message where its verdict's Rejected
// says, with the header fields that were valid, the type's persistence attributes that
// could be computed, the reason, the violations and the raw body, so that rejections
// can be found by tenant like valid events. A verdict without a Rejected target gives
// an item without a table or key: the sink refuses it as unwritable and the message is
// dead-lettered.
func (w *Worker) rejectedItem(msg Message, v *engine.Verdict) Item {
	var p engine.Persist
	if v.Rejected != nil {
		p = *v.Rejected
	}
	violations := make([]any, 0, len(v.Violations))
	for _, x := range v.Violations {
		violations = append(violations, map[string]any{"rule": x.Rule, "field": x.Field, "message": x.Message})
	}
	attrs := make(map[string]any, len(v.Header)+len(p.Attributes)+12)
	for _, h := range v.Header {
		attrs[h.Name] = h.Value
	}
	for _, a := range p.Attributes {
		attrs[a.Name] = a.Value
	}
	attrs["reason"] = v.Reason()
	attrs["violations"] = violations
	attrs["raw_body"] = msg.Body
	if raw, cut := cutRawBody(msg.Body); cut {
		attrs["raw_body"] = raw
		attrs["raw_body_truncated"] = true
		attrs["raw_body_size"] = int64(len(msg.Body))
	}
	for k, val := range map[string]string{"event_type": v.EventType, "schema_version": v.Version, "event_id": v.EventID} {
		if val != "" {
			attrs[k] = val
		}
	}
	setString(attrs, HashAttribute, v.PayloadHash)
	w.stamp(attrs, msg, "failed")
	o := originOf(msg, v)
	for k, val := range originFields(o) {
		setString(attrs, k, val)
	}
	if !o.SentAt.IsZero() {
		attrs["message_sent_at"] = o.SentAt.UTC()
	}
	key, err := keyOf(p.Key)
	if err != nil || p.Table == "" {
		// The sink refuses the item as unwritable and the message is dead-lettered:
		// nothing is lost even when the rejection mapping is broken.
		key = map[string]string{}
	}
	for k := range key {
		delete(attrs, k)
	}
	return Item{Table: p.Table, Key: key, Attrs: attrs}
}

// maxRawBody is how much of an invalid message's body its rejected item keeps: a message
// may hold up to 1 MiB (SQS's limit), an item 400 KB (DynamoDB's), and the item's other
// attributes need room too.
const maxRawBody = 300 << 10

// cutRawBody returns body's first maxRawBody bytes, cut at a character boundary, and
// whether it was cut.
func cutRawBody(body string) (string, bool) {
	if len(body) <= maxRawBody {
		return body, false
	}
	n := maxRawBody
	for n > 0 && !utf8.RuneStart(body[n]) {
		n--
	}
	return body[:n], true
}

func (w *Worker) stamp(attrs map[string]any, msg Message, status string) {
	attrs["status"] = status
	attrs["processed_at"] = w.cfg.Now().UTC()
	attrs["message_id"] = msg.ID
	attrs["attempts"] = int64(msg.ReceiveCount)
}

// originOf is where a message came from: its verdict's Message (what the transport
// added included), or what was received when the verdict has none.
func originOf(msg Message, v *engine.Verdict) engine.Message {
	if v != nil && v.Message != nil {
		return *v.Message
	}
	return engine.Message{ID: msg.ID, SentAt: msg.SentAt, GroupID: msg.GroupID, SequenceNumber: msg.SequenceNumber}
}

// originFields names the attributes that keep a message's origin on its rejected item
// and its dead letter (message_sent_at besides, as a time on the item).
func originFields(o engine.Message) map[string]string {
	return map[string]string{"message_group_id": o.GroupID, "sequence_number": o.SequenceNumber, "topic_arn": o.TopicARN}
}

// setString sets attrs[k] to val unless val is empty.
func setString(attrs map[string]any, k, val string) {
	if val != "" {
		attrs[k] = val
	}
}

func keyOf(attrs []engine.Attribute) (map[string]string, error) {
	key := make(map[string]string, len(attrs))
	for _, a := range attrs {
		s, ok := a.Value.(string)
		if !ok {
			return nil, fmt.Errorf("key attribute %s is %T, not a string", a.Name, a.Value)
		}
		key[a.Name] = s
	}
	return key, nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
