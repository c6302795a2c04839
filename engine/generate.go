package engine

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"regexp/syntax"
	"strings"
	"time"
)

// Generation: events built from the declarations, for `eventproc generate`, `eventproc
// send` and load tests. Values that a declaration alone cannot give are sampled from
// the field's pattern or taken from the valid cases of the test suites; every
// generated event is checked by Evaluate.
//
// Identity. The fields that a persistence key, a persistence attribute or the
// envelope's id reads (worked out from the compiled expressions: see reads.go) are never
// taken from the examples: each gets a value of its own per event, in its declared
// form (uuid, pattern, bounds, ...). A field whose values are finite (an enum, a bool, a
// currency, a short pattern or max_length) goes round them: its first values are
// distinct, then they repeat. On top of that a Generator never emits two events with the
// same persistence key (the valid ones' Persist, the invalid ones' Rejection): an event
// whose key was already generated is generated again, and when a kind has no new key
// left (say its key reads only an enum of three values, and three were generated) Next
// fails, saying so, rather than repeat one.

// Kind is one event type and version to generate.
type Kind struct{ Type, Version string }

// GenerateOptions says what a Generator generates.
type GenerateOptions struct {
	Kinds   []Kind  // in turn, in blocks of random order, so each gets its share
	Invalid float64 // the fraction made invalid, spread evenly over the run (0 to 1)
	Seed    uint64  // the same seed generates the same events, ids included
}

// Generated is one generated event.
type Generated struct {
	Body  string
	Kind  Kind
	Valid bool
}

// Generator generates a stream of events. The events depend only on the options and
// their position in the stream: the first N of a run are the same whatever its
// length. Not safe for concurrent use.
type Generator struct {
	rs    *Ruleset
	opts  GenerateOptions
	r     *rand.Rand // values
	order *rand.Rand // the order of the kinds within a block
	perm  []int
	n     int // events generated
	st    *genState
}

// genState is what stays across the events of a generator: the unique values and
// the keys already generated.
type genState struct {
	salt     uint64
	seq      map[string]uint64          // "type/version:path" → values generated for it
	seen     map[string]map[string]bool // "type/version:path" → sampled values (patterns)
	keys     map[uint64]bool            // hashes of the persistence keys generated
	examples map[*version]map[string][]any
}

func newGenState(salt uint64) *genState {
	return &genState{salt: salt, seq: map[string]uint64{}, seen: map[string]map[string]bool{},
		keys: map[uint64]bool{}, examples: map[*version]map[string][]any{}}
}

// NewGenerator returns a generator of the given kinds, which must be declared.
func (rs *Ruleset) NewGenerator(o GenerateOptions) (*Generator, error) {
	if len(o.Kinds) == 0 {
		return nil, errors.New("no event type to generate")
	}
	for _, k := range o.Kinds {
		if _, err := rs.genVersion(k.Type, k.Version); err != nil {
			return nil, err
		}
	}
	if o.Invalid < 0 || o.Invalid > 1 {
		return nil, fmt.Errorf("invalid fraction %v is not within [0, 1]", o.Invalid)
	}
	return &Generator{
		rs: rs, opts: o,
		r:     rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		order: rand.New(rand.NewPCG(o.Seed^0x5851f42d4c957f2d, o.Seed)),
		st:    newGenState(mix64(o.Seed ^ 0xd1b54a32d192ed03)),
	}, nil
}

// Next generates the next event.
func (g *Generator) Next() (Generated, error) {
	kinds := g.opts.Kinds
	i := g.n
	if i%len(kinds) == 0 {
		g.perm = g.order.Perm(len(kinds))
	}
	k := kinds[g.perm[i%len(kinds)]]
	valid := !isInvalid(i, g.opts.Invalid)
	g.n++
	ver, _ := g.rs.genVersion(k.Type, k.Version)
	body, err := g.rs.generate(ver, g.r, g.st, valid)
	if err != nil {
		return Generated{}, fmt.Errorf("generate %s %s (event %d): %w", k.Type, k.Version, i+1, err)
	}
	return Generated{Body: body, Kind: k, Valid: valid}, nil
}

// isInvalid reports whether event i of a stream is made invalid: round(n × fraction) of
// the first n are, spread evenly.
func isInvalid(i int, fraction float64) bool {
	return int(float64(i+1)*fraction+0.5) > int(float64(i)*fraction+0.5)
}

func (rs *Ruleset) genVersion(eventType, version string) (*version, error) {
	t := rs.types[eventType]
	if t == nil {
		return nil, fmt.Errorf("unknown event type %q", eventType)
	}
	ver := t.versions[version]
	if ver == nil {
		return nil, fmt.Errorf("unknown version %q of event type %q", version, eventType)
	}
	if c := rs.env.version; c != "" && version != c {
		return nil, fmt.Errorf("the envelope %s has the constant version %q: its messages cannot be of version %q", rs.env.name, c, version)
	}
	return ver, nil
}

// Generate returns one message body of the given type and version built from the
// declarations, its identity fields (see above) drawn from r. When valid is false the
// event is made invalid (a required field dropped, a value of the wrong type, an
// unknown version, or a body that is not JSON); either way the result is checked
// against the rules. Calls are independent: a Generator keeps its events' keys apart.
func (rs *Ruleset) Generate(eventType, version string, r *rand.Rand, valid bool) (string, error) {
	ver, err := rs.genVersion(eventType, version)
	if err != nil {
		return "", err
	}
	return rs.generate(ver, r, newGenState(r.Uint64()), valid)
}

func (rs *Ruleset) generate(ver *version, r *rand.Rand, st *genState, valid bool) (string, error) {
	ex, ok := st.examples[ver]
	if !ok {
		ex = rs.examples(ver.typ.name, ver.name)
		st.examples[ver] = ex
	}
	g := &generator{rs: rs, r: r, st: st, ver: ver, examples: ex}
	dups := 0
	for try := 0; try < 40; try++ {
		g.optional = max(1-float64(try)/20, 0) // fewer optional fields on later tries
		doc := g.message(ver)
		if !valid {
			body, ok := g.corrupt(doc, ver)
			if !ok {
				continue
			}
			v := rs.Evaluate(context.Background(), body, ForStorage)
			if v.Outcome != Invalid {
				continue
			}
			if st.fresh(*v.Rejected) {
				return body, nil
			}
			dups++
			continue
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return "", err
		}
		v := rs.Evaluate(context.Background(), string(b))
		if v.Outcome != Valid {
			continue
		}
		if st.fresh(*v.Persist) {
			return string(b), nil
		}
		dups++
	}
	if dups > 0 {
		return "", fmt.Errorf("no new persistence key left: %d tries gave keys generated already (the key reads %s, which have few values)", dups, strings.Join(ver.reads, ", "))
	}
	return "", fmt.Errorf("could not generate a %s event from the declarations; add a valid case to its test suite", map[bool]string{true: "valid", false: "invalid"}[valid])
}

// fresh records a persistence key and reports whether it is new.
func (st *genState) fresh(p Persist) bool {
	h := fnv.New64a()
	h.Write([]byte(p.Table))
	for _, a := range p.Key {
		fmt.Fprintf(h, "\x00%s\x00%v", a.Name, a.Value)
	}
	k := h.Sum64()
	if st.keys[k] {
		return false
	}
	st.keys[k] = true
	return true
}

type generator struct {
	rs       *Ruleset
	r        *rand.Rand
	st       *genState
	ver      *version
	optional float64
	examples map[string][]any // field path → values seen in valid test cases
}

// examples collects field values from the valid test cases of a type and version.
func (rs *Ruleset) examples(eventType, version string) map[string][]any {
	out := map[string][]any{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(path+"."+celName(k), c)
			}
		case []any:
			for _, c := range x {
				walk(path+"[]", c)
			}
		}
		out[path] = append(out[path], v)
	}
	env := rs.env
	for _, s := range rs.suites {
		for _, c := range s.cases {
			if !c.expect.valid {
				continue
			}
			doc, err := DecodeDocument(c.input)
			if err != nil || doc[env.typeField] != eventType || env.versionOf(doc) != version {
				continue
			}
			for k, v := range doc {
				if k == env.bodyField {
					walk("body", v)
				} else {
					walk("header."+celName(k), v)
				}
			}
		}
	}
	return out
}

func (g *generator) message(ver *version) map[string]any {
	env := g.rs.env
	doc := map[string]any{}
	for k, v := range g.object(env.header, "header") {
		doc[k] = v
	}
	doc[env.typeField] = ver.typ.name
	body := g.object(ver.body, "body")
	doc[env.bodyField] = body
	env.setVersion(doc, ver.name)
	return doc
}

func (g *generator) object(o *objSchema, path string) map[string]any {
	m := map[string]any{}
	for _, f := range o.fields {
		p := path + "." + f.cel
		identity := readsUnder(g.ver.reads, p) || readsWithin(g.ver.reads, p)
		if !f.required && !identity && g.r.Float64() >= g.optional {
			continue
		}
		m[f.name] = g.value(f, p)
	}
	return m
}

func (g *generator) value(f *fieldSchema, path string) any {
	fs := f.spec
	if f.typ != typeObject && f.typ != typeList && readsUnder(g.ver.reads, path) {
		return g.unique(f, path)
	}
	if len(fs.enum) > 0 {
		return fs.enum[g.r.IntN(len(fs.enum))]
	}
	if ex := g.examples[path]; len(ex) > 0 && (fs.pattern != "" || g.r.IntN(2) == 0) && f.typ != typeObject && f.typ != typeList {
		return ex[g.r.IntN(len(ex))]
	}
	switch f.typ {
	case typeString:
		return g.string(f)
	case typeInteger:
		lo, hi := g.bounds(fs, true, 1000)
		return int64(lo) + g.r.Int64N(int64(hi-lo)+1)
	case typeNumber:
		lo, hi := g.bounds(fs, false, 1000)
		return math.Round((lo+g.r.Float64()*(hi-lo))*100) / 100
	case typeBool:
		return g.r.IntN(2) == 0
	case typeTimestamp:
		return g.when().Format(time.RFC3339)
	case typeObject:
		return g.object(f.obj, path)
	case typeList:
		return g.list(f, path)
	}
	return nil
}

// string is a valid value of a string field: of its format, matching its pattern, a
// time when its name says so, else its name with a random suffix.
func (g *generator) string(f *fieldSchema) string {
	fs := f.spec
	if nc, ok := lookupFormat(fs.format); ok {
		return g.sampleFormat(nc.format)
	}
	if fs.pattern != "" {
		return g.samplePattern(fs)
	}
	if strings.HasSuffix(f.name, "_at") || strings.HasSuffix(f.name, "time") {
		return g.when().Format(time.RFC3339)
	}
	return fitLength(fmt.Sprintf("%s-%x", strings.ReplaceAll(f.name, "_", "-"), g.r.Uint32()), fs)
}

// list is a valid value of a list field: one to three items, within its length bounds.
func (g *generator) list(f *fieldSchema, path string) []any {
	fs := f.spec
	n := 1 + g.r.IntN(3)
	if fs.minLen != nil && int64(n) < *fs.minLen {
		n = int(*fs.minLen)
	}
	if fs.maxLen != nil && int64(n) > *fs.maxLen {
		n = int(*fs.maxLen)
	}
	out := make([]any, n)
	for i := range out {
		out[i] = g.value(f.elem, path+"[]")
	}
	return out
}

// when is a time drawn from r, so that a seed always generates the same events.
func (g *generator) when() time.Time {
	return genEpoch.Add(time.Duration(g.r.Int64N(int64(365*24*time.Hour/time.Second))) * time.Second)
}

var genEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// bounds is the declared range of a number (from 1 when it has no lower bound), at
// most span wide.
func (g *generator) bounds(fs *fieldSpec, integer bool, span float64) (lo, hi float64) {
	lo, hi = 1, math.Inf(1)
	if fs.min != nil {
		lo = *fs.min
	}
	if fs.gt != nil {
		lo = *fs.gt + 0.01
		if integer {
			lo = math.Floor(*fs.gt) + 1
		}
	}
	if fs.max != nil {
		hi = *fs.max
	}
	if fs.lt != nil {
		hi = *fs.lt - 0.01
		if integer {
			hi = math.Ceil(*fs.lt) - 1
		}
	}
	if hi < lo && fs.min == nil && fs.gt == nil {
		lo = hi - span
	}
	if hi < lo {
		hi = lo
	}
	if hi > lo+span {
		hi = lo + span
	}
	if integer {
		lo, hi = math.Ceil(lo), math.Floor(hi)
	}
	return lo, hi
}

// corrupt turns a valid message into an invalid one, in one of several ways.
func (g *generator) corrupt(doc map[string]any, ver *version) (string, bool) {
	env := g.rs.env
	body, _ := doc[env.bodyField].(map[string]any)
	switch g.r.IntN(5) {
	case 0: // a required body field missing
		for _, f := range ver.body.fields {
			if f.required {
				delete(body, f.name)
				break
			}
		}
	case 1: // a value of the wrong type
		for _, f := range ver.body.fields {
			if f.typ != typeString {
				body[f.name] = "not-a-" + f.typ
				break
			}
			body[f.name] = 12345
		}
	case 2: // an unknown version (a constant one cannot be: an unknown type then)
		if !env.setVersion(doc, "v999") {
			doc[env.typeField] = "unknown.type"
		}
	case 3: // a header field missing
		for _, f := range env.header.fields {
			if f.required && f.name != env.typeField && f.name != env.versionField && f.name != env.idField {
				delete(doc, f.name)
				break
			}
		}
	default: // not JSON at all
		b, _ := json.Marshal(doc)
		return string(b[:len(b)/2]), true
	}
	b, err := json.Marshal(doc)
	return string(b), err == nil
}

func (g *generator) sampleFormat(format string) string {
	r := g.r
	switch format {
	case "email":
		return fmt.Sprintf("user%d@mail.test", r.IntN(1_000_000))
	case "uuid":
		return uuidOf(r.Uint64(), r)
	case "uri":
		return fmt.Sprintf("https://example.org/items/%d", r.IntN(1_000_000))
	case "rfc3339":
		return g.when().Format(time.RFC3339)
	case "currency":
		return []string{"EUR", "USD", "BRL", "JPY", "GBP"}[r.IntN(5)]
	case "country":
		return []string{"BR", "US", "DE", "JP", "PT"}[r.IntN(5)]
	case "hostname":
		return fmt.Sprintf("host-%d.example.org", r.IntN(1000))
	case "ip":
		return fmt.Sprintf("192.0.2.%d", r.IntN(255))
	case "semver":
		return fmt.Sprintf("%d.%d.%d", r.IntN(5), r.IntN(20), r.IntN(50))
	}
	return "x"
}

// unique returns a value of field f for this event that differs from the ones before
// it at the same path, as long as the declaration allows: a field with finitely many
// values goes round them.
func (g *generator) unique(f *fieldSchema, path string) any {
	fs := f.spec
	at := g.ver.typ.name + "/" + g.ver.name + ":" + path
	n := g.st.seq[at]
	g.st.seq[at] = n + 1
	// x: distinct for distinct n (mix64 is a bijection), apart between seeds, kinds
	// and paths.
	h := fnv.New64a()
	h.Write([]byte(at))
	x := mix64(n + (g.st.salt ^ h.Sum64()))
	if len(fs.enum) > 0 {
		return fs.enum[n%uint64(len(fs.enum))]
	}
	switch f.typ {
	case typeBool:
		return n%2 == 0
	case typeInteger:
		lo, hi := g.bounds(fs, true, 1<<40)
		return int64(lo) + int64((n+g.st.salt%1_000_003)%uint64(hi-lo+1))
	case typeNumber:
		lo, hi := g.bounds(fs, false, 1<<40)
		steps := uint64(max((hi-lo)*100, 0)) + 1 // cents
		return math.Round((lo+float64((n+g.st.salt%1_000_003)%steps)/100)*100) / 100
	case typeTimestamp:
		return g.uniqueTime(n).Format(time.RFC3339)
	case typeString:
		return g.uniqueString(f, path, at, n, x)
	}
	return nil
}

// uniqueString is unique for a string field: its format's or pattern's form with x
// (or n) in it.
func (g *generator) uniqueString(f *fieldSchema, path, at string, n, x uint64) string {
	fs := f.spec
	switch fs.format {
	case "uuid":
		return uuidOf(x, g.r)
	case "email":
		return fmt.Sprintf("user-%016x@mail.test", x)
	case "uri":
		return fmt.Sprintf("https://example.org/items/%016x", x)
	case "hostname":
		return fmt.Sprintf("host-%016x.example.org", x)
	case "ip":
		return fmt.Sprintf("2001:db8:%x:%x:%x:%x::", x>>48, x>>32&0xffff, x>>16&0xffff, x&0xffff)
	case "semver":
		return fmt.Sprintf("1.0.%d", x)
	case "rfc3339":
		return g.uniqueTime(n).Format(time.RFC3339)
	case "currency":
		return []string{"EUR", "USD", "BRL", "JPY", "GBP"}[n%5]
	case "country":
		return []string{"BR", "US", "DE", "JP", "PT"}[n%5]
	}
	if fs.pattern != "" {
		return g.uniquePattern(fs, at)
	}
	if path == "header."+celName(g.rs.env.idField) && (fs.maxLen == nil || *fs.maxLen >= 36) {
		return uuidOf(x, g.r)
	}
	s := fmt.Sprintf("%s-%016x", strings.ReplaceAll(f.name, "_", "-"), x)
	if fs.maxLen != nil && int64(len(s)) > *fs.maxLen {
		s = fmt.Sprintf("%016x", x) // the distinct part first
	}
	return fitLength(s, fs)
}

// uniqueTime is the n-th second after a time that depends on the seed.
func (g *generator) uniqueTime(n uint64) time.Time {
	return genEpoch.Add(time.Duration(g.st.salt%(365*24*3600)+n) * time.Second)
}

// uniquePattern samples the field's pattern until it gives a value not given before
// at (a kind's field); after many tries (a pattern with few strings) it gives a repeat.
func (g *generator) uniquePattern(fs *fieldSpec, at string) string {
	seen := g.st.seen[at]
	if seen == nil {
		seen = map[string]bool{}
		g.st.seen[at] = seen
	}
	var s string
	for range 64 {
		if s = g.samplePattern(fs); !seen[s] {
			break
		}
	}
	seen[s] = true
	return s
}

// samplePattern draws a string that the field's pattern matches (and that fits its
// lengths); Evaluate has the last word.
func (g *generator) samplePattern(fs *fieldSpec) string {
	re, err := syntax.Parse(fs.pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	var b strings.Builder
	sampleRegexp(re.Simplify(), g.r, &b)
	return b.String()
}

// sampleRegexp writes a random string that re matches, preferring printable ASCII.
// Repetitions without a bound repeat at most three times more than their minimum.
func sampleRegexp(re *syntax.Regexp, r *rand.Rand, b *strings.Builder) {
	repeat := func(lo, hi int) {
		if hi < 0 {
			hi = lo + 3
		}
		for range lo + r.IntN(hi-lo+1) {
			sampleRegexp(re.Sub[0], r, b)
		}
	}
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		b.WriteRune(sampleClass(re.Rune, r))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789"[r.IntN(36)])
	case syntax.OpCapture:
		sampleRegexp(re.Sub[0], r, b)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			sampleRegexp(s, r, b)
		}
	case syntax.OpAlternate:
		sampleRegexp(re.Sub[r.IntN(len(re.Sub))], r, b)
	case syntax.OpStar:
		repeat(0, -1)
	case syntax.OpPlus:
		repeat(1, -1)
	case syntax.OpQuest:
		repeat(0, 1)
	case syntax.OpRepeat:
		repeat(re.Min, re.Max)
	}
}

// sampleClass draws a rune from a character class (pairs of inclusive ranges), from
// its printable ASCII part when it has one.
func sampleClass(ranges []rune, r *rand.Rand) rune {
	var ascii []rune
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := max(ranges[i], 0x21), min(ranges[i+1], 0x7e)
		if lo <= hi {
			ascii = append(ascii, lo, hi)
		}
	}
	if len(ascii) > 0 {
		ranges = ascii
	}
	total := 0
	for i := 0; i+1 < len(ranges); i += 2 {
		total += int(ranges[i+1]-ranges[i]) + 1
	}
	if total == 0 {
		return 'x'
	}
	k := r.IntN(total)
	for i := 0; i+1 < len(ranges); i += 2 {
		n := int(ranges[i+1]-ranges[i]) + 1
		if k < n {
			return ranges[i] + rune(k)
		}
		k -= n
	}
	return 'x'
}

// fitLength cuts or pads s to the field's length bounds.
func fitLength(s string, fs *fieldSpec) string {
	if fs.maxLen != nil && int64(len(s)) > *fs.maxLen {
		s = s[:*fs.maxLen]
	}
	for fs.minLen != nil && int64(len(s)) < *fs.minLen {
		s += "x"
	}
	return s
}

// mix64 is SplitMix64's finaliser: a bijection of uint64 that scatters its input.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// uuidOf is a version 4 UUID carrying all 64 bits of x (so distinct x give distinct
// UUIDs), the rest random.
func uuidOf(x uint64, r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	binary.BigEndian.PutUint32(b[0:4], uint32(x>>32))
	binary.BigEndian.PutUint16(b[4:6], uint16(x>>16))
	b[7], b[9] = byte(x>>8), byte(x)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
