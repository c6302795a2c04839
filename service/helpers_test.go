package service

import (
	"bytes"
	"encoding/json"
	"eventproc/engine"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyEventsD copies events.d, unchanged, into a directory of t's.
func copyEventsD(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir("events.d")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("events.d", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// jsonLines decodes every line of a run's output, failing on any that is not JSON.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("run wrote a line that is not JSON: %q", line)
			continue
		}
		recs = append(recs, m)
	}
	return recs
}

// editFile replaces old (which must occur once) by new in a file.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte(old)); n != 1 {
		t.Fatalf("%s: %q occurs %d times", path, old, n)
	}
	if err := os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// blockedOrders returns n valid order.placed v1 events whose order_id starts "blocked-".
func blockedOrders(t *testing.T, rs *engine.Ruleset, n int, seed uint64) []string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed+1))
	out := make([]string, 0, n)
	for i := range n {
		body, err := rs.Generate("order.placed", "v1", r, true)
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(strings.NewReader(body))
		d.UseNumber()
		var doc map[string]any
		if err := d.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		doc["body"].(map[string]any)["order_id"] = fmt.Sprintf("blocked-%d-%d", seed, i)
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

const blockRule = `      status:      {type: string, required: true, min_length: 1}
    rules:
      - id: no-blocked-orders
        field: body.order_id
        expr: '!body.order_id.startsWith("blocked-")'
        message: blocked orders are refused
`

// inheritedNew adds a constraint that does not apply to order.placed v1, which v2
// extends: one problem, so one diagnostic (inheritedMsg) and one error, whichever
// command reports it.
const (
	inheritedOld = "total:       {type: number, required: true, gt: 0}"
	inheritedNew = `total:       {type: number, required: true, gt: 0, pattern: "x"}`
	inheritedMsg = `/order.placed.yaml:19:67: body.total: pattern applies to string fields, not to number [constraint-type]`
)
