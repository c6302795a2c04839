package engine

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// The stored item's own fields, and the checks that keep events.d from clashing with
// them or leaving a type without tests.

// itemFields are the attributes the worker writes on an item besides the header fields
// and the key attributes: on a valid event's item (body and the processing facts) and
// on a rejected one (the reason, the violations and the raw body).
var itemFields = []string{
	"body", "event_type", "schema_version", "event_id",
	"status", "processed_at", "message_id", "attempts",
	// the hex SHA-256 of the event: a write that finds another under its key is a conflict
	"payload_hash",
	"reason", "violations", "raw_body", "raw_body_truncated", "raw_body_size",
	// where the message came from (a FIFO group, an SNS topic), on the items that have it
	"message_group_id", "sequence_number", "message_sent_at", "topic_arn",
}

// ItemFields lists the attributes the worker writes on an item besides the envelope's
// header fields and the key attributes. A persistence attribute may not take one of
// these names (nor a header field's, nor a key attribute's): check reports it as
// attribute-clash.
func ItemFields() []string { return append([]string(nil), itemFields...) }

// checkAttributeNames reports each persistence attribute named like a field the worker
// writes on the item itself: a fixed item field, a header field of the envelope, a key
// attribute of the type's table, or one of the rejected table (rejected items carry
// the type's attributes too). Each attribute is reported once, however many versions
// or types share it, with the first clash found.
func (l *loader) checkAttributeNames(attrs, key, rejectKey []exprSpec) {
	owners := map[string]string{}
	for _, n := range itemFields {
		owners[n] = "a field the worker writes on every item"
	}
	if l.envelope != nil {
		for _, f := range l.envelope.fields {
			owners[f.name] = "a header field, stored on every item"
		}
	}
	for _, k := range rejectKey {
		owners[k.name] = "a key attribute of the rejected table"
	}
	for _, k := range key {
		owners[k.name] = "a key attribute of the type's table"
	}
	if l.clashes == nil {
		l.clashes = map[string]bool{}
	}
	for _, a := range attrs {
		owner, clash := owners[a.name]
		if !clash {
			continue
		}
		// Once per attribute as written: a defaults attribute may clash with a
		// different owner in different types, and it is still one mistake.
		id := fmt.Sprintf("%s:%d:%d", a.file.name, a.key.Line, a.key.Column)
		if l.clashes[id] {
			continue
		}
		l.clashes[id] = true
		a.file.errorf(a.key, "attribute-clash", "persist.attributes.%s is named like %s (%q); it would be overwritten or dropped: rename it", a.name, owner, a.name)
	}
}

// checkHasTypes reports an events.d that declares no event type: every message would
// be rejected as of an unknown type. Only when nothing else is wrong: a file that did
// not parse may be the one that declares them.
func (l *loader) checkHasTypes() {
	if len(l.types) == 0 && !l.diags.HasErrors() {
		l.diags.add(Pos{File: ".", Line: 1, Col: 1}, Error, "no-types", "no event type is declared (a file with a top-level type: key); every message would be rejected")
	}
}

// checkTested warns about each event type that no test case sends: a case counts for
// the type its message names in its envelope's type field, whatever the envelope.
// Only when the rules load without error: a suite with an error may have lost the very
// cases that test a type.
func (l *loader) checkTested() {
	if l.diags.HasErrors() {
		return
	}
	tested := map[string]bool{}
	for _, s := range l.suites {
		field := l.suiteTypeField(s)
		if field == "" {
			continue
		}
		for _, c := range s.cases {
			var doc map[string]json.RawMessage
			if json.Unmarshal([]byte(c.input), &doc) != nil {
				continue
			}
			var name string
			if json.Unmarshal(doc[field], &name) == nil {
				tested[name] = true
			}
		}
	}
	warned := map[string]bool{}
	for _, ts := range l.types {
		if tested[ts.name] || warned[ts.name] {
			continue
		}
		warned[ts.name] = true
		ts.file.warnf(ts.nameNode, "type-untested", "event type %q has no test case: add one to a suite (%s)", ts.name, suiteNameFor(ts))
	}
}

// suiteTypeField is the type field of the envelope a suite is written in ("" when that
// envelope is not declared).
func (l *loader) suiteTypeField(s *suiteSpec) string {
	for _, e := range l.envelopes {
		if e.name == s.envelope || s.envelope == "" && (e.isDefault || len(l.envelopes) == 1) {
			return e.typeField
		}
	}
	return ""
}

// suiteNameFor suggests the suite file beside a type's file: order.placed.yaml →
// order.placed_test.yaml.
func suiteNameFor(ts *typeSpec) string {
	ext := path.Ext(ts.file.name)
	return strings.TrimSuffix(ts.file.name, ext) + "_test" + ext
}
