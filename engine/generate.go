package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Generation: events built from the declarations, for `eventproc send` and load tests.
// Values that a declaration alone cannot produce (a pattern) are taken from the valid
// cases of the test suites; every generated event is checked by Evaluate.

// Generate returns a message body of the given type and version built from the
// declarations, with a fresh random event id. When valid is false the event is made
// invalid (a required field dropped, a value of the wrong type, an unknown version, or
// a body that is not JSON); either way the result is checked against the rules.
func (rs *Ruleset) Generate(eventType, version string, r *rand.Rand, valid bool) (string, error) {
	t := rs.types[eventType]
	if t == nil {
		return "", fmt.Errorf("unknown event type %q", eventType)
	}
	ver := t.versions[version]
	if ver == nil {
		return "", fmt.Errorf("unknown version %q of event type %q", version, eventType)
	}
	g := &generator{rs: rs, r: r, examples: rs.examples(eventType, version)}
	for try := 0; try < 40; try++ {
		g.optional = 1 - float64(try)/20 // fewer optional fields on later tries
		if g.optional < 0 {
			g.optional = 0
		}
		doc := g.message(ver)
		if !valid {
			body, ok := g.corrupt(doc, ver)
			if ok && rs.Evaluate(context.Background(), body).Outcome == Invalid {
				return body, nil
			}
			continue
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return "", err
		}
		if rs.Evaluate(context.Background(), string(b)).Outcome == Valid {
			return string(b), nil
		}
	}
	return "", fmt.Errorf("could not generate a %s event of %s %s from its declarations; add a valid case to its test suite", map[bool]string{true: "valid", false: "invalid"}[valid], eventType, version)
}

type generator struct {
	rs       *Ruleset
	r        *rand.Rand
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
				walk(path+"."+k, c)
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
			if err != nil || doc[env.typeField] != eventType || doc[env.versionField] != version {
				continue
			}
			for k, v := range doc {
				if k == env.bodyField {
					walk("body", v)
				} else {
					walk("header."+k, v)
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
	doc[env.versionField] = ver.name
	doc[env.idField] = uuid4(g.r)
	doc[env.bodyField] = g.object(ver.body, "body")
	return doc
}

func (g *generator) object(o *objSchema, path string) map[string]any {
	m := map[string]any{}
	for _, f := range o.fields {
		if !f.required && g.r.Float64() >= g.optional {
			continue
		}
		m[f.name] = g.value(f, path+"."+f.name)
	}
	return m
}

func (g *generator) value(f *fieldSchema, path string) any {
	fs := f.spec
	if len(fs.enum) > 0 {
		return fs.enum[g.r.IntN(len(fs.enum))]
	}
	if ex := g.examples[path]; len(ex) > 0 && (fs.pattern != "" || g.r.IntN(2) == 0) && f.typ != typeObject && f.typ != typeList {
		return ex[g.r.IntN(len(ex))]
	}
	switch f.typ {
	case typeString:
		if nc, ok := lookupFormat(fs.format); ok {
			return g.sampleFormat(nc.format)
		}
		if strings.HasSuffix(f.name, "_at") || strings.HasSuffix(f.name, "time") {
			return g.when().Format(time.RFC3339)
		}
		s := fmt.Sprintf("%s-%x", strings.ReplaceAll(f.name, "_", "-"), g.r.Uint32())
		if fs.maxLen != nil && int64(len(s)) > *fs.maxLen {
			s = s[:*fs.maxLen]
		}
		for fs.minLen != nil && int64(len(s)) < *fs.minLen {
			s += "x"
		}
		return s
	case typeInteger:
		lo, hi := g.bounds(fs, true)
		return int64(lo) + g.r.Int64N(int64(hi-lo)+1)
	case typeNumber:
		lo, hi := g.bounds(fs, false)
		return math.Round((lo+g.r.Float64()*(hi-lo))*100) / 100
	case typeBool:
		return g.r.IntN(2) == 0
	case typeTimestamp:
		return g.when().Format(time.RFC3339)
	case typeObject:
		return g.object(f.obj, path)
	case typeList:
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
	return nil
}

// when is a time drawn from r, so that a seed always generates the same events.
func (g *generator) when() time.Time {
	return genEpoch.Add(time.Duration(g.r.Int64N(int64(365*24*time.Hour/time.Second))) * time.Second)
}

var genEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (g *generator) bounds(fs *fieldSpec, integer bool) (lo, hi float64) {
	lo, hi = 1, 1000
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
	if hi < lo {
		hi = lo
	}
	if hi > lo+1000 {
		hi = lo + 1000
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
	case 2: // an unknown version
		doc[env.versionField] = "v999"
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

func uuid4(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (g *generator) sampleFormat(format string) string {
	r := g.r
	switch format {
	case "email":
		return fmt.Sprintf("user%d@mail.test", r.IntN(1_000_000))
	case "uuid":
		return uuid4(r)
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
