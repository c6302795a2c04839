package worker

import (
	"fmt"
	"sort"
	"unicode/utf8"

	"eventproc/engine"
)

// validItem builds the item of a valid event: every header field, the body as a native
// map, the engine's persistence attributes, and the processing facts. The key comes
// from the persistence mapping, so a redelivered or duplicated event writes the same
// item again.
func (w *Worker) validItem(msg Message, v *engine.Verdict) (Item, error) {
	if v.Persist == nil || v.Persist.Table == "" || len(v.Persist.Key) == 0 {
		return Item{}, fmt.Errorf("valid verdict without a persistence target")
	}
	doc, err := w.cfg.Decode(msg.Body)
	if err != nil {
		return Item{}, fmt.Errorf("decode document: %w", err)
	}
	attrs := make(map[string]any, len(doc)+len(v.Persist.Attributes)+8)
	for k, val := range doc {
		if k != w.env.BodyField {
			attrs[k] = val
		}
	}
	for _, a := range v.Persist.Attributes {
		attrs[a.Name] = a.Value
	}
	if w.env.BodyField != "" {
		attrs["body"] = doc[w.env.BodyField]
	}
	attrs["event_type"] = v.EventType
	attrs["schema_version"] = v.Version
	attrs["event_id"] = v.EventID
	w.stamp(attrs, msg, "processed")
	key, err := keyOf(v.Persist.Key)
	if err != nil {
		return Item{}, err
	}
	for k := range key {
		delete(attrs, k)
	}
	return Item{Table: v.Persist.Table, Key: key, Attrs: attrs}, nil
}

// rejectedItem builds the item of an invalid message: where the verdict's Rejected says
// (else the engine's Rejection), with the header fields that were valid, the type's
// persistence attributes that could be computed, the reason, the violations and the raw
// body, so that rejections can be found by tenant like valid events.
func (w *Worker) rejectedItem(msg Message, v *engine.Verdict) Item {
	return w.rejectedItemOf(w.cfg.Engine, msg, v)
}

// rejectedItemOf is rejectedItem with the engine that evaluated the message.
func (w *Worker) rejectedItemOf(eng Engine, msg Message, v *engine.Verdict) Item {
	var p engine.Persist
	if v.Rejected != nil {
		p = *v.Rejected
	} else {
		p = eng.Rejection(msg.Body)
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
	w.stamp(attrs, msg, "failed")
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
