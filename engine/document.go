package engine

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// DecodeDocument decodes a whole message body generically, for storage: objects
// become map[string]any, arrays []any, numbers json.Number (the exact literal), and
// strings, bools and null their Go equivalents. It applies the engine's limits (valid
// UTF-8, depth, duplicate keys) and fails on a body that is not a JSON object. Strings
// without escapes share body's memory. Evaluate decodes a valid event's message this
// way into its verdict (Verdict.Fields, Verdict.Body).
func DecodeDocument(body string) (map[string]any, error) {
	if !utf8.ValidString(body) {
		return nil, &DecodeError{Reason: "invalid UTF-8"}
	}
	d := &decoder{src: body}
	d.ws()
	if d.peek() != '{' {
		return nil, d.notObject()
	}
	v, err := d.anyValue()
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i != len(d.src) {
		return nil, d.fail("data after the JSON object")
	}
	return v.(map[string]any), nil
}

// anyValue reads any JSON value generically.
func (d *decoder) anyValue() (any, error) {
	switch c := d.peek(); {
	case c == '{':
		m := map[string]any{}
		err := d.members(func(k string) error {
			if _, dup := m[k]; dup {
				return d.fail("duplicate key " + strconv.Quote(k))
			}
			v, err := d.anyValue()
			m[k] = v
			return err
		})
		return m, err
	case c == '[':
		l := []any{}
		err := d.elements(func(int) error {
			v, err := d.anyValue()
			l = append(l, v)
			return err
		})
		return l, err
	case c == '"':
		return d.str()
	case c == '-' || '0' <= c && c <= '9':
		start := d.i
		if _, err := d.num(); err != nil {
			return nil, err
		}
		return json.Number(d.src[start:d.i]), nil
	case c == 't':
		return true, d.lit("true")
	case c == 'f':
		return false, d.lit("false")
	case c == 'n':
		return nil, d.lit("null")
	}
	if d.i >= len(d.src) {
		return nil, d.fail("unexpected end of input")
	}
	return nil, d.fail("unexpected character")
}

// document decodes the message of a valid verdict for storage into v.Fields and
// v.Body, reusing s's decoder: the typed pass has read the same bytes without error,
// so an error here is the engine's own.
func (rs *Ruleset) document(s *evalState, body string, v *Verdict) error {
	d := &s.d
	d.src, d.i, d.depth = body, 0, 0
	d.ws()
	if d.peek() != '{' {
		return d.notObject()
	}
	bodyField := rs.env.bodyField
	v.Fields = make([]Attribute, 0, len(rs.env.header.fields))
	err := d.members(func(k string) error {
		val, err := d.anyValue()
		if err != nil {
			return err
		}
		if k != bodyField {
			v.Fields = append(v.Fields, Attribute{Name: k, Value: val})
			return nil
		}
		m, ok := val.(map[string]any)
		if !ok {
			return d.fail("the body field is not an object")
		}
		v.Body = m
		return nil
	})
	if err == nil && v.Body == nil {
		err = d.fail("no body field")
	}
	return err
}
