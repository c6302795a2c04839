package engine

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// DecodeDocument decodes a whole message body generically, for storage: objects
// become map[string]any, arrays []any, numbers json.Number (the exact literal), and
// strings, bools and null their Go equivalents. It applies the engine's limits (valid
// UTF-8, depth, duplicate keys) and fails on a body that is not a JSON object.
func DecodeDocument(body string) (map[string]any, error) {
	if !utf8.ValidString(body) {
		return nil, &DecodeError{Reason: "invalid UTF-8"}
	}
	d := &decoder{src: body}
	d.ws()
	if d.peek() != '{' {
		return nil, d.fail("the message is not a JSON object")
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
		d.i++
		d.depth++
		if d.depth > maxDepth {
			return nil, d.fail("nested too deeply")
		}
		m := map[string]any{}
		d.ws()
		if d.peek() == '}' {
			d.i++
			d.depth--
			return m, nil
		}
		for {
			d.ws()
			if d.peek() != '"' {
				return nil, d.fail("expected a string key")
			}
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			if _, dup := m[k]; dup {
				return nil, d.fail("duplicate key " + k)
			}
			d.ws()
			if d.peek() != ':' {
				return nil, d.fail("expected ':' after a key")
			}
			d.i++
			d.ws()
			v, err := d.anyValue()
			if err != nil {
				return nil, err
			}
			m[strings.Clone(k)] = v
			d.ws()
			switch d.peek() {
			case ',':
				d.i++
			case '}':
				d.i++
				d.depth--
				return m, nil
			default:
				return nil, d.fail("expected ',' or '}' in an object")
			}
		}
	case c == '[':
		d.i++
		d.depth++
		if d.depth > maxDepth {
			return nil, d.fail("nested too deeply")
		}
		l := []any{}
		d.ws()
		if d.peek() == ']' {
			d.i++
			d.depth--
			return l, nil
		}
		for {
			d.ws()
			v, err := d.anyValue()
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			d.ws()
			switch d.peek() {
			case ',':
				d.i++
			case ']':
				d.i++
				d.depth--
				return l, nil
			default:
				return nil, d.fail("expected ',' or ']' in a list")
			}
		}
	case c == '"':
		s, err := d.str()
		return strings.Clone(s), err
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
