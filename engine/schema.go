package engine

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// The compiled schema: what the decoder fills and what CEL sees. Declarations become
// objSchemas (one per object: the header, each version's body, each nested object),
// whose fields have slots in a record. Short-hand constraints become native checks,
// each with the CEL expression that defines its meaning.

type vkind uint8

const (
	kAbsent vkind = iota
	kNull         // JSON null
	kBad          // a value of the wrong type (already reported)
	kString
	kInt
	kNumber
	kBool
	kTime
	kObject
	kList
)

// value is one decoded field value. Strings point into the message body when they
// needed no unescaping, so decoding allocates little.
type value struct {
	k vkind
	b bool
	s string
	n float64
	i int64
	t time.Time
	o *record
	l []value
}

// present reports whether the value was given and not null.
func (v *value) present() bool { return v.k > kBad }

// record is a decoded object of a known schema; it is a CEL value whose fields are
// read by the provider's FieldType functions.
type record struct {
	schema *objSchema
	vals   []value
}

var (
	_ ref.Val            = (*record)(nil)
	_ traits.Indexer     = (*record)(nil)
	_ traits.FieldTester = (*record)(nil)
)

// Get reads a field by name, for expressions that lost the static type (dyn(body).x).
func (r *record) Get(index ref.Val) ref.Val {
	name, ok := index.(types.String)
	if !ok {
		return types.ValOrErr(index, "no such overload")
	}
	i, ok := r.schema.index(string(name))
	if !ok || !r.vals[i].present() {
		return types.NewErr("no such key: %s", string(name))
	}
	return r.vals[i].celValue()
}

// IsSet reports whether a field is present, for has() on a dynamic value.
func (r *record) IsSet(field ref.Val) ref.Val {
	name, ok := field.(types.String)
	if !ok {
		return types.ValOrErr(field, "no such overload")
	}
	i, ok := r.schema.index(string(name))
	return types.Bool(ok && r.vals[i].present())
}

// index finds a field by its CEL name (dyn(header).detail_type) or its JSON name
// (dyn(header)["detail-type"]).
func (o *objSchema) index(name string) (int, bool) {
	if i, ok := o.byCEL[name]; ok {
		return i, true
	}
	i, ok := o.byName[name]
	return i, ok
}

func (r *record) ConvertToNative(t reflect.Type) (any, error) {
	if t == reflect.TypeOf(map[string]any(nil)) || t.Kind() == reflect.Interface {
		return r.native(), nil
	}
	return nil, fmt.Errorf("cannot convert %s to %v", r.schema.name, t)
}

func (r *record) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return r.schema.celType
	}
	if t.TypeName() == r.schema.name {
		return r
	}
	return types.NewErr("type conversion error from '%s' to '%s'", r.schema.name, t.TypeName())
}

func (r *record) Equal(other ref.Val) ref.Val {
	o, ok := other.(*record)
	if !ok || o.schema != r.schema {
		return types.False
	}
	return types.Bool(reflect.DeepEqual(r.native(), o.native()))
}

func (r *record) Type() ref.Type { return r.schema.celType }
func (r *record) Value() any     { return r }

// native converts the record to plain Go values (for attributes and equality).
func (r *record) native() map[string]any {
	m := make(map[string]any, len(r.vals))
	for i := range r.vals {
		if r.vals[i].present() {
			m[r.schema.fields[i].name] = r.vals[i].native()
		}
	}
	return m
}

func (v *value) native() any {
	switch v.k {
	case kString:
		return v.s
	case kInt:
		return v.i
	case kNumber:
		return v.n
	case kBool:
		return v.b
	case kTime:
		return v.t
	case kObject:
		return v.o.native()
	case kList:
		out := make([]any, len(v.l))
		for i := range v.l {
			out[i] = v.l[i].native()
		}
		return out
	}
	return nil
}

// celValue converts a present value to CEL.
func (v *value) celValue() ref.Val {
	switch v.k {
	case kString:
		return types.String(v.s)
	case kInt:
		return types.Int(v.i)
	case kNumber:
		return types.Double(v.n)
	case kBool:
		return types.Bool(v.b)
	case kTime:
		return types.Timestamp{Time: v.t}
	case kObject:
		return v.o
	case kList:
		vals := make([]ref.Val, len(v.l))
		for i := range v.l {
			vals[i] = v.l[i].celValue()
		}
		return types.NewRefValList(types.DefaultTypeAdapter, vals)
	}
	return types.NullValue
}

// objSchema is a declared object: the header, a version's body, or a nested object.
type objSchema struct {
	name    string // CEL type name
	fields  []*fieldSchema
	byName  map[string]int // JSON member name → index
	byCEL   map[string]int // CEL name → index
	celType *types.Type
	pool    sync.Pool
}

func (o *objSchema) get() *record {
	if r, ok := o.pool.Get().(*record); ok {
		return r
	}
	return &record{schema: o, vals: make([]value, len(o.fields))}
}

// put returns a record (and its nested records) to their pools.
func (o *objSchema) put(r *record) {
	for i := range r.vals {
		r.vals[i].release()
		r.vals[i] = value{}
	}
	o.pool.Put(r)
}

func (v *value) release() {
	switch v.k {
	case kObject:
		v.o.schema.put(v.o)
	case kList:
		for i := range v.l {
			v.l[i].release()
		}
	}
}

// fieldSchema is one field of an objSchema (or the item declaration of a list).
type fieldSchema struct {
	spec     *fieldSpec
	name     string // the JSON member name
	cel      string // the name in CEL and in paths: celName(name)
	path     string // "body.total", "body.items[]", in CEL names
	typ      string
	required bool
	obj      *objSchema   // object
	elem     *fieldSchema // list
	celType  *types.Type
	ft       *types.FieldType
	checks   []check
	def      *value // the value rules see when the field is absent

	ruleRequired, ruleType string
	msgType                string
}

// check is one short-hand constraint: a native test and the CEL expression over
// `self` that defines it (compiled at load time, proven equal in tests).
type check struct {
	rule    string // id, e.g. "body.total.gt"
	key     string // the YAML key it comes from, e.g. "gt"
	message string
	cel     string
	test    func(v *value) bool
	// structural: rules and cost estimates rely on it (max_length), so when it fails
	// the rules are not run.
	structural bool
}

// newFieldSchema compiles a declaration; named objects get CEL type names under
// prefix. Problems with constraints are reported through diag.
func newFieldSchema(fs *fieldSpec, path, typeName string, reg map[string]*objSchema, diags *Diagnostics) *fieldSchema {
	f := &fieldSchema{spec: fs, name: fs.name, cel: celName(fs.name), path: path, typ: fs.typ, required: fs.required}
	f.ruleRequired, f.ruleType = path+".required", path+".type"
	switch fs.typ {
	case typeString:
		f.celType, f.msgType = types.StringType, "must be a string"
	case typeInteger:
		f.celType, f.msgType = types.IntType, "must be an integer"
	case typeNumber:
		f.celType, f.msgType = types.DoubleType, "must be a number"
	case typeBool:
		f.celType, f.msgType = types.BoolType, "must be true or false"
	case typeTimestamp:
		f.celType, f.msgType = types.TimestampType, "must be an RFC 3339 timestamp"
	case typeObject:
		f.msgType = "must be an object"
		f.obj = newObjSchema(typeName, fs.fields, path, reg, diags)
		f.celType = f.obj.celType
	case typeList:
		f.msgType = "must be a list"
		if fs.items == nil {
			fs.file.errorf(fs.node, "missing-key", "%s is a list: declare its items", path)
			f.celType = types.NewListType(types.DynType)
			break
		}
		f.elem = newFieldSchema(fs.items, path+"[]", typeName+"[]", reg, diags)
		f.celType = types.NewListType(f.elem.celType)
	default:
		f.celType = types.DynType
	}
	if !typeKnown(fs.typ) {
		// The type is missing or unknown, which is reported: whether a constraint
		// applies to it cannot be known, so none is checked (nor reported).
		return f
	}
	if fs.typ != typeObject && len(fs.fields) > 0 {
		fs.file.errorf(fs.where("fields"), "constraint-type", "%s: fields apply to objects, not to %s", path, fs.typ)
	}
	if fs.typ != typeList && fs.items != nil {
		fs.file.errorf(fs.where("items"), "constraint-type", "%s: items apply to lists, not to %s", path, fs.typ)
	}
	f.checks = compileChecks(f, diags)
	f.def = defaultValue(f, diags)
	return f
}

// typeKnown reports whether typ is a field type; a field whose type is missing or
// misspelt has had its error reported, and nothing that depends on the type is.
func typeKnown(typ string) bool { return contains(fieldTypes, typ) }

// defaultValue parses a field's default for its type.
func defaultValue(f *fieldSchema, diags *Diagnostics) *value {
	n := f.spec.def
	if n == nil {
		return nil
	}
	bad := func(format string, args ...any) *value {
		f.spec.file.errorf(n, "invalid-value", "%s: default "+format, append([]any{f.path}, args...)...)
		return nil
	}
	if f.required {
		return bad("makes no sense on a required field")
	}
	var v value
	switch f.typ {
	case typeString:
		if n.Tag != "!!str" {
			return bad("must be a string")
		}
		v = value{k: kString, s: n.Value}
	case typeInteger:
		var i int64
		if n.Tag != "!!int" || n.Decode(&i) != nil {
			return bad("must be an integer")
		}
		v = value{k: kInt, i: i}
	case typeNumber:
		var x float64
		if (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&x) != nil {
			return bad("must be a number")
		}
		v = value{k: kNumber, n: x}
	case typeBool:
		var b bool
		if n.Tag != "!!bool" || n.Decode(&b) != nil {
			return bad("must be true or false")
		}
		v = value{k: kBool, b: b}
	case typeTimestamp:
		t, err := time.Parse(time.RFC3339Nano, n.Value)
		if err != nil {
			return bad("must be an RFC 3339 timestamp")
		}
		v = value{k: kTime, t: t}
	default:
		return bad("applies to string, integer, number, bool and timestamp fields")
	}
	for _, c := range f.checks {
		if !c.test(&v) {
			return bad("violates its own field's %s: %s", c.key, c.message)
		}
	}
	return &v
}

func newObjSchema(name string, specs []*fieldSpec, path string, reg map[string]*objSchema, diags *Diagnostics) *objSchema {
	o := &objSchema{name: name, byName: map[string]int{}, byCEL: map[string]int{}}
	o.celType = types.NewObjectType(name)
	reg[name] = o
	for _, fs := range specs {
		cn := celName(fs.name)
		if i, clash := o.byCEL[cn]; clash {
			// Two names CEL reads as one, brought together by extends (one file's are
			// checked as it is parsed).
			prev := o.fields[i].spec
			fs.file.errorf(fs.key, "invalid-name", "field name %q is %s in CEL, like %q at %s: rename one", fs.name, cn, prev.name, prev.file.pos(prev.key))
			continue
		}
		f := newFieldSchema(fs, path+"."+cn, name+"."+cn, reg, diags)
		idx := len(o.fields)
		o.byName[fs.name] = idx
		o.byCEL[cn] = idx
		o.fields = append(o.fields, f)
		f.ft = &types.FieldType{
			Type: f.celType,
			IsSet: func(target any) bool {
				r, ok := target.(*record)
				return ok && r.vals[idx].present()
			},
			GetFrom: func(target any) (any, error) {
				r, ok := target.(*record)
				if !ok {
					return nil, fmt.Errorf("no such field '%s'", f.cel)
				}
				v := &r.vals[idx]
				if !v.present() {
					return nil, fmt.Errorf("no such key: %s (%s)", f.cel, guardAdvice(f.path))
				}
				return v.celValue(), nil
			},
		}
	}
	return o
}

// guardAdvice says how to guard the read of an optional field, in valid CEL: a field
// of a list's items is read through the item (the loop variable), not the list's path.
func guardAdvice(path string) string {
	i := strings.LastIndex(path, "[]")
	if i < 0 {
		return fmt.Sprintf("an optional field: guard it with has(%s)", path)
	}
	return fmt.Sprintf("an optional field of each %s item: guard it with has(p%s) where p is the item", path[:i], path[i+2:])
}

func fmtNum(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// celNum renders a bound as a CEL literal of the field's type.
func celNum(typ string, x float64) string {
	if typ == typeInteger {
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64) // a fractional bound on an integer: compared as double
	}
	s := strconv.FormatFloat(x, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// okInt applies a bound of the given kind to integers.
func okInt(key string, a, b int64) bool {
	switch key {
	case "min":
		return a >= b
	case "max":
		return a <= b
	case "gt":
		return a > b
	}
	return a < b
}

func numOf(v *value) float64 {
	if v.k == kInt {
		return float64(v.i)
	}
	return v.n
}

// compileChecks turns the short-hand constraints of a field into checks.
func compileChecks(f *fieldSchema, diags *Diagnostics) []check {
	fs := f.spec
	c := &checkSet{f: f}
	c.bound("min", fs.min, ">=", func(a, b float64) bool { return a >= b }, "at least")
	c.bound("max", fs.max, "<=", func(a, b float64) bool { return a <= b }, "at most")
	c.bound("gt", fs.gt, ">", func(a, b float64) bool { return a > b }, "greater than")
	c.bound("lt", fs.lt, "<", func(a, b float64) bool { return a < b }, "less than")
	if fs.min != nil && fs.max != nil && *fs.min > *fs.max {
		fs.file.errorf(fs.where("max"), "invalid-value", "%s: max %s is below min %s", f.path, fmtNum(*fs.max), fmtNum(*fs.min))
	}
	c.length("min_length", fs.minLen, ">=", func(a, b int) bool { return a >= b }, "at least")
	c.length("max_length", fs.maxLen, "<=", func(a, b int) bool { return a <= b }, "at most")
	if fs.minLen != nil && fs.maxLen != nil && *fs.minLen > *fs.maxLen {
		fs.file.errorf(fs.where("max_length"), "invalid-value", "%s: max_length %d is below min_length %d", f.path, *fs.maxLen, *fs.minLen)
	}
	if fs.pattern != "" {
		c.pattern()
	}
	if fs.format != "" {
		c.format()
	}
	if len(fs.enum) > 0 {
		c.out = append(c.out, enumCheck(f, c.bad)...)
	}
	return c.out
}

// checkSet collects the checks of one field's short-hand constraints.
type checkSet struct {
	f   *fieldSchema
	out []check
}

// bad reports a constraint that does not apply to the field's type.
func (c *checkSet) bad(key, format string, args ...any) {
	fs := c.f.spec
	fs.file.errorf(fs.where(key), "constraint-type", "%s: "+format, append([]any{c.f.path}, args...)...)
}

// bound adds the check of a numeric bound (min, max, gt, lt) x, when set.
func (c *checkSet) bound(key string, x *float64, op string, ok func(a, b float64) bool, words string) {
	f := c.f
	if x == nil {
		return
	}
	if f.typ != typeInteger && f.typ != typeNumber {
		c.bad(key, "%s applies to integer and number fields, not to %s", key, f.typ)
		return
	}
	b := *x
	lhs := "self"
	if f.typ == typeInteger && (b != math.Trunc(b) || math.Abs(b) >= 1<<63) {
		lhs = "double(self)"
	}
	test := func(v *value) bool { return ok(numOf(v), b) }
	if f.typ == typeInteger && b == math.Trunc(b) && math.Abs(b) < 1<<63 {
		// Compare integers as integers: float64 cannot tell 2^53 from 2^53+1.
		bi := int64(b)
		test = func(v *value) bool { return okInt(key, v.i, bi) }
	}
	c.out = append(c.out, check{rule: f.path + "." + key, key: key,
		message: fmt.Sprintf("must be %s %s", words, fmtNum(b)),
		cel:     fmt.Sprintf("%s %s %s", lhs, op, celNum(f.typ, b)),
		test:    test})
}

// length adds the check of a length bound (min_length, max_length) n, when set.
func (c *checkSet) length(key string, n *int64, op string, ok func(a, b int) bool, words string) {
	f := c.f
	if n == nil {
		return
	}
	if f.typ != typeString && f.typ != typeList {
		c.bad(key, "%s applies to string and list fields, not to %s", key, f.typ)
		return
	}
	b := int(*n)
	unit := "characters"
	if f.typ == typeList {
		unit = "items"
	}
	msg := fmt.Sprintf("must have %s %d %s", words, b, unit)
	if key == "min_length" && b == 1 {
		msg = "must not be empty"
	}
	c.out = append(c.out, check{rule: f.path + "." + key, key: key, message: msg, structural: key == "max_length",
		cel: fmt.Sprintf("size(self) %s %d", op, b),
		test: func(v *value) bool {
			if v.k == kList {
				return ok(len(v.l), b)
			}
			return ok(utf8.RuneCountInString(v.s), b)
		}})
}

// pattern adds the check of the field's pattern.
func (c *checkSet) pattern() {
	f, fs := c.f, c.f.spec
	if f.typ != typeString {
		c.bad("pattern", "pattern applies to string fields, not to %s", f.typ)
		return
	}
	re, err := regexp.Compile(fs.pattern)
	if err != nil {
		fs.file.errorf(fs.where("pattern"), "bad-pattern", "%s: pattern does not compile: %v", f.path, err)
		return
	}
	c.out = append(c.out, check{rule: f.path + ".pattern", key: "pattern",
		message: fmt.Sprintf("must match %s", fs.pattern),
		cel:     fmt.Sprintf("self.matches(%s)", strconv.Quote(fs.pattern)),
		test:    func(v *value) bool { return re.MatchString(v.s) }})
}

// format adds the check of the field's named format.
func (c *checkSet) format() {
	f, fs := c.f, c.f.spec
	nc, ok := lookupFormat(fs.format)
	switch {
	case !ok:
		msg := fmt.Sprintf("%s: unknown format %q (one of %s)", f.path, fs.format, strings.Join(formatNames(), ", "))
		if s := suggest(fs.format, formatNames()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		fs.file.errorf(fs.where("format"), "unknown-format", "%s", msg)
	case f.typ != typeString:
		c.bad("format", "format applies to string fields, not to %s", f.typ)
	default:
		c.out = append(c.out, check{rule: f.path + ".format", key: "format",
			message: "must be " + nc.what,
			cel:     nc.fn + "(self)",
			test:    func(v *value) bool { return nc.test(v.s) }})
	}
}

func enumCheck(f *fieldSchema, bad func(key, format string, args ...any)) []check {
	fs := f.spec
	var strs []string
	var nums []float64
	var lits []string
	for _, e := range fs.enum {
		switch x := e.(type) {
		case string:
			if f.typ != typeString {
				bad("enum", "enum value %q is a string but the field is %s", x, f.typ)
				return nil
			}
			strs = append(strs, x)
			lits = append(lits, strconv.Quote(x))
		case int64:
			if f.typ != typeInteger && f.typ != typeNumber {
				bad("enum", "enum value %d is a number but the field is %s", x, f.typ)
				return nil
			}
			nums = append(nums, float64(x))
			lits = append(lits, celNum(f.typ, float64(x)))
		case float64:
			if f.typ != typeNumber {
				bad("enum", "enum value %v is not an integer but the field is %s", x, f.typ)
				return nil
			}
			nums = append(nums, x)
			lits = append(lits, celNum(f.typ, x))
		}
	}
	return []check{{rule: f.path + ".enum", key: "enum",
		message: fmt.Sprintf("must be one of [%s]", strings.Join(lits, ", ")),
		cel:     fmt.Sprintf("self in [%s]", strings.Join(lits, ", ")),
		test: func(v *value) bool {
			if v.k == kString {
				for _, s := range strs {
					if s == v.s {
						return true
					}
				}
				return false
			}
			x := numOf(v)
			for _, n := range nums {
				if n == x {
					return true
				}
			}
			return false
		}}}
}
