package engine

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// The decoder reads a message body (JSON) straight into records of a known schema: no
// intermediate maps, strings sliced from the body when they need no unescaping. It is
// strict: invalid UTF-8, control characters in strings, trailing data, duplicate keys
// and nesting deeper than maxDepth are decode errors. Values of the wrong type for a
// declared field are violations, not errors: the rest of the message is still checked.

// maxDepth bounds the nesting of objects and arrays in a message.
const maxDepth = 64

type decoder struct {
	src   string
	i     int
	depth int
	out   *evalState // where type violations go
	keys  []string   // keys seen in the objects being read (duplicate detection)
	index []int      // list indices of the value being read, for violation paths
}

func (d *decoder) fail(reason string) *DecodeError {
	return &DecodeError{Offset: d.i, Reason: reason}
}

func (d *decoder) ws() {
	for d.i < len(d.src) {
		switch d.src[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	if d.i < len(d.src) {
		return d.src[d.i]
	}
	return 0
}

// top reads the message's top-level object into the header record and returns the
// byte span of the body field's value (start = -1 when absent).
func (d *decoder) top(env *envelope, hr *record) (start, end int, err error) {
	start, end = -1, -1
	d.ws()
	if d.peek() != '{' {
		return start, end, d.notObject()
	}
	err = d.object(env.header, hr, func(key string) (bool, error) {
		if key != env.bodyField {
			return false, nil
		}
		if start >= 0 {
			return true, d.fail("duplicate key " + strconv.Quote(key))
		}
		start = d.i
		if err := d.skip(); err != nil {
			return true, err
		}
		end = d.i
		return true, nil
	})
	if err != nil {
		return start, end, err
	}
	d.ws()
	if d.i != len(d.src) {
		return start, end, d.fail("data after the JSON object")
	}
	return start, end, nil
}

// notObject explains why the message, read up to its first non-blank byte, does not
// start with an object.
func (d *decoder) notObject() *DecodeError {
	switch {
	case d.i >= len(d.src):
		return d.fail("empty message")
	case strings.HasPrefix(d.src[d.i:], "\uFEFF"):
		return d.fail("a UTF-8 byte order mark (U+FEFF) before the JSON object; JSON must not start with one")
	}
	return d.fail("the message is not a JSON object")
}

// members reads an object, calling fn with each key once the reader is at its value;
// fn must read the value. It enforces the depth limit and the object syntax.
func (d *decoder) members(fn func(key string) error) error {
	d.i++ // '{'
	d.depth++
	if d.depth > maxDepth {
		return d.fail("nested deeper than " + strconv.Itoa(maxDepth) + " levels")
	}
	d.ws()
	if d.peek() == '}' {
		d.i++
		d.depth--
		return nil
	}
	for {
		d.ws()
		if d.peek() != '"' {
			return d.fail("expected a string key")
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		d.ws()
		if d.peek() != ':' {
			return d.fail("expected ':' after a key")
		}
		d.i++
		d.ws()
		if err := fn(key); err != nil {
			return err
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			d.depth--
			return nil
		default:
			return d.fail("expected ',' or '}' in an object")
		}
	}
}

// elements reads an array, calling fn with each index once the reader is at the
// element; fn must read it. It enforces the depth limit and the array syntax.
func (d *decoder) elements(fn func(i int) error) error {
	d.i++ // '['
	d.depth++
	if d.depth > maxDepth {
		return d.fail("nested deeper than " + strconv.Itoa(maxDepth) + " levels")
	}
	d.ws()
	if d.peek() == ']' {
		d.i++
		d.depth--
		return nil
	}
	for n := 0; ; n++ {
		d.ws()
		if err := fn(n); err != nil {
			return err
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			d.depth--
			return nil
		default:
			return d.fail("expected ',' or ']' in a list")
		}
	}
}

// object reads an object into r: declared keys into their slots, others skipped.
// special, when set, may consume the value of a key first (the envelope's body field).
func (d *decoder) object(o *objSchema, r *record, special func(string) (bool, error)) error {
	base := len(d.keys)
	var big map[string]struct{}
	defer func() { d.keys = d.keys[:base] }()
	return d.members(func(key string) error {
		if special != nil {
			if done, err := special(key); done || err != nil {
				return err
			}
		}
		if idx, ok := o.byName[key]; ok {
			v := &r.vals[idx]
			if v.k != kAbsent {
				return d.fail("duplicate key " + strconv.Quote(key))
			}
			return d.field(o.fields[idx], v)
		}
		if d.dupKey(base, key, &big) {
			return d.fail("duplicate key " + strconv.Quote(key))
		}
		return d.skip()
	})
}

// dupKey records key among the keys of the object whose keys start at base, and
// reports whether it was already there.
func (d *decoder) dupKey(base int, key string, big *map[string]struct{}) bool {
	if *big != nil {
		if _, ok := (*big)[key]; ok {
			return true
		}
		(*big)[key] = struct{}{}
		return false
	}
	for _, k := range d.keys[base:] {
		if k == key {
			return true
		}
	}
	d.keys = append(d.keys, key)
	if len(d.keys)-base > 32 {
		*big = make(map[string]struct{}, 64)
		for _, k := range d.keys[base:] {
			(*big)[k] = struct{}{}
		}
	}
	return false
}

// field reads the value of a declared field into v.
func (d *decoder) field(f *fieldSchema, v *value) error {
	switch c := d.peek(); {
	case c == 'n':
		if !strings.HasPrefix(d.src[d.i:], "null") {
			return d.fail("invalid literal")
		}
		d.i += 4
		v.k = kNull
		return nil
	case c == '"' && (f.typ == typeString || f.typ == typeTimestamp):
		s, err := d.str()
		if err != nil {
			return err
		}
		if f.typ == typeString {
			v.k, v.s = kString, s
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			d.typeViolation(f, v, "must be an RFC 3339 timestamp")
			return nil
		}
		v.k, v.t, v.s = kTime, t, s // s: the text as sent, which a rejected item keeps
		return nil
	case (c == '-' || '0' <= c && c <= '9') && (f.typ == typeInteger || f.typ == typeNumber):
		start := d.i
		isInt, err := d.num()
		if err != nil {
			return err
		}
		lit := d.src[start:d.i]
		if f.typ == typeInteger {
			if isInt {
				n, err := strconv.ParseInt(lit, 10, 64)
				if err != nil {
					d.typeViolation(f, v, "is out of range for a 64-bit integer")
					return nil
				}
				v.k, v.i = kInt, n
				return nil
			}
			n, integral, inRange := exactInt(lit)
			switch {
			case !integral:
				d.typeViolation(f, v, f.msgType)
			case !inRange:
				d.typeViolation(f, v, "is out of range for a 64-bit integer")
			default:
				v.k, v.i = kInt, n
			}
			return nil
		}
		x, err := strconv.ParseFloat(lit, 64)
		if err != nil && math.IsInf(x, 0) {
			d.typeViolation(f, v, "is out of range for a 64-bit number")
			return nil
		}
		v.k, v.n = kNumber, x
		return nil
	case (c == 't' || c == 'f') && f.typ == typeBool:
		switch {
		case strings.HasPrefix(d.src[d.i:], "true"):
			d.i += 4
			v.k, v.b = kBool, true
		case strings.HasPrefix(d.src[d.i:], "false"):
			d.i += 5
			v.k, v.b = kBool, false
		default:
			return d.fail("invalid literal")
		}
		return nil
	case c == '{' && f.typ == typeObject:
		r := f.obj.get()
		v.k, v.o = kObject, r
		return d.object(f.obj, r, nil)
	case c == '[' && f.typ == typeList:
		return d.list(f, v)
	}
	// A value of another type: a violation; read past it.
	if err := d.skip(); err != nil {
		return err
	}
	d.typeViolation(f, v, f.msgType)
	return nil
}

func (d *decoder) list(f *fieldSchema, v *value) error {
	v.k = kList
	v.l = v.l[:0]
	d.index = append(d.index, 0)
	defer func() { d.index = d.index[:len(d.index)-1] }()
	return d.elements(func(n int) error {
		d.index[len(d.index)-1] = n
		v.l = append(v.l, value{})
		ev := &v.l[len(v.l)-1]
		if d.peek() == 'n' {
			if err := d.lit("null"); err != nil {
				return err
			}
			d.typeViolation(f.elem, ev, f.elem.msgType)
			return nil
		}
		return d.field(f.elem, ev)
	})
}

// typeViolation records a value of the wrong type (v stays absent for the checks).
func (d *decoder) typeViolation(f *fieldSchema, v *value, msg string) {
	v.k = kBad
	d.out.structural = true
	d.out.violations = append(d.out.violations, Violation{Rule: f.ruleType, Field: concretePath(f.path, d.index), Message: msg})
}

// concretePath replaces each "[]" of a declared path with the list index being read.
func concretePath(p string, index []int) string {
	if len(index) == 0 || !strings.Contains(p, "[]") {
		return p
	}
	var b strings.Builder
	k := 0
	for {
		j := strings.Index(p, "[]")
		if j < 0 || k >= len(index) {
			b.WriteString(p)
			return b.String()
		}
		b.WriteString(p[:j])
		b.WriteString("[" + strconv.Itoa(index[k]) + "]")
		k++
		p = p[j+2:]
	}
}

// skip reads past any JSON value, checking its syntax, depth and keys.
func (d *decoder) skip() error {
	switch c := d.peek(); {
	case c == '{':
		base := len(d.keys)
		var big map[string]struct{}
		defer func() { d.keys = d.keys[:base] }()
		return d.members(func(key string) error {
			if d.dupKey(base, key, &big) {
				return d.fail("duplicate key " + strconv.Quote(key))
			}
			return d.skip()
		})
	case c == '[':
		return d.elements(func(int) error { return d.skip() })
	case c == '"':
		_, err := d.str()
		return err
	case c == '-' || '0' <= c && c <= '9':
		_, err := d.num()
		return err
	case c == 't':
		return d.lit("true")
	case c == 'f':
		return d.lit("false")
	case c == 'n':
		return d.lit("null")
	case c == 0 && d.i >= len(d.src):
		return d.fail("unexpected end of input")
	}
	return d.fail("unexpected character " + strconv.QuoteRune(rune(d.peek())))
}

func (d *decoder) lit(s string) error {
	if !strings.HasPrefix(d.src[d.i:], s) {
		return d.fail("invalid literal")
	}
	d.i += len(s)
	return nil
}

// num reads a number per the JSON grammar and says whether it is an integer literal.
func (d *decoder) num() (isInt bool, err error) {
	s, i := d.src, d.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		d.i = i
		return false, d.fail("invalid number")
	}
	isInt = true
	if i < len(s) && s[i] == '.' {
		isInt = false
		i++
		j := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == j {
			d.i = i
			return false, d.fail("invalid number")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		isInt = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == j {
			d.i = i
			return false, d.fail("invalid number")
		}
	}
	d.i = i
	return isInt, nil
}

// str reads a string; without escapes it is a slice of the body (no allocation).
func (d *decoder) str() (string, error) {
	d.i++ // '"'
	start := d.i
	s := d.src
	for i := start; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			d.i = i + 1
			return s[start:i], nil
		case c == '\\':
			return d.unescape(start)
		case c < 0x20:
			d.i = i
			return "", d.fail("control character in a string")
		}
	}
	d.i = len(s)
	return "", d.fail("unterminated string")
}

func (d *decoder) unescape(start int) (string, error) {
	s := d.src
	b := make([]byte, 0, 2*(len(s)-start)/3+8)
	i := start
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return string(b), nil
		case c < 0x20:
			d.i = i
			return "", d.fail("control character in a string")
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			break
		}
		switch s[i+1] {
		case '"', '\\', '/':
			b = append(b, s[i+1])
			i += 2
		case 'b':
			b, i = append(b, '\b'), i+2
		case 'f':
			b, i = append(b, '\f'), i+2
		case 'n':
			b, i = append(b, '\n'), i+2
		case 'r':
			b, i = append(b, '\r'), i+2
		case 't':
			b, i = append(b, '\t'), i+2
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				d.i = i
				return "", d.fail("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// Only a high surrogate followed by a low one is a character; a lone
				// one is no text at all (and U+FFFD in its place would make
				// different strings equal).
				r2, ok2 := rune(-1), false
				if i+7 < len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
					r2, ok2 = hex4(s, i+8)
				}
				dec := utf16.DecodeRune(r, r2)
				if !ok2 || dec == utf8.RuneError {
					d.i = i
					return "", d.fail("unpaired UTF-16 surrogate " + strconv.Quote(s[i:i+6]) + " in a string")
				}
				r = dec
				i += 6
			}
			i += 6
			b = utf8.AppendRune(b, r)
		default:
			d.i = i
			return "", d.fail("invalid escape in a string")
		}
	}
	d.i = len(s)
	return "", d.fail("unterminated string")
}

// exactInt reads a JSON number literal with a fraction or an exponent by its exact
// decimal value: integral says whether that is a whole number, inRange whether it
// also fits in an int64, which is then n. No float64 rounding is involved:
// 2.0000000000000001 is not integral, 2.0 and 2e3 are.
func exactInt(lit string) (n int64, integral, inRange bool) {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	mant, exp := lit, 0
	if k := strings.IndexAny(lit, "eE"); k >= 0 {
		mant, exp = lit[:k], atoiSat(lit[k+1:])
	}
	whole, frac := mant, ""
	if k := strings.IndexByte(mant, '.'); k >= 0 {
		whole, frac = mant[:k], mant[k+1:]
	}
	// The value is digits(whole frac) × 10^(exp - len(frac)); strip the zeros that do
	// not change it, leaving significant digits that end in a non-zero one.
	frac = strings.TrimRight(frac, "0")
	scale := exp - len(frac)
	whole = strings.TrimLeft(whole, "0")
	if frac == "" {
		t := strings.TrimRight(whole, "0")
		scale += len(whole) - len(t)
		whole = t
	}
	if whole == "" {
		frac = strings.TrimLeft(frac, "0")
	}
	digits := len(whole) + len(frac)
	switch {
	case digits == 0:
		return 0, true, true // a zero, -0 included
	case scale < 0:
		return 0, false, false // its last non-zero digit is after the point
	case digits+scale > 19:
		return 0, true, false // at least 10^19
	}
	var u uint64 // < 10^19 < 2^64
	for _, part := range [2]string{whole, frac} {
		for k := 0; k < len(part); k++ {
			u = u*10 + uint64(part[k]-'0')
		}
	}
	for ; scale > 0; scale-- {
		u *= 10
	}
	switch {
	case !neg && u <= math.MaxInt64:
		return int64(u), true, true
	case neg && u <= 1<<63:
		return int64(-u), true, true
	}
	return 0, true, false
}

// atoiSat reads an exponent (an optional sign and digits), saturating at ±10^9: far
// beyond any exponent that changes the verdict for a literal under 1 MiB.
func atoiSat(s string) int {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	n := 0
	for k := 0; k < len(s) && n < 1e9; k++ {
		n = n*10 + int(s[k]-'0')
	}
	n = min(n, 1e9)
	if neg {
		return -n
	}
	return n
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
