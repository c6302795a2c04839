package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"

	"eventproc/limits"
)

// evalState is the per-evaluation scratch space, pooled. It is also the CEL activation:
// it resolves header, body and the variables (each evaluated at most once, lazily).
type evalState struct {
	header, body *record
	bodySchema   *objSchema
	vars         []*variable
	varIdx       map[string]int
	varVals      []ref.Val
	varErr       []error
	varDone      []bool
	violations   []Violation
	warnings     []Violation
	structural   bool // a required or type violation: rules are not run
	ver          *version
	rulesRan     bool // every field well-typed, the rules evaluated: attributes can be
	headerKept   bool // a decode error lay in the body's value: the header read is kept
	index        []int
	d            decoder
	msg          messageVal // the variable message
}

var statePool = sync.Pool{New: func() any { return &evalState{} }}

var _ interpreter.Activation = (*evalState)(nil)

func (s *evalState) ResolveName(name string) (any, bool) {
	switch name {
	case "header":
		return s.header, s.header != nil
	case "body":
		return s.body, s.body != nil
	case "message":
		return &s.msg, true
	}
	i, ok := s.varIdx[name]
	if !ok {
		return nil, false
	}
	if !s.varDone[i] {
		s.varDone[i] = true
		v := s.vars[i]
		if v.prg == nil {
			s.varErr[i] = fmt.Errorf("variable %s did not compile", v.name)
		} else {
			val, _, err := v.prg.Eval(s)
			if err == nil && types.IsError(val) {
				err = val.(*types.Err)
			}
			s.varVals[i], s.varErr[i] = val, err
		}
	}
	if s.varErr[i] != nil {
		return types.WrapErr(fmt.Errorf("variable %s (%s): %w", s.vars[i].name, s.vars[i].pos, s.varErr[i])), true
	}
	return s.varVals[i], true
}

func (s *evalState) Parent() interpreter.Activation { return nil }

// useVars makes vars resolvable, with fresh memo slots.
func (s *evalState) useVars(vars []*variable, idx map[string]int) {
	s.vars, s.varIdx = vars, idx
	n := len(vars)
	if cap(s.varVals) < n {
		s.varVals, s.varErr, s.varDone = make([]ref.Val, n), make([]error, n), make([]bool, n)
	}
	s.varVals, s.varErr, s.varDone = s.varVals[:n], s.varErr[:n], s.varDone[:n]
	for i := 0; i < n; i++ {
		s.varVals[i], s.varErr[i], s.varDone[i] = nil, nil, false
	}
}

func (s *evalState) release(rs *Ruleset) {
	if s.header != nil {
		rs.env.header.put(s.header)
	}
	if s.body != nil {
		s.bodySchema.put(s.body)
	}
	s.header, s.body, s.bodySchema = nil, nil, nil
	s.vars, s.varIdx = nil, nil
	for i := range s.varVals {
		s.varVals[i], s.varErr[i] = nil, nil
	}
	s.violations, s.warnings = s.violations[:0], s.warnings[:0]
	s.structural, s.ver, s.rulesRan, s.headerKept = false, nil, false, false
	s.index = s.index[:0]
	s.d = decoder{keys: s.d.keys[:0], index: s.d.index[:0]}
	s.msg = messageVal{}
	statePool.Put(s)
}

// Evaluate decodes and validates one message body. A valid event's verdict carries its
// persistence key and attributes (Verdict.Persist); with ForStorage, the rest of its
// item too. It never panics (an internal failure is reported as RuleFailed) and never
// blocks: every CEL program is cost-bounded. ctx is checked between rules; when it is
// done the verdict is RuleFailed with an Err that wraps ctx.Err(), and the caller must
// not act on it.
//
// The body is read as its transport says (WithTransport; TransportAuto by default): an
// SNS notification is unwrapped and the event in its Message judged exactly as if it
// had come raw. A body its transport cannot read is Invalid with a *TransportError,
// stored like an undecodable one (keyed by the whole body).
func (rs *Ruleset) Evaluate(ctx context.Context, body string, opts ...EvalOption) (v *Verdict) {
	v = &Verdict{Retry: rs.defaultRetry}
	s := statePool.Get().(*evalState)
	defer func() {
		if r := recover(); r != nil {
			v.internal(fmt.Errorf("%v", r))
		}
		s.release(rs)
	}()
	o := mergeOptions(opts)
	event, err := rs.read(body, o, s, v)
	if err != nil {
		v.Outcome, v.Err = Invalid, err
		if o.forStorage {
			v.PayloadHash = PayloadHash(body)
			rs.rejected(s, v)
		}
		return v
	}
	rs.evaluate(ctx, event, s, v)
	if !o.forStorage {
		return v
	}
	switch v.Outcome {
	case Valid:
		v.PayloadHash = PayloadHash(event)
		if err := rs.document(s, event, v); err != nil {
			v.internal(fmt.Errorf("decode document: %w", err))
		}
	case Invalid:
		v.PayloadHash = PayloadHash(event)
		rs.rejected(s, v)
	}
	return v
}

// read unwraps body as its transport says and returns the event to judge; it sets
// v.Message (a copy of the given metadata, with what the transport read) and the
// variable message.
func (rs *Ruleset) read(body string, o evalOptions, s *evalState, v *Verdict) (string, error) {
	s.msg = messageVal{m: &zeroMessage, transport: string(TransportRaw)}
	if o.msg != nil {
		m := *o.msg
		v.Message = &m
	}
	event, n, err := unwrap(body, o.transport)
	if err != nil {
		var te *TransportError
		if v.Message != nil && errors.As(err, &te) {
			v.Message.Transport = TransportSNS // read as a notification, and refused
		}
		return "", err
	}
	switch {
	case n != nil:
		if v.Message == nil {
			v.Message = &Message{}
		}
		n.apply(v.Message)
	case v.Message != nil:
		v.Message.Transport = TransportRaw
	}
	if v.Message != nil {
		s.msg = messageVal{m: v.Message, transport: string(v.Message.Transport)}
	}
	return event, nil
}

// internal makes v a RuleFailed verdict for a failure of the engine itself, keeping
// what identifies the event and its retry policy.
func (v *Verdict) internal(err error) {
	*v = Verdict{Outcome: RuleFailed, EventType: v.EventType, Version: v.Version, EventID: v.EventID, Retry: v.Retry,
		Err: &RuleError{Rule: "engine", Pos: Pos{File: "engine"}, Err: fmt.Errorf("internal error: %w", err)}}
}

// evaluate runs the phases of Evaluate: decode and check the message (decodeAll), run
// the rules, then build the verdict and its persistence target (persist).
func (rs *Ruleset) evaluate(ctx context.Context, body string, s *evalState, v *Verdict) {
	ver, headerOK, ok := rs.decodeAll(body, s, v)
	if !ok {
		return
	}
	// Rules assume well-typed input: they run only when no field is missing or of the
	// wrong type.
	if headerOK && !s.structural && !rs.runAllRules(ctx, s, ver, v) {
		return
	}
	if len(s.warnings) > 0 {
		v.Warnings = append([]Violation(nil), s.warnings...)
	}
	if ver == nil && v.Err == nil && len(s.violations) == 0 {
		// The envelope's type and version fields are required strings, so this is an
		// empty one: say so rather than reject without a reason.
		v.Err = &UnknownTypeError{EventType: v.EventType, Version: v.Version}
	}
	if len(s.violations) > 0 || v.Err != nil || ver == nil {
		v.Outcome = Invalid
		if len(s.violations) > 0 {
			v.Violations = append([]Violation(nil), s.violations...)
		}
		return
	}
	rs.persist(s, ver, v)
}

// decodeAll checks the message, decodes and checks the header, reads the version (from
// the header, the body or the envelope), looks the version up, and decodes and checks
// the body. It returns the version (nil when unknown), whether the header was
// well-typed, and false, with v Invalid, when the message could not be decoded.
func (rs *Ruleset) decodeAll(body string, s *evalState, v *Verdict) (ver *version, headerOK, ok bool) {
	if err := checkMessage(body); err != nil {
		v.Outcome, v.Err = Invalid, err
		return nil, false, false
	}
	start, end, err := rs.decodeHeader(body, s, v)
	if err != nil {
		v.Outcome, v.Err = Invalid, err
		return nil, false, false
	}
	if start >= 0 && rs.env.versionPath != nil {
		if err := s.bodyVersion(rs.env, body, start, end, v); err != nil {
			v.Outcome, v.Err = Invalid, err
			return nil, false, false
		}
	}
	headerOK = !s.structural
	ver = rs.lookupVersion(v)
	if ver != nil && start >= 0 {
		if err := s.decodeBody(body, start, end, ver); err != nil {
			v.Outcome, v.Err = Invalid, err
			return nil, false, false
		}
	}
	return ver, headerOK, true
}

// persist makes v Valid with its persistence key and attributes, or RuleFailed when one
// of their expressions fails.
func (rs *Ruleset) persist(s *evalState, ver *version, v *Verdict) {
	p := &Persist{Table: ver.table, Key: make([]Attribute, len(ver.key))}
	for i, k := range ver.key {
		val, err := s.evalNamed(k)
		if err != nil {
			v.Outcome, v.Err = RuleFailed, &RuleError{Rule: "persist.key." + k.name, Pos: k.pos, Err: err}
			return
		}
		str, ok := val.(types.String)
		if !ok {
			v.Outcome, v.Err = RuleFailed, &RuleError{Rule: "persist.key." + k.name, Pos: k.pos, Err: fmt.Errorf("gave %s, not a string", val.Type().TypeName())}
			return
		}
		if str == "" {
			v.Outcome, v.Err = RuleFailed, &RuleError{Rule: "persist.key." + k.name, Pos: k.pos, Err: errors.New("gave an empty string; a key attribute must not be empty")}
			return
		}
		p.Key[i] = Attribute{Name: k.name, Value: string(str)}
	}
	if len(ver.attrs) > 0 {
		p.Attributes = make([]Attribute, 0, len(ver.attrs))
		for _, a := range ver.attrs {
			val, err := s.evalNamed(a)
			if err != nil {
				v.Outcome, v.Err = RuleFailed, &RuleError{Rule: "persist.attributes." + a.name, Pos: a.pos, Err: err}
				return
			}
			p.Attributes = append(p.Attributes, Attribute{Name: a.name, Value: toNative(val)})
		}
	}
	v.Outcome, v.Persist = Valid, p
}

// checkMessage reports a message the engine does not decode: one over
// limits.MessageBytes, or not UTF-8 (at the offset of the first bad byte).
func checkMessage(body string) error {
	if len(body) > limits.MessageBytes { // the largest body SQS delivers
		return &DecodeError{Offset: limits.MessageBytes, Reason: "message larger than 1 MiB"}
	}
	if !utf8.ValidString(body) {
		i := 0
		for i < len(body) {
			r, n := utf8.DecodeRuneInString(body[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return &DecodeError{Offset: i, Reason: "invalid UTF-8"}
	}
	return nil
}

// decodeHeader decodes the message's header into s.header, copies its type, version
// and id into v, and checks the header's fields and that the body is an object. It
// returns where the body's text starts and ends (start is -1 when there is no body
// to decode), or a decoding error.
//
// A decoding error within the body's value (start set, end not) leaves the header
// members before the body read: v still gets the type, version and id among them, and
// those present are checked (s.headerKept), so that a rejected item keeps them. The
// members after the body were not read; they stay absent, and are not reported missing.
func (rs *Ruleset) decodeHeader(body string, s *evalState, v *Verdict) (start, end int, err error) {
	env := rs.env
	s.d = decoder{src: body, out: s, keys: s.d.keys, index: s.d.index}
	s.header = env.header.get()
	start, end, err = s.d.top(env, s.header)
	if err != nil {
		if start >= 0 && end < 0 {
			rs.identify(s, v)
			for i, f := range env.header.fields {
				if x := &s.header.vals[i]; x.present() {
					s.checkField(f, x)
				}
			}
			s.headerKept = true
		}
		return start, end, err
	}
	rs.identify(s, v)
	s.checkObject(env.header, s.header)
	switch {
	case start < 0:
		s.structural = true
		s.violations = append(s.violations, Violation{Rule: "body.required", Field: "body", Message: "is required"})
	case strings.HasPrefix(body[start:end], "null"):
		s.structural = true
		s.violations = append(s.violations, Violation{Rule: "body.required", Field: "body", Message: "is required"})
		start = -1
	case body[start] != '{':
		s.structural = true
		s.violations = append(s.violations, Violation{Rule: "body.type", Field: "body", Message: "must be an object"})
		start = -1
	}
	return start, end, nil
}

// identify copies the type, version and id the decoded header holds into v.
func (rs *Ruleset) identify(s *evalState, v *Verdict) {
	env, hv := rs.env, s.header.vals
	if x := &hv[env.typeIdx]; x.k == kString {
		v.EventType = x.s
	}
	switch {
	case env.version != "":
		v.Version = env.version
	case env.versionIdx >= 0:
		if x := &hv[env.versionIdx]; x.k == kString {
			v.Version = x.s
		}
	}
	if x := &hv[env.idIdx]; x.k == kString {
		v.EventID = x.s
	}
}

// lookupVersion finds the version v's header names and takes its retry policy. When
// the type or version is unknown it returns nil with v.Err set; when the header names
// none, nil alone.
func (rs *Ruleset) lookupVersion(v *Verdict) *version {
	if v.EventType == "" || v.Version == "" {
		return nil
	}
	t := rs.types[v.EventType]
	if t == nil {
		v.Err = &UnknownTypeError{EventType: v.EventType}
		return nil
	}
	ver := t.versions[v.Version]
	if ver == nil {
		v.Err = &UnknownTypeError{EventType: v.EventType, Version: v.Version}
		return nil
	}
	v.Retry = ver.retry
	return ver
}

// decodeBody decodes body[start:end] into s.body against ver's schema and checks its
// fields.
func (s *evalState) decodeBody(body string, start, end int, ver *version) error {
	s.bodySchema = ver.body
	s.body = ver.body.get()
	s.d.i, s.d.depth = start, 1
	s.d.src = body[:end]
	if err := s.d.object(ver.body, s.body, nil); err != nil {
		return err
	}
	s.checkObject(ver.body, s.body)
	s.ver = ver
	return nil
}

// runAllRules runs the envelope's rules, then the version's (ver is nil when the
// event's type is unknown), with the variables in scope. It returns false, with v set
// to RuleFailed, when a rule cannot be evaluated.
func (rs *Ruleset) runAllRules(ctx context.Context, s *evalState, ver *version, v *Verdict) bool {
	env := rs.env
	if ver != nil {
		s.useVars(ver.vars, ver.varIdx)
	} else {
		idx := make(map[string]int, len(env.vars))
		for i, x := range env.vars {
			idx[x.name] = i
		}
		s.useVars(env.vars, idx)
	}
	if !s.runRules(ctx, env.rules, v) {
		return false
	}
	if ver != nil && !s.runRules(ctx, ver.rules, v) {
		return false
	}
	s.rulesRan = true
	return true
}

func (s *evalState) evalNamed(n *named) (ref.Val, error) {
	if n.prg == nil {
		return nil, errors.New("did not compile")
	}
	val, _, err := n.prg.Eval(s)
	if err != nil {
		return nil, err
	}
	if types.IsError(val) {
		return nil, val.(*types.Err)
	}
	return val, nil
}

// runRules evaluates rules, recording violations and warnings. It returns false, with
// v set to RuleFailed, when a rule cannot be evaluated.
func (s *evalState) runRules(ctx context.Context, rules []*rule, v *Verdict) bool {
	for _, r := range rules {
		if err := ctx.Err(); err != nil {
			v.Outcome, v.Err = RuleFailed, &RuleError{Rule: r.id, Pos: r.pos, Err: err}
			return false
		}
		if r.prg == nil {
			continue
		}
		val, _, err := r.prg.Eval(s)
		if err == nil && types.IsError(val) {
			err = val.(*types.Err)
		}
		if err != nil {
			v.Outcome, v.Err = RuleFailed, &RuleError{Rule: r.id, Pos: r.pos, Err: err}
			return false
		}
		ok, isBool := val.(types.Bool)
		if !isBool {
			v.Outcome, v.Err = RuleFailed, &RuleError{Rule: r.id, Pos: r.pos, Err: fmt.Errorf("gave %s, not a bool", val.Type().TypeName())}
			return false
		}
		if ok {
			continue
		}
		msg := r.message
		if r.msgPrg != nil {
			mv, _, err := r.msgPrg.Eval(s)
			if str, isStr := mv.(types.String); err == nil && isStr {
				msg = string(str)
			} else {
				if err == nil {
					err = fmt.Errorf("gave %v", mv)
				}
				msg = fmt.Sprintf("violates %s (its message_expr failed: %v)", r.id, err)
			}
		}
		x := Violation{Rule: r.id, Field: r.field, Message: msg}
		if r.severity == Warning {
			s.warnings = append(s.warnings, x)
		} else {
			s.violations = append(s.violations, x)
		}
	}
	return true
}

// checkObject runs the required and short-hand checks of every field of r.
func (s *evalState) checkObject(o *objSchema, r *record) {
	for i, f := range o.fields {
		s.checkField(f, &r.vals[i])
	}
}

func (s *evalState) checkField(f *fieldSchema, v *value) {
	if !v.present() {
		if f.def != nil && (v.k == kAbsent || v.k == kNull) {
			*v = *f.def
			return
		}
		if f.required && (v.k == kAbsent || v.k == kNull) {
			s.structural = true
			s.violations = append(s.violations, Violation{Rule: f.ruleRequired, Field: concretePath(f.path, s.index), Message: "is required"})
		}
		return
	}
	for i := range f.checks {
		c := &f.checks[i]
		if !c.test(v) {
			s.structural = s.structural || c.structural
			s.violations = append(s.violations, Violation{Rule: c.rule, Field: concretePath(f.path, s.index), Message: c.message})
		}
	}
	switch v.k {
	case kObject:
		s.checkObject(f.obj, v.o)
	case kList:
		s.index = append(s.index, 0)
		for i := range v.l {
			s.index[len(s.index)-1] = i
			s.checkField(f.elem, &v.l[i])
		}
		s.index = s.index[:len(s.index)-1]
	}
}

// toNative converts a CEL result to plain Go values for storage.
func toNative(v ref.Val) any {
	switch x := v.(type) {
	case types.String:
		return string(x)
	case types.Int:
		return int64(x)
	case types.Uint:
		return int64(x)
	case types.Double:
		return float64(x)
	case types.Bool:
		return bool(x)
	case types.Timestamp:
		return x.Time.UTC()
	case types.Duration:
		return x.Duration.String()
	case types.Bytes:
		return []byte(x)
	case types.Null:
		return nil
	case *record:
		return x.native()
	case *messageVal:
		return x.native()
	case *types.Optional:
		if x.HasValue() {
			return toNative(x.GetValue())
		}
		return nil
	case traits.Lister:
		var out []any
		for it := x.Iterator(); it.HasNext() == types.True; {
			out = append(out, toNative(it.Next()))
		}
		return out
	case traits.Mapper:
		out := map[string]any{}
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			out[fmt.Sprint(toNative(k))] = toNative(x.Get(k))
		}
		return out
	}
	return fmt.Sprint(v.Value())
}

// rejected fills an Invalid verdict's Rejected and Header from what was decoded: the
// header fields and the attributes that read no field a violation concerns. The key
// comes from v.PayloadHash.
func (rs *Ruleset) rejected(s *evalState, v *Verdict) {
	p := rs.rejection(v.PayloadHash)
	if ver := s.ver; ver != nil {
		p.Table = ver.reject
		if s.rulesRan {
			for _, a := range ver.attrs {
				if readsViolated(a.reads, s.violations) {
					continue
				}
				if val, err := s.evalNamed(a); err == nil {
					p.Attributes = append(p.Attributes, Attribute{Name: a.name, Value: toNative(val)})
				}
			}
		}
	} else if t := rs.types[v.EventType]; t != nil && len(t.order) > 0 {
		ver := t.versions[v.Version]
		if ver == nil {
			ver = t.versions[t.order[0]] // an unknown version of a known type
		}
		p.Table = ver.reject
	}
	v.Rejected = &p
	var de *DecodeError
	if s.header == nil || (errors.As(v.Err, &de) && !s.headerKept) {
		return // not a JSON object of the envelope: no header to keep
	}
	for i, f := range rs.env.header.fields {
		x := &s.header.vals[i]
		if !x.present() || violated(f.path, s.violations) {
			continue
		}
		val := x.native()
		if x.k == kTime && x.s != "" {
			val = x.s // as sent, as a valid event's item keeps it
		}
		v.Header = append(v.Header, Attribute{Name: f.name, Value: val})
	}
}

// violated reports whether a violation concerns the field at path or a part of it.
func violated(path string, vs []Violation) bool {
	for _, x := range vs {
		if x.Field == path || strings.HasPrefix(x.Field, path+".") || strings.HasPrefix(x.Field, path+"[") {
			return true
		}
	}
	return false
}

// Rejection says where a rejected (Invalid) message is stored: the defaults file's
// rejected table (persist.rejected_table, else persist.table), with "rejected#" and the
// hex SHA-256 of the body in every key attribute of defaults.persist.key, so that a
// redelivered rejected message overwrites its own item instead of adding one.
func (rs *Ruleset) Rejection(body string) Persist { return rs.rejection(PayloadHash(body)) }

// rejection is Rejection of a body whose PayloadHash is hash.
func (rs *Ruleset) rejection(hash string) Persist {
	k := "rejected#" + hash
	p := Persist{Table: rs.rejectTable}
	for _, name := range rs.rejectKey {
		p.Key = append(p.Key, Attribute{Name: name, Value: k})
	}
	return p
}

// PayloadHash is the hex SHA-256 of an event as it is judged: the inner event of a
// transport wrapper (an SNS notification), else the whole body. Evaluate sets it as
// Verdict.PayloadHash; every stored item carries it (payload_hash), so that the same
// event, however it came, is told apart from another event given the same key; a
// rejected item's key is made of it.
func PayloadHash(event string) string {
	sum := sha256.Sum256([]byte(event))
	return hex.EncodeToString(sum[:])
}
