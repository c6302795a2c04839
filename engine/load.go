package engine

import (
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	"eventproc/limits"
)

// Ruleset is a loaded, compiled events.d. It is immutable and safe for concurrent use.
type Ruleset struct {
	env           *envelope
	types         map[string]*eventType
	msgAttrs      []string // MessageAttributeNames' answer
	typeNames     []string
	defaultRetry  RetryPolicy
	rejectTable   string
	rejectKey     []string
	tables        []Table
	costLimit     uint64
	suites        []*suite
	envelopeNames []string
	objs          map[string]*objSchema
}

// envelope is the compiled envelope.
type envelope struct {
	name                                        string
	header                                      *objSchema
	typeField, versionField, idField, bodyField string
	typeIdx, versionIdx, idIdx                  int      // versionIdx is -1 when the version is not a header field
	versionPath                                 []string // the body members that lead to the version
	version                                     string   // the constant version
	vars                                        []*variable
	varText                                     map[string]string // each variable's expression, by name
	rules                                       []*rule
}

type eventType struct {
	name     string
	versions map[string]*version
	order    []string
}

type version struct {
	typ    *eventType
	name   string
	body   *objSchema
	vars   []*variable    // the envelope's, then the version's own
	varIdx map[string]int // name → index in vars
	rules  []*rule
	table  string
	key    []*named
	attrs  []*named
	retry  RetryPolicy
	reject string   // the table its rejected messages go to
	reads  []string // the fields the key, the attributes and the envelope's id read
}

type variable struct {
	name string
	prg  cel.Program
	pos  Pos
}

type rule struct {
	id       string
	field    string
	severity Severity
	pos      Pos
	prg      cel.Program
	message  string
	msgPrg   cel.Program
}

// named is a persistence key or attribute expression.
type named struct {
	name  string
	prg   cel.Program
	pos   Pos
	reads []string // the fields it reads (see reads.go)
}

// TypeInfo describes one declared event type.
type TypeInfo struct {
	Name     string
	Versions []string // in declaration order
}

// Table is a DynamoDB table that events.d writes to, with its key attribute names
// (the first is the partition key, the optional second the sort key; both strings).
type Table struct {
	Name string
	Key  []string
	Pos  Pos // where events.d first names it
}

// EnvelopeInfo names the header fields that carry the event's type, version and id, and
// the top-level key that holds the body. VersionField is as the envelope writes it: a
// header field, or a path into the body ("detail.schema_version"); it is empty when the
// envelope declares a constant Version instead.
type EnvelopeInfo struct {
	TypeField, VersionField, IDField, BodyField string
	Version                                     string
	HeaderFields                                []string
	// Variables holds each envelope variable's CEL expression (its text), by name.
	Variables map[string]string
}

type loader struct {
	fsys      fs.FS
	opts      options
	diags     Diagnostics
	files     map[string]*srcFile
	envelopes []*envelopeSpec // every envelope declared
	envelope  *envelopeSpec   // the one selected
	defaults  *defaultsSpec
	types     []*typeSpec
	suites    []*suiteSpec
	clashes   map[string]bool // attribute clashes already reported
	// perVersion holds what compiling each version found (see forVersion), by the
	// diagnostic with the version's type names taken out, in the order first found.
	perVersion      map[Diagnostic]*versionFinding
	perVersionOrder []Diagnostic
}

// Option changes how Load reads events.d.
type Option func(*options)

type options struct {
	envelope string
}

// WithEnvelope selects the envelope named name when events.d declares several. Without
// it, Load takes the only envelope, or the one marked default: true. WithEnvelope("")
// is the same as no option.
func WithEnvelope(name string) Option { return func(o *options) { o.envelope = name } }

// Load reads every *.yaml and *.yml file of fsys (recursively), compiles the rules
// against the selected envelope and parses its test suites (without running them),
// and returns the ruleset with every diagnostic found, sorted. The ruleset is nil when
// any diagnostic is an error. Load never panics, whatever the files hold.
func Load(fsys fs.FS, opts ...Option) (rs *Ruleset, diags Diagnostics) {
	rs, diags, _ = load(fsys, opts...)
	return rs, diags
}

// load is Load that also names the envelope selected ("" when none could be).
func load(fsys fs.FS, opts ...Option) (rs *Ruleset, diags Diagnostics, envelope string) {
	l := &loader{fsys: fsys, files: map[string]*srcFile{}}
	for _, o := range opts {
		o(&l.opts)
	}
	defer func() {
		if r := recover(); r != nil {
			l.diags.add(Pos{File: ".", Line: 1, Col: 1}, Error, "internal", fmt.Sprintf("internal error while loading: %v", r))
			rs, diags, envelope = nil, l.diags.sortUnique(), ""
		}
	}()
	l.read()
	l.selectEnvelope()
	if l.envelope != nil {
		envelope = l.envelope.name
	}
	rs = l.build()
	l.checkTested()
	l.diags = l.diags.sortUnique()
	if l.diags.HasErrors() {
		return nil, l.diags, envelope
	}
	return rs, l.diags, envelope
}

func (l *loader) read() {
	var names []string
	err := fs.WalkDir(l.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			l.diags.add(Pos{File: p, Line: 1, Col: 1}, Error, "file-read", err.Error())
			return nil
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		l.diags.add(Pos{File: ".", Line: 1, Col: 1}, Error, "file-read", err.Error())
	}
	sort.Strings(names)
	if len(names) == 0 {
		l.diags.add(Pos{File: ".", Line: 1, Col: 1}, Error, "no-files", "no *.yaml files found")
	}
	for _, name := range names {
		src, err := fs.ReadFile(l.fsys, name)
		f := &srcFile{name: name, diags: &l.diags}
		if err != nil {
			l.diags.add(Pos{File: name, Line: 1, Col: 1}, Error, "file-read", err.Error())
			continue
		}
		f.lines = strings.Split(string(src), "\n")
		l.files[name] = f
		root := parseYAML(f, src)
		if root == nil {
			continue
		}
		base := path.Base(name)
		if strings.HasSuffix(base, "_test.yaml") || strings.HasSuffix(base, "_test.yml") {
			l.parseSuite(f, root)
			continue
		}
		l.parseTopLevel(f, root)
	}
}

// selectEnvelope picks the envelope to compile against.
func (l *loader) selectEnvelope() {
	root := Pos{File: ".", Line: 1, Col: 1}
	var names []string
	for _, e := range l.envelopes {
		names = append(names, e.name)
	}
	switch {
	case len(l.envelopes) == 0:
		l.diags.add(root, Error, "missing-envelope", "no envelope is declared (a file with a top-level envelope: key)")
	case l.opts.envelope != "":
		for _, e := range l.envelopes {
			if e.name == l.opts.envelope {
				l.envelope = e
				return
			}
		}
		msg := fmt.Sprintf("no envelope is named %q (declared: %s)", l.opts.envelope, strings.Join(names, ", "))
		if s := suggest(l.opts.envelope, names); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		l.diags.add(root, Error, "unknown-envelope", msg)
	case len(l.envelopes) == 1:
		l.envelope = l.envelopes[0]
	default:
		var defaults []*envelopeSpec
		for _, e := range l.envelopes {
			if e.isDefault {
				defaults = append(defaults, e)
			}
		}
		if len(defaults) == 1 {
			l.envelope = defaults[0]
			return
		}
		for _, e := range l.envelopes[1:] {
			e.file.errorf(e.nameNode, "envelope-ambiguous", "several envelopes are declared (%s): mark exactly one default: true, or select one", strings.Join(names, ", "))
		}
	}
}

// ListEnvelopes lists the names of the envelopes declared in fsys, in file order,
// reading no more than it needs; it does not report problems (Load does).
func ListEnvelopes(fsys fs.FS) []string {
	l := &loader{fsys: fsys, files: map[string]*srcFile{}}
	l.read()
	var out []string
	for _, e := range l.envelopes {
		out = append(out, e.name)
	}
	return out
}

// EnvelopeRules is events.d compiled against one of its envelopes.
type EnvelopeRules struct {
	Envelope string   // its name ("" when none could be selected)
	Rules    *Ruleset // nil when events.d does not compile with it
}

// LoadEvery loads fsys against the envelope opts select (see Load), then, unless
// WithEnvelope names one, against every other envelope it declares. It returns the
// rules of each, the selected envelope's first, and one sorted list of their
// diagnostics in which each problem appears once: what the other envelopes add is
// labelled "with envelope NAME: …".
func LoadEvery(fsys fs.FS, opts ...Option) ([]EnvelopeRules, Diagnostics) {
	rs, diags, name := load(fsys, opts...)
	first := EnvelopeRules{Envelope: name, Rules: rs}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	out := []EnvelopeRules{first}
	if o.envelope != "" {
		return out, diags
	}
	// A problem is known by where it is and what kind it is: its message may differ
	// between envelopes (a hint names the envelope's own fields) and it is still one
	// problem, listed as the first envelope that finds it says it.
	type problem struct {
		pos  Pos
		sev  Severity
		code string
	}
	seen := map[problem]bool{}
	for _, d := range diags {
		seen[problem{d.Pos, d.Severity, d.Code}] = true
	}
	for _, name := range ListEnvelopes(fsys) {
		if name == first.Envelope {
			continue
		}
		ers, more := Load(fsys, WithEnvelope(name))
		out = append(out, EnvelopeRules{Envelope: name, Rules: ers})
		var added []problem
		for _, d := range more {
			if p := (problem{d.Pos, d.Severity, d.Code}); !seen[p] {
				added = append(added, p)
				d.Message = fmt.Sprintf("with envelope %s: %s", name, d.Message)
				diags = append(diags, d)
			}
		}
		for _, p := range added {
			seen[p] = true
		}
	}
	return out, diags.sortUnique()
}

// EnvelopeNames lists the names of every envelope events.d declares, the selected one
// first. `eventproc check` compiles and tests the rules against each.
func (rs *Ruleset) EnvelopeNames() []string { return append([]string(nil), rs.envelopeNames...) }

// builder carries what the phases of build share: the ruleset taking shape, and what
// one phase leaves for the next.
type builder struct {
	l    *loader
	rs   *Ruleset
	objs map[string]*objSchema // every object schema, for the CEL type provider

	defRetry   RetryPolicy
	defPersist *persistSpec

	todo     []pendingVersion
	siblings map[string][]*versionSpec // every version of a type, over its files

	base        *cel.Env            // the CEL environment every expression extends
	envVarTypes []cel.EnvOption     // the envelope's variables, declared
	envReads    map[string][]string // what each envelope variable reads

	defTable, rejTable string
	defKey, defAttrs   []exprSpec
	tables             map[string][]string // table name → key attribute names
	tablePos           map[string]Pos      // where each table is first named
}

// pendingVersion is a version whose schema is built and whose CEL is still to compile.
type pendingVersion struct {
	v    *versionSpec
	ver  *version
	spec *typeSpec
}

// build compiles what read parsed, in phases: the defaults, the envelope, the types'
// schemas, the CEL environment with the envelope's variables and rules, the
// persistence defaults, each version, then the list of tables and the suites.
func (l *loader) build() *Ruleset {
	objs := map[string]*objSchema{messageTypeName: messageSchema()}
	b := &builder{
		l:        l,
		rs:       &Ruleset{types: map[string]*eventType{}, costLimit: DefaultCostLimit, objs: objs},
		objs:     objs,
		tables:   map[string][]string{},
		tablePos: map[string]Pos{},
	}
	b.buildDefaults()
	if l.envelope == nil {
		return nil
	}
	b.buildEnvelope()
	b.buildTypes()
	if !b.buildBase() {
		return nil
	}
	b.buildPersistDefaults()
	for _, p := range b.todo {
		if p.v.broken {
			continue // its extends is reported; what it would compile against is unknown
		}
		l.forVersion(p.spec.name+"/"+p.v.name, func() { b.buildVersion(p) })
	}
	l.flushVersions()
	b.buildTables()
	b.rs.suites = l.buildSuites(b.rs)
	if prov, ok := b.base.CELTypeProvider().(*provider); ok {
		b.rs.msgAttrs = prov.attrs.list()
	}
	return b.rs
}

// buildDefaults applies defaults: retry, persistence, cost limit.
func (b *builder) buildDefaults() {
	b.defRetry = DefaultRetry
	if d := b.l.defaults; d != nil {
		if d.retry != nil {
			b.defRetry = b.l.retryPolicy(DefaultRetry, d.retry)
		}
		b.defPersist = d.persist
		if d.costLimit != nil {
			b.rs.costLimit = uint64(*d.costLimit)
		}
	}
	b.rs.defaultRetry = b.defRetry
}

// buildEnvelope builds the selected envelope's header schema and checks the fields
// that carry the type, version and id, and the body's key.
func (b *builder) buildEnvelope() {
	e := b.l.envelope
	env := &envelope{name: e.name, typeField: e.typeField, versionField: e.versionField, idField: e.idField, bodyField: e.bodyField,
		versionIdx: -1, versionPath: e.versionPath, version: e.version}
	env.header = newObjSchema("envelope.header", e.fields, "header", b.objs, &b.l.diags)
	for k, name := range map[string]string{"type_field": e.typeField, "version_field": e.versionField, "id_field": e.idField} {
		if name == "" || k == "version_field" && (e.versionPath != nil || e.version != "" || strings.Contains(name, ".")) {
			continue // a constant, or a path into the body (or a broken one, reported)
		}
		i, ok := env.header.byName[name]
		if !ok {
			e.file.errorf(e.at[k], "unknown-field", "envelope.%s names %q, which is not a declared header field", k, name)
			continue
		}
		if f := env.header.fields[i]; f.typ != typeString {
			e.file.errorf(e.at[k], "constraint-type", "envelope.%s names %q, which must be a string field", k, name)
		} else if !f.required || f.spec.def != nil {
			e.file.errorf(f.spec.node, "invalid-value", "header field %q is the envelope's %s: it must be required, with no default", name, k)
		}
		switch k {
		case "type_field":
			env.typeIdx = i
		case "version_field":
			env.versionIdx = i
		case "id_field":
			env.idIdx = i
		}
	}
	if _, ok := env.header.byName[e.bodyField]; ok && e.bodyField != "" {
		e.file.errorf(e.at["body_field"], "invalid-value", "envelope.body_field %q must not also be declared as a header field", e.bodyField)
	}
	b.rs.env = env
	b.rs.envelopeNames = []string{e.name}
	for _, o := range b.l.envelopes {
		if o != e {
			b.rs.envelopeNames = append(b.rs.envelopeNames, o.name)
		}
	}
}

// buildTypes builds every version's body schema (the CEL type provider needs every
// object before any expression compiles), resolving extends, and checks the
// compatibility of each type's versions.
func (b *builder) buildTypes() {
	l, rs := b.l, b.rs
	seenVersion := map[string]*versionSpec{}
	b.siblings = map[string][]*versionSpec{}
	for _, ts := range l.types {
		b.siblings[ts.name] = append(b.siblings[ts.name], ts.versions...)
	}
	typeFiles := map[string]*typeSpec{}
	for _, ts := range l.types {
		et := rs.types[ts.name]
		if et == nil {
			et = &eventType{name: ts.name, versions: map[string]*version{}}
			rs.types[ts.name] = et
			typeFiles[ts.name] = ts
		} else if ts.retry != nil || ts.persist != nil {
			ts.file.errorf(ts.nameNode, "duplicate-type", "event type %q is also declared in %s; retry and persist may be declared in one file only", ts.name, typeFiles[ts.name].file.name)
		}
		for _, v := range ts.versions {
			id := ts.name + "/" + v.name
			if prev, dup := seenVersion[id]; dup {
				v.file.errorf(v.key, "duplicate-version", "event type %q version %q is already declared at %s", ts.name, v.name, prev.file.pos(prev.key))
				continue
			}
			seenVersion[id] = v
			l.resolveExtends(ts, v, b.siblings[ts.name], map[*versionSpec]bool{})
			ver := &version{typ: et, name: v.name}
			ver.body = newObjSchema(ts.name+"/"+v.name+":body", v.fields, "body", b.objs, &l.diags)
			b.checkBodyVersion(ver.body)
			et.versions[v.name] = ver
			et.order = append(et.order, v.name)
			b.todo = append(b.todo, pendingVersion{v, ver, ts})
		}
	}
	checked := map[string]bool{}
	for _, ts := range l.types {
		if !checked[ts.name] {
			checked[ts.name] = true
			l.checkCompat(ts.name, l.compatOf(ts.name), b.siblings[ts.name])
		}
	}
	for name := range rs.types {
		rs.typeNames = append(rs.typeNames, name)
	}
	sort.Strings(rs.typeNames)
	l.checkHasTypes()
	b.checkConstVersion()
}

// checkConstVersion warns about the types that declare no version named like the
// envelope's constant version: every event of theirs would be rejected.
func (b *builder) checkConstVersion() {
	env, e := b.rs.env, b.l.envelope
	if env.version == "" {
		return
	}
	var missing []string
	for _, name := range b.rs.typeNames {
		if b.rs.types[name].versions[env.version] == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		e.file.warnf(e.at["version"], "unknown-version", "the envelope's version is always %q, and no version of that name is declared by %s: all their events are rejected (unknown_version)", env.version, strings.Join(missing, ", "))
	}
}

// checkBodyVersion reports a body schema that declares the envelope's body version
// path as something the version cannot be: the version is read as a string before the
// body is decoded, so that field must be a string (and the objects on the way objects).
// A body that does not declare it is fine: rules then do not see it.
func (b *builder) checkBodyVersion(body *objSchema) {
	env := b.rs.env
	o := body
	for i, m := range env.versionPath {
		idx, ok := o.byName[m]
		if !ok {
			return
		}
		f := o.fields[idx]
		last := i == len(env.versionPath)-1
		switch {
		case !typeKnown(f.typ):
			return // reported
		case last && f.typ != typeString, !last && f.typ != typeObject:
			want := map[bool]string{true: "a string", false: "an object"}[last]
			f.spec.file.errorf(f.spec.where("type"), "constraint-type", "%s is on the envelope's version path (version_field %s): it must be %s, not %s", f.path, env.versionField, want, f.typ)
			return
		}
		o = f.obj
	}
}

// buildBase makes the CEL environment over every schema, checks the short-hand
// constraints against it, and compiles the envelope's variables and rules, which see
// the header only. It reports false when the environment cannot be made.
func (b *builder) buildBase() bool {
	l, rs, env, e := b.l, b.rs, b.rs.env, b.l.envelope
	base, err := baseEnv(b.objs)
	if err != nil {
		l.diags.add(Pos{File: ".", Line: 1, Col: 1}, Error, "internal", fmt.Sprintf("cel environment: %v", err))
		return false
	}
	b.base = base
	l.checkShorthands(base, b.objs)

	hdrEnv, err := base.Extend(cel.Variable("header", env.header.celType))
	if err != nil {
		l.diags.add(e.file.pos(e.node), Error, "internal", err.Error())
		return false
	}
	hdrRoots := map[string]*objSchema{"header": env.header}
	b.envReads = map[string][]string{}
	hdrEnv, env.vars, b.envVarTypes = l.compileVars(hdrEnv, hdrRoots, rs.costLimit, e.variables, nil, "envelope", b.envReads)
	env.varText = map[string]string{}
	for _, v := range e.variables {
		env.varText[v.name] = v.expr
	}
	hc := &compiler{env: hdrEnv, est: &sizeEstimator{roots: hdrRoots}, costLimit: rs.costLimit, diags: &l.diags}
	env.rules = l.compileRules(hc, e.rules, env.header, nil, map[string]Pos{})
	return true
}

// buildPersistDefaults takes the default table, key and attributes, and the table of
// rejected events.
func (b *builder) buildPersistDefaults() {
	if p := b.defPersist; p != nil {
		b.defTable, b.rejTable = p.table, p.rejectedTable
		b.defKey, b.defAttrs = p.key, p.attributes
	}
	if b.rejTable == "" {
		b.rejTable = b.defTable
	}
	b.rs.rejectTable = b.rejTable
	for _, k := range b.defKey {
		b.rs.rejectKey = append(b.rs.rejectKey, k.name)
	}
	if b.rejTable != "" && len(b.defKey) > 0 {
		b.addTable(b.rejTable, b.defKey, b.defPersist.file.pos(b.defPersist.node))
	}
}

// addTable records that events.d writes to the table name, keyed by key, and reports
// a table keyed differently in two places.
func (b *builder) addTable(name string, key []exprSpec, at Pos) {
	var names []string
	for _, k := range key {
		names = append(names, k.name)
	}
	if prev, ok := b.tables[name]; ok {
		if strings.Join(prev, ",") != strings.Join(names, ",") {
			b.l.diags.add(at, Error, "table-key-mismatch", fmt.Sprintf("table %q is keyed by [%s] here but by [%s] at %s", name, strings.Join(names, ", "), strings.Join(prev, ", "), b.tablePos[name]))
		}
		return
	}
	b.tables[name], b.tablePos[name] = names, at
}

// buildVersion compiles one version: its retry policy, variables and rules, then its
// persistence. It runs inside forVersion.
func (b *builder) buildVersion(p pendingVersion) {
	l, rs, env := b.l, b.rs, b.rs.env
	ver := p.ver
	ver.retry = b.defRetry
	if p.spec.retry != nil {
		ver.retry = l.retryPolicy(b.defRetry, p.spec.retry)
	}
	venv, err := b.base.Extend(append([]cel.EnvOption{
		cel.Variable("header", env.header.celType),
		cel.Variable("body", ver.body.celType)}, b.envVarTypes...)...)
	if err != nil {
		l.diags.add(p.v.file.pos(p.v.key), Error, "internal", err.Error())
		return
	}
	roots := map[string]*objSchema{"header": env.header, "body": ver.body}
	var own []*variable
	varReads := maps.Clone(b.envReads)
	venv, own, _ = l.compileVars(venv, roots, rs.costLimit, p.v.variables, l.envelope.variables, versionsMark, varReads)
	ver.vars = append(append([]*variable(nil), env.vars...), own...)
	ver.varIdx = map[string]int{}
	for i, v := range ver.vars {
		ver.varIdx[v.name] = i
	}
	c := &compiler{env: venv, est: &sizeEstimator{roots: roots}, costLimit: rs.costLimit, diags: &l.diags}
	ids := map[string]Pos{}
	for _, r := range env.rules {
		ids[r.id] = r.pos
	}
	ver.rules = l.compileRules(c, p.v.rules, env.header, ver.body, ids)
	b.buildPersist(p.spec, ver, c, varReads)
}

// buildPersist compiles a version's persistence: the type's mapping over the
// defaults, its key and attribute expressions, and the fields they read.
func (b *builder) buildPersist(ts *typeSpec, ver *version, c *compiler, varReads map[string][]string) {
	l := b.l
	table, key, attrs := b.defTable, b.defKey, b.defAttrs
	at := Pos{}
	if b.defPersist != nil {
		at = b.defPersist.file.pos(b.defPersist.node)
	}
	if ps := ts.persist; ps != nil {
		at = ps.file.pos(ps.node)
		if ps.table != "" {
			table = ps.table
		}
		if ps.keyNode != nil {
			key = ps.key
		}
		if ps.attributes != nil {
			attrs = ps.attributes
		}
	}
	if table == "" {
		l.diags.add(at, Error, "missing-key", fmt.Sprintf("event type %q has no persist.table (declare one in defaults.persist or the type)", ts.name))
	}
	if len(key) == 0 {
		l.diags.add(at, Error, "missing-key", fmt.Sprintf("event type %q has no persist.key (declare one in defaults.persist or the type)", ts.name))
	}
	ver.table = table
	if table != "" && len(key) > 0 {
		b.addTable(table, key, at)
	}
	ver.reject = b.rejTable
	if ps := ts.persist; ps != nil && ps.rejectedTable != "" {
		ver.reject = ps.rejectedTable
		if len(b.defKey) > 0 {
			b.addTable(ps.rejectedTable, b.defKey, ps.file.pos(ps.rejectedNode))
		}
	}
	l.checkAttributeNames(attrs, key, b.defKey)
	reads := map[string]bool{"header." + b.rs.env.idField: true}
	for _, k := range key {
		prg, _ := c.compile(k.file, k.node, k.expr, fmt.Sprintf("persist.key.%s (for %s)", k.name, versionsMark), types.StringType, "key-not-string")
		ver.key = append(ver.key, &named{name: k.name, prg: prg, pos: k.file.pos(k.node)})
		for _, r := range c.readsIf(prg, k.expr, varReads) {
			reads[r] = true
		}
	}
	for _, a := range attrs {
		prg, _ := c.compile(a.file, a.node, a.expr, fmt.Sprintf("persist.attributes.%s (for %s)", a.name, versionsMark), nil, "")
		n := &named{name: a.name, prg: prg, pos: a.file.pos(a.node), reads: c.readsIf(prg, a.expr, varReads)}
		ver.attrs = append(ver.attrs, n)
		for _, r := range n.reads {
			reads[r] = true
		}
	}
	ver.reads = slices.Sorted(maps.Keys(reads))
}

// buildTables lists the tables events.d writes to, sorted by name, and reports when
// rejected events have no table or no key.
func (b *builder) buildTables() {
	l, rs := b.l, b.rs
	for name, key := range b.tables {
		rs.tables = append(rs.tables, Table{Name: name, Key: key, Pos: b.tablePos[name]})
	}
	sort.Slice(rs.tables, func(i, j int) bool { return rs.tables[i].Name < rs.tables[j].Name })
	if b.rejTable == "" && !l.diags.HasErrors() {
		l.diags.add(Pos{File: ".", Line: 1, Col: 1}, Error, "missing-key", "no table for rejected events: declare defaults.persist.table or defaults.persist.rejected_table")
	}
	if len(b.defKey) == 0 && !l.diags.HasErrors() {
		l.diags.add(Pos{File: ".", Line: 1, Col: 1}, Error, "missing-key", "rejected events need defaults.persist.key (its attribute names key the rejected table)")
	}
}

// versionsMark stands, in the message of a diagnostic found while compiling one
// version, for the versions it was found for (see forVersion).
const versionsMark = "\x00versions\x00"

// forVersion runs fn, which compiles the rules, variables and persistence of the
// version named name ("type/version"), and holds back the diagnostics it reports:
// what a version inherits (through extends, or from the defaults) is compiled again
// for each version, and a problem in it is still one problem. flushVersions reports
// each once, naming in place of versionsMark every version it was found for.
//
// cel-go names the version's own types in its messages (order.placed/v1:body), so
// the diagnostics of two versions are one problem when they are alike but for those
// names.
func (l *loader) forVersion(name string, fn func()) {
	saved := l.diags
	l.diags = nil // srcFile.diags and compiler.diags point at l.diags
	defer func() {
		if r := recover(); r != nil {
			l.diags = append(saved, l.diags...)
			panic(r) // Load reports it, with what was found so far
		}
	}()
	fn()
	found := l.diags
	l.diags = saved
	if l.perVersion == nil {
		l.perVersion = map[Diagnostic]*versionFinding{}
	}
	for _, d := range found {
		key := d
		key.Message = strings.ReplaceAll(d.Message, name+":", typeMark)
		vf := l.perVersion[key]
		if vf == nil {
			vf = &versionFinding{first: d}
			l.perVersion[key] = vf
			l.perVersionOrder = append(l.perVersionOrder, key)
		}
		if n := len(vf.versions); n == 0 || vf.versions[n-1] != name {
			vf.versions = append(vf.versions, name)
		}
	}
}

// versionFinding is a diagnostic forVersion held back: as first found, and the
// versions it was found for.
type versionFinding struct {
	first    Diagnostic
	versions []string
}

// typeMark stands, in a diagnostic held back by forVersion, for the version's name
// where it prefixes a type's (order.placed/v1:body.items).
const typeMark = "\x00type\x00"

// flushVersions reports the diagnostics forVersion held back, each once. One found
// for a single version is as it was found; one found for several names their types
// as the expressions write them (body.items, not order.placed/v1:body.items).
func (l *loader) flushVersions() {
	for _, key := range l.perVersionOrder {
		vf := l.perVersion[key]
		d := vf.first
		if len(vf.versions) > 1 {
			d.Message = strings.ReplaceAll(key.Message, typeMark, "")
		}
		d.Message = strings.ReplaceAll(d.Message, versionsMark, versionList(vf.versions))
		l.diags = append(l.diags, d)
	}
	l.perVersion, l.perVersionOrder = nil, nil
}

// versionList joins "type/version" names, naming each type once:
// "order.placed/v1, v2; user.created/v1".
func versionList(names []string) string {
	var b strings.Builder
	prevType := ""
	for i, n := range names {
		t, v, _ := strings.Cut(n, "/")
		switch {
		case i == 0:
			b.WriteString(n)
		case t == prevType:
			b.WriteString(", " + v)
		default:
			b.WriteString("; " + n)
		}
		prevType = t
	}
	return b.String()
}

// resolveExtends applies v.extends, looking for the parent among every version of
// the type (siblings, in every file).
func (l *loader) resolveExtends(ts *typeSpec, v *versionSpec, siblings []*versionSpec, visiting map[*versionSpec]bool) {
	if v.resolved || v.extends == "" {
		v.resolved = true
		return
	}
	if visiting[v] {
		v.file.errorf(v.extendsNode, "extends-cycle", "version %q of %q extends itself through a cycle", v.name, ts.name)
		v.extends = ""
		v.resolved, v.broken = true, true
		return
	}
	visiting[v] = true
	parent := extendsParent(ts, v, siblings)
	if parent == nil {
		v.resolved, v.broken = true, true
		return
	}
	l.resolveExtends(parent.typ, parent, siblings, visiting)
	v.broken = parent.broken
	v.fields = mergeFields(parent.fields, v.fields)
	v.variables = mergeExprs(parent.variables, v.variables)
	v.rules = mergeRules(parent.rules, v.rules)
	v.resolved = true
	// A field that is still untyped after the merge was not declared in the parent.
	for _, f := range v.fields {
		checkTyped(v, f, "fields."+f.name)
	}
}

// extendsParent finds the version v extends among every version of its type
// (siblings), or reports that there is none.
func extendsParent(ts *typeSpec, v *versionSpec, siblings []*versionSpec) *versionSpec {
	var parent *versionSpec
	for _, p := range siblings {
		if p.name == v.extends && p != v {
			parent = p
		}
	}
	if parent != nil {
		return parent
	}
	msg := fmt.Sprintf("version %q extends %q, which is not a version of %q", v.name, v.extends, ts.name)
	var names []string
	for _, p := range siblings {
		if p != v {
			names = append(names, p.name)
		}
	}
	if s := suggest(v.extends, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	v.file.errorf(v.extendsNode, "extends-unknown", "%s", msg)
	return nil
}

// checkTyped reports each field of f (f included) that has no type after v's merge
// with its parent: it is new in v, and a new field needs a type.
func checkTyped(v *versionSpec, f *fieldSpec, what string) {
	if f.typ == "" {
		if !f.badType {
			f.file.errorf(f.node, "missing-key", "%s is new in %q and needs a type", what, v.name)
		}
		f.typ = "invalid"
	}
	for _, c := range f.fields {
		checkTyped(v, c, what+"."+c.name)
	}
	if f.items != nil {
		checkTyped(v, f.items, what+".items")
	}
}

// mergeFields overlays child declarations on copies of the parent's, by name.
func mergeFields(parent, child []*fieldSpec) []*fieldSpec {
	out := make([]*fieldSpec, 0, len(parent)+len(child))
	idx := map[string]int{}
	for _, p := range parent {
		idx[p.name] = len(out)
		out = append(out, p.clone())
	}
	for _, c := range child {
		i, ok := idx[c.name]
		if !ok {
			out = append(out, c)
			continue
		}
		out[i] = overlay(out[i], c)
	}
	return out
}

func overlay(p, c *fieldSpec) *fieldSpec {
	m := p.clone()
	m.file, m.node = c.file, c.node
	for k, n := range c.at {
		m.at[k] = n
		switch k {
		case "type":
			m.typ = c.typ
		case "required":
			m.required = c.required
		case "description":
			m.description = c.description
		case "enum":
			m.enum = c.enum
		case "pattern":
			m.pattern = c.pattern
		case "format":
			m.format = c.format
		case "min":
			m.min = c.min
		case "max":
			m.max = c.max
		case "gt":
			m.gt = c.gt
		case "lt":
			m.lt = c.lt
		case "min_length":
			m.minLen = c.minLen
		case "max_length":
			m.maxLen = c.maxLen
		case "fields":
			m.fields = mergeFields(m.fields, c.fields)
		case "default":
			m.def = c.def
		case "items":
			if m.items != nil && c.items != nil {
				m.items = overlay(m.items, c.items)
			} else {
				m.items = c.items
			}
		}
	}
	return m
}

func mergeExprs(parent, child []exprSpec) []exprSpec {
	out := append([]exprSpec(nil), parent...)
	for _, c := range child {
		replaced := false
		for i := range out {
			if out[i].name == c.name {
				out[i], replaced = c, true
			}
		}
		if !replaced {
			out = append(out, c)
		}
	}
	return out
}

// mergeRules keeps the parent's rules; a child rule with the same id replaces it.
func mergeRules(parent, child []*ruleSpec) []*ruleSpec {
	out := append([]*ruleSpec(nil), parent...)
	for _, c := range child {
		replaced := false
		for i := range out {
			if out[i].id == c.id {
				out[i], replaced = c, true
			}
		}
		if !replaced {
			out = append(out, c)
		}
	}
	return out
}

// compileVars compiles variables in order, each seeing the ones before it, and returns
// the environment with all of them declared.
//
// reads holds what each variable in scope reads; compileVars adds the new ones.
func (l *loader) compileVars(env *cel.Env, roots map[string]*objSchema, limit uint64, specs, outer []exprSpec, where string, reads map[string][]string) (*cel.Env, []*variable, []cel.EnvOption) {
	var out []*variable
	var decls []cel.EnvOption
	seen := map[string]bool{"header": true, "body": true, "message": true}
	for _, o := range outer {
		seen[o.name] = true
	}
	for _, s := range specs {
		if seen[s.name] {
			s.file.errorf(s.key, "duplicate-variable", "variable %q is already declared (or is a reserved name: header, body, message)", s.name)
			continue
		}
		seen[s.name] = true
		c := &compiler{env: env, est: &sizeEstimator{roots: roots}, costLimit: limit, diags: &l.diags}
		prg, typ := c.compile(s.file, s.node, s.expr, fmt.Sprintf("variable %s (%s)", s.name, where), nil, "")
		if prg == nil {
			typ = types.DynType
		}
		decl := cel.Variable(s.name, typ)
		next, err := env.Extend(decl)
		if err != nil {
			s.file.errorf(s.key, "cel-type", "variable %s: %v", s.name, err)
			continue
		}
		env = next
		decls = append(decls, decl)
		reads[s.name] = c.readsIf(prg, s.expr, reads)
		out = append(out, &variable{name: s.name, prg: prg, pos: s.file.pos(s.node)})
	}
	return env, out, decls
}

// compileRules compiles rules: bool expressions, their messages, and the field each
// concerns (which must be declared).
func (l *loader) compileRules(c *compiler, specs []*ruleSpec, header, body *objSchema, ids map[string]Pos) []*rule {
	var out []*rule
	for _, s := range specs {
		if prev, dup := ids[s.id]; dup {
			s.file.errorf(s.idNode, "duplicate-rule", "rule id %q is already used at %s", s.id, prev)
			continue
		}
		ids[s.id] = s.file.pos(s.idNode)
		r := &rule{id: s.id, field: s.field, severity: s.severity, pos: s.file.pos(s.exprNode), message: s.message}
		if s.field != "" && !fieldDeclared(s.field, header, body) {
			s.file.errorf(s.fieldNode, "unknown-field", "rule %s concerns field %q, which is not declared (write header.NAME or body.PATH)", s.id, s.field)
		}
		r.prg, _ = c.compile(s.file, s.exprNode, s.expr, "rule "+s.id, types.BoolType, "rule-not-bool")
		if s.messageExpr != "" {
			r.msgPrg = c.compileMessage(s.file, s.msgNode, s.messageExpr, "rule "+s.id+" message_expr", s.exprNode)
		}
		if r.message == "" && s.messageExpr == "" {
			r.message = "violates " + s.id
		}
		out = append(out, r)
	}
	return out
}

// fieldDeclared resolves a dotted path (header.x, body.a.b, body.items[].c) against
// the declarations.
func fieldDeclared(p string, header, body *objSchema) bool {
	parts := strings.Split(p, ".")
	var o *objSchema
	switch parts[0] {
	case "header":
		o = header
	case "body":
		o = body
	}
	if o == nil || len(parts) < 2 {
		return false
	}
	for i, part := range parts[1:] {
		list := strings.HasSuffix(part, "[]")
		part = strings.TrimSuffix(part, "[]")
		idx, ok := o.byCEL[part]
		if !ok {
			return false
		}
		f := o.fields[idx]
		if list {
			if f.elem == nil {
				return false
			}
			f = f.elem
		}
		if i == len(parts)-2 {
			return true
		}
		if f.obj == nil {
			return false
		}
		o = f.obj
	}
	return true
}

// retryPolicy overlays a written policy on base and checks that it makes sense.
func (l *loader) retryPolicy(base RetryPolicy, s *retrySpec) RetryPolicy {
	p := base
	if s.maxAttempts != nil {
		p.MaxAttempts = int(*s.maxAttempts)
	}
	if s.initialDelay != nil {
		p.InitialDelay = *s.initialDelay
	}
	if s.maxDelay != nil {
		p.MaxDelay = *s.maxDelay
	}
	if s.multiplier != nil {
		p.Multiplier = *s.multiplier
	}
	if s.jitter != nil {
		p.Jitter = *s.jitter
	}
	// Report only what this spec sets, so an overlay does not repeat its base's errors.
	bad := func(k, format string, args ...any) {
		if n, ok := s.at[k]; ok {
			s.file.errorf(n, "retry-invalid", format, args...)
		}
	}
	if p.MaxAttempts < 1 {
		bad("max_attempts", "retry.max_attempts must be at least 1, not %d", p.MaxAttempts)
	}
	if p.InitialDelay <= 0 {
		bad("initial_delay", "retry.initial_delay must be positive, not %s", p.InitialDelay)
	}
	if p.MaxDelay <= 0 {
		bad("max_delay", "retry.max_delay must be positive, not %s", p.MaxDelay)
	}
	if p.MaxDelay < p.InitialDelay && p.MaxDelay > 0 {
		k := "max_delay"
		if _, ok := s.at[k]; !ok {
			k = "initial_delay"
		}
		bad(k, "retry.max_delay %s is below initial_delay %s", p.MaxDelay, p.InitialDelay)
	}
	if p.MaxDelay > limits.Visibility {
		bad("max_delay", "retry.max_delay %s exceeds SQS's 12h visibility limit", p.MaxDelay)
	}
	if p.InitialDelay > limits.Visibility {
		bad("initial_delay", "retry.initial_delay %s exceeds SQS's 12h visibility limit", p.InitialDelay)
	}
	if p.Multiplier < 1 {
		bad("multiplier", "retry.multiplier must be at least 1, not %v", p.Multiplier)
	}
	if p.Jitter < 0 || p.Jitter > 1 {
		bad("jitter", "retry.jitter must be between 0 and 1, not %v", p.Jitter)
	}
	return p
}

// checkShorthands compiles each short-hand constraint's CEL definition, so that every
// one of them is a type-checked CEL expression over `self`.
func (l *loader) checkShorthands(base *cel.Env, objs map[string]*objSchema) {
	envs := map[string]*cel.Env{}
	var visit func(f *fieldSchema)
	visit = func(f *fieldSchema) {
		if len(f.checks) > 0 {
			key := f.celType.String()
			env, ok := envs[key]
			if !ok {
				var err error
				if env, err = base.Extend(cel.Variable("self", f.celType)); err != nil {
					return
				}
				envs[key] = env
			}
			for _, c := range f.checks {
				if _, iss := env.Compile(c.cel); iss != nil && iss.Err() != nil {
					f.spec.file.errorf(f.spec.where(c.key), "cel-type", "%s: %s (as CEL: %s): %v", f.path, c.key, c.cel, iss.Err())
				}
			}
		}
		if f.elem != nil {
			visit(f.elem)
		}
	}
	for _, o := range objs {
		for _, f := range o.fields {
			visit(f)
		}
	}
}

// Types lists the declared event types, sorted by name.
func (rs *Ruleset) Types() []TypeInfo {
	out := make([]TypeInfo, 0, len(rs.typeNames))
	for _, n := range rs.typeNames {
		t := rs.types[n]
		out = append(out, TypeInfo{Name: n, Versions: append([]string(nil), t.order...)})
	}
	return out
}

// Tables lists every table that valid or rejected events are written to.
func (rs *Ruleset) Tables() []Table { return append([]Table(nil), rs.tables...) }

// Envelope describes the envelope.
func (rs *Ruleset) Envelope() EnvelopeInfo {
	e := rs.env
	info := EnvelopeInfo{TypeField: e.typeField, VersionField: e.versionField, IDField: e.idField, BodyField: e.bodyField, Version: e.version}
	for _, f := range e.header.fields {
		info.HeaderFields = append(info.HeaderFields, f.name)
	}
	info.Variables = maps.Clone(e.varText)
	return info
}

// DefaultRetry is the defaults file's retry policy (DefaultRetry when none is declared).
func (rs *Ruleset) DefaultRetry() RetryPolicy { return rs.defaultRetry }

// Retry returns the retry policy of a type and version (the defaults when unknown).
func (rs *Ruleset) Retry(eventType, version string) RetryPolicy {
	if t := rs.types[eventType]; t != nil {
		if v := t.versions[version]; v != nil {
			return v.retry
		}
	}
	return rs.defaultRetry
}

// MaxAttempts is the largest MaxAttempts of any policy in the ruleset. A queue's
// redrive maxReceiveCount must exceed it.
func (rs *Ruleset) MaxAttempts() int {
	m := rs.defaultRetry.MaxAttempts
	for _, t := range rs.types {
		for _, v := range t.versions {
			m = max(m, v.retry.MaxAttempts)
		}
	}
	return m
}
