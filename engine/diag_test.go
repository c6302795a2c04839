package engine

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/diag/*.txtar")

// baseFiles complete an archive that does not bring its own envelope or defaults.
var baseFiles = map[string]string{
	"envelope.yaml": `envelope:
  type_field: event_type
  version_field: schema_version
  id_field: event_id
  body_field: body
  fields:
    event_id: {type: string, required: true, min_length: 1}
    event_type: {type: string, required: true}
    schema_version: {type: string, required: true}
    tenant_id: {type: string, required: true}
`,
	"defaults.yaml": `defaults:
  persist:
    table: events
    key:
      pk: header.tenant_id + "#" + header.event_id
`,
}

// TestDiagnostics loads each testdata/diag/*.txtar archive as an events.d (plus the
// base envelope and defaults unless the archive has its own, or names them in a
// "-- omit --" section) and compares every diagnostic, test failures included, with
// the archive's "want" section. Run with -update to rewrite the want sections.
func TestDiagnostics(t *testing.T) {
	paths, _ := filepath.Glob("testdata/diag/*.txtar")
	if len(paths) == 0 {
		t.Fatal("no archives")
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(p)
			if err != nil {
				t.Fatal(err)
			}
			fsys := fstest.MapFS{}
			omit := map[string]bool{}
			want, wantIdx := "", -1
			for i, f := range ar.Files {
				switch f.Name {
				case "want":
					want, wantIdx = string(f.Data), i
				case "omit":
					for _, n := range strings.Fields(string(f.Data)) {
						omit[n] = true
					}
				default:
					fsys[f.Name] = &fstest.MapFile{Data: f.Data}
				}
			}
			for name, data := range baseFiles {
				if _, ok := fsys[name]; !ok && !omit[name] {
					fsys[name] = &fstest.MapFile{Data: []byte(data)}
				}
			}
			rs, diags := Load(fsys)
			if rs != nil {
				failing, _ := rs.TestDiagnostics(context.Background())
				diags = append(diags, failing...)
				diags.Sort()
			}
			var b strings.Builder
			for _, d := range diags {
				b.WriteString(d.String())
				b.WriteByte('\n')
			}
			got := b.String()
			if *update {
				if wantIdx < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					wantIdx = len(ar.Files) - 1
				}
				ar.Files[wantIdx].Data = []byte(got)
				if err := os.WriteFile(p, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("diagnostics differ\n--- got\n%s--- want\n%s", got, want)
			}
			if got == "" {
				t.Errorf("an archive must produce at least one diagnostic")
			}
		})
	}
}

// TestDiagnosticCodes checks that every code the loader can emit has an archive.
func TestDiagnosticCodes(t *testing.T) {
	src := ""
	for _, f := range []string{"yaml.go", "parse.go", "load.go", "schema.go", "compile.go", "suite.go", "item.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src += string(b)
	}
	archives := ""
	paths, _ := filepath.Glob("testdata/diag/*.txtar")
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		archives += string(b)
	}
	for _, code := range codesIn(src) {
		switch code {
		case "internal", "file-read", "no-files":
			continue // not reachable from file contents
		}
		if !strings.Contains(archives, "["+code+"]") {
			t.Errorf("diagnostic code %q has no txtar case in testdata/diag", code)
		}
	}
}

// codesIn finds the diagnostic codes passed to errorf, warnf and add.
func codesIn(src string) []string {
	seen := map[string]bool{}
	var out []string
	for _, re := range codeREs {
		for _, m := range re.FindAllStringSubmatch(src, -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	}
	return out
}

var codeREs = []*regexp.Regexp{
	regexp.MustCompile(`(?:errorf|warnf)\(.*?"([a-z][a-z0-9-]*)", "`),
	regexp.MustCompile(`(?:Error|Warning), "([a-z][a-z0-9-]*)"`),
}

// TestLoadEvery: loaded against each envelope, events.d gives one list in which a
// problem every envelope sees appears once, as it is, and one that only another
// envelope sees says which.
func TestLoadEvery(t *testing.T) {
	fsys := fstest.MapFS{
		"envelope.yaml": {Data: []byte(baseFiles["envelope.yaml"] + "  default: true\n")},
		"envelope.b.yaml": {Data: []byte(`envelope:
  name: b
  type_field: type
  version_field: version
  id_field: id
  body_field: data
  fields:
    id: {type: string, required: true}
    type: {type: string, required: true}
    version: {type: string, required: true}
`)},
		"defaults.yaml": {Data: []byte(baseFiles["defaults.yaml"])},
		"t.yaml": {Data: []byte(`type: t
versions:
  v1:
    fields:
      n: {type: number, pattern: "x"}
  v2:
    extends: v1
`)},
	}
	sets, diags := LoadEvery(fsys)
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	want := []string{
		`defaults.yaml:5:17: with envelope b: persist.key.pk (for t/v1, v2): undefined field 'tenant_id' [unknown-field]`,
		`defaults.yaml:5:42: with envelope b: persist.key.pk (for t/v1, v2): undefined field 'event_id' [unknown-field]`,
		`t.yaml:5:34: body.n: pattern applies to string fields, not to number [constraint-type]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(sets) != 2 || sets[0].Envelope != "default" || sets[1].Envelope != "b" || sets[0].Rules != nil || sets[1].Rules != nil {
		t.Errorf("sets %+v", sets)
	}
	if e, w := diags.Count(); e != 3 || w != 0 {
		t.Errorf("Count: %d errors, %d warnings; want 3, 0", e, w)
	}
}

// TestLoadEveryOnce: a problem that every envelope sees is listed once, even when the
// hint that follows it depends on the envelope's names.
func TestLoadEveryOnce(t *testing.T) {
	fsys := fstest.MapFS{
		"envelope.yaml": {Data: []byte(baseFiles["envelope.yaml"] + "  default: true\n")},
		"envelope.b.yaml": {Data: []byte(`envelope:
  name: b
  type_field: type
  version_field: version
  id_field: id
  body_field: data
  fields:
    id: {type: string, required: true}
    type: {type: string, required: true}
    version: {type: string, required: true}
    tenantid: {type: string, required: true}
`)},
		"defaults.yaml": {Data: []byte("defaults:\n  persist:\n    table: events\n    key:\n      pk: body.n\n")},
		"t.yaml": {Data: []byte(`type: t
versions:
  v1:
    fields:
      n: {type: string, required: true}
    rules:
      - id: r
        expr: 'tenant > "" && n > ""'
`)},
	}
	_, diags := LoadEvery(fsys)
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "t.yaml:8:16: rule r: undeclared reference to 'tenant'") || !strings.HasPrefix(got[1], "t.yaml:8:31: rule r: undeclared reference to 'n'") {
		t.Errorf("want one error for each undeclared reference, as the selected envelope reports it; got\n%s", strings.Join(got, "\n"))
	}
}
