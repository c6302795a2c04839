package engine

import (
	"errors"
	"strings"
)

// Where an event's version comes from: a header field (identify reads it with the
// header), a constant the envelope declares (identify sets it), or a member inside the
// body, found here by a pre-scan of the body's bytes before the body is decoded
// against that version's schema.

// errFound stops a pre-scan once the member it looks for is read.
var errFound = errors.New("found")

// bodyVersion reads the version at the envelope's body path from body[start:end] (the
// body object, whose syntax top has already checked) into v. A version that is
// missing, null, not a string or empty is a violation naming the path, as the header
// field's would be; the body is then not decoded, since its schema is unknown.
func (s *evalState) bodyVersion(env *envelope, body string, start, end int, v *Verdict) error {
	s.d.src, s.d.i, s.d.depth = body[:end], start, 0
	x, err := s.d.find(env.versionPath)
	if err != nil {
		return err
	}
	path := "body." + celPath(env.versionPath)
	var rule, msg string
	switch {
	case x.k == kString && x.s != "":
		v.Version = x.s
		return nil
	case x.k == kString:
		rule, msg = path+".min_length", "must not be empty"
	case x.k == kBad:
		rule, msg = path+".type", "must be a string"
	default:
		rule, msg = path+".required", "is required"
	}
	s.structural = true
	s.violations = append(s.violations, Violation{Rule: rule, Field: path, Message: msg})
	return nil
}

// find reads the value at path (member names, one per object level) from the object
// the decoder is at, without decoding the rest: it skips other members and stops at
// the first match. The value is a string (kString), null (kNull), of another type
// (kBad), or absent (kAbsent, also when a level on the way is not an object).
func (d *decoder) find(path []string) (value, error) {
	var out value
	var walk func(level int) error
	walk = func(level int) error {
		d.ws()
		if d.peek() != '{' {
			return nil
		}
		return d.members(func(key string) error {
			if key != path[level] {
				return d.skip()
			}
			if level < len(path)-1 {
				if err := walk(level + 1); err != nil {
					return err
				}
				return errFound
			}
			switch d.peek() {
			case '"':
				str, err := d.str()
				if err != nil {
					return err
				}
				out = value{k: kString, s: str}
			case 'n':
				out.k = kNull
			default:
				out.k = kBad
			}
			return errFound
		})
	}
	if err := walk(0); err != nil && !errors.Is(err, errFound) {
		return value{}, err
	}
	return out, nil
}

// celName is the name under which CEL reaches a field whose JSON member name is name:
// each '-' read as '_' (detail-type → detail_type).
func celName(name string) string { return strings.ReplaceAll(name, "-", "_") }

// celPath joins member names into a path in the schema's notation (CEL names).
func celPath(members []string) string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = celName(m)
	}
	return strings.Join(out, ".")
}

// versionOf is the version a message built as JSON-ready values names, read where the
// envelope says ("" when it names none): doc is a map[string]any (DecodeDocument's) or
// an *ordered (a suite's message).
func (env *envelope) versionOf(doc any) string {
	if env.version != "" {
		return env.version
	}
	path := []string{env.versionField}
	if env.versionPath != nil {
		path = append([]string{env.bodyField}, env.versionPath...)
	}
	for _, k := range path {
		doc = memberOf(doc, k)
	}
	s, _ := doc.(string)
	return s
}

// setVersion writes version where the envelope reads it in a message built as a
// map[string]any (creating the body objects on the way), and reports false for an
// envelope whose version is a constant: a message then carries none.
func (env *envelope) setVersion(doc map[string]any, version string) bool {
	switch {
	case env.version != "":
		return false
	case env.versionPath == nil:
		doc[env.versionField] = version
		return true
	}
	m := doc
	for _, k := range append([]string{env.bodyField}, env.versionPath[:len(env.versionPath)-1]...) {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[env.versionPath[len(env.versionPath)-1]] = version
	return true
}

// memberOf is the member key of an object decoded generically or built by a suite (nil
// when doc is neither or has no such member).
func memberOf(doc any, key string) any {
	switch o := doc.(type) {
	case map[string]any:
		return o[key]
	case *ordered:
		return o.vals[key]
	}
	return nil
}
