package engine

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

func compiledFormatSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(FormatSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("events.d.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("events.d.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// yamlJSON reads a YAML file as the JSON value an editor validates.
func yamlJSON(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestShippedFilesMatchFormatSchema validates every shipped events.d file against the
// printed schema, and checks that each names it in its modeline.
func TestShippedFilesMatchFormatSchema(t *testing.T) {
	s := compiledFormatSchema(t)
	paths, _ := filepath.Glob("../events.d/*.yaml")
	if len(paths) < 8 {
		t.Fatalf("only %d shipped files", len(paths))
	}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(yamlJSON(t, src)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if !strings.HasPrefix(string(src), "# yaml-language-server: $schema=../engine/eventsd.schema.json\n") {
			t.Errorf("%s lacks the yaml-language-server modeline on its first line", p)
		}
	}
	for _, bad := range []string{
		"type: t\nversions: {v1: {fields: {a: {type: strng}}}}\n",
		"type: t\nversions: {v1: {fields: {a: {type: string, requird: true}}}}\n",
		"envelope: {type_field: a}\n",
		"envelope: {type_field: a, version_field: b, version: c, id_field: d, body_field: e, fields: {}}\n",
		"envelope: {type_field: a, id_field: d, body_field: e, fields: {}}\n",
		"envelope: {type_field: a, version_field: e..v, id_field: d, body_field: e, fields: {}}\n",
		"type: t\nversions: {v1: {fields: {1st: {type: string}}}}\n",
		"cases: [{name: x}]\n",
		"defaults: {retry: {max_attempts: 0}}\n",
	} {
		if err := s.Validate(yamlJSON(t, []byte(bad))); err == nil {
			t.Errorf("the schema accepts %q", bad)
		}
	}
}

// TestFormatSchemaKnowsEveryKey keeps the schema in step with the parser's key lists.
func TestFormatSchemaKnowsEveryKey(t *testing.T) {
	var doc struct {
		Definitions map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Items      struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"items"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(FormatSchema, &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]json.RawMessage) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	sorted := func(s []string) []string {
		out := append([]string(nil), s...)
		sort.Strings(out)
		return out
	}
	for name, c := range map[string]struct{ schema, parser []string }{
		"field": {keys(doc.Definitions["field"].Properties), fieldKeys},
		"rule":  {keys(doc.Definitions["rules"].Items.Properties), ruleKeys},
		"retry": {keys(doc.Definitions["retry"].Properties), retryKeys},
	} {
		if strings.Join(c.schema, ",") != strings.Join(sorted(c.parser), ",") {
			t.Errorf("%s keys: schema %v, parser %v", name, c.schema, sorted(c.parser))
		}
	}
}
