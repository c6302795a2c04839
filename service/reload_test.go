package service

import (
	"bytes"
	"context"
	"encoding/json"
	"eventproc/internal/fixture"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"eventproc/engine"
	"eventproc/metrics"
	"eventproc/worker"
)

// TestReload: the reloader's decisions without a worker process — a good edit is
// switched to, and rules with a compile error or a failing test suite are refused with
// every diagnostic logged, the rules in use kept.
func TestReload(t *testing.T) {
	dir := fixture.CopyEventsD(t)
	rs := loadRulesOrFail(t, dir)
	var logs bytes.Buffer
	m := metrics.New()
	r := &reloader{dir: dir, eng: worker.NewSwapEngine(rs), metrics: m,
		log: slog.New(slog.NewJSONHandler(&logs, nil))}
	r.cur.Store(rs)
	blocked := fixture.BlockedOrders(t, rs, 1, 1)[0]
	verdict := func() engine.Outcome { return r.eng.Evaluate(context.Background(), blocked).Outcome }
	if verdict() != engine.Valid {
		t.Fatal("a blocked order is not valid under the shipped rules")
	}
	lines := func(msg string) []map[string]any {
		var out []map[string]any
		for _, l := range strings.Split(logs.String(), "\n") {
			var x map[string]any
			if json.Unmarshal([]byte(l), &x) == nil && x["msg"] == msg {
				out = append(out, x)
			}
		}
		return out
	}
	order := filepath.Join(dir, "order.placed.yaml")

	// A good edit.
	fixture.EditFile(t, order, "      status:      {type: string, required: true, min_length: 1}\n  v2:", fixture.BlockRule+"  v2:")
	if !r.reload(context.Background()) || verdict() != engine.Invalid || r.cur.Load() == rs {
		t.Fatalf("good edit: not switched\n%s", logs.String())
	}
	good := r.cur.Load()

	for _, tt := range []struct {
		name, file, old, new string
		want                 []string
	}{
		{"compile error", "order.placed.yaml", `'!body.order_id.startsWith("blocked-")'`, `'!body.order_idd.startsWith("blocked-")'`,
			[]string{order + ":", "order_idd"}},
		{"failing suite", "order.placed_test.yaml", "  - name: v1 valid\n    expect: valid", "  - name: v1 valid\n    expect: {error: decode}",
			[]string{filepath.Join(dir, "order.placed_test.yaml") + ":", `test "v1 valid"`, "[test-failed]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			saved, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(path, saved, 0o644)
			logs.Reset()
			fixture.EditFile(t, path, tt.old, tt.new)
			if r.reload(context.Background()) {
				t.Fatalf("reloaded\n%s", logs.String())
			}
			if r.cur.Load() != good || verdict() != engine.Invalid {
				t.Errorf("the rules in use changed")
			}
			var ds []string
			for _, l := range lines("rules reload: diagnostic") {
				ds = append(ds, l["diagnostic"].(string))
			}
			for _, w := range tt.want {
				if !strings.Contains(strings.Join(ds, "\n"), w) {
					t.Errorf("diagnostics lack %q:\n%s", w, strings.Join(ds, "\n"))
				}
			}
			if len(lines("rules reload failed: keeping the rules in use")) != 1 {
				t.Errorf("no failure line:\n%s", logs.String())
			}
		})
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, w := range []string{`eventproc_rules_reloads_total{result="ok"} 1`, `eventproc_rules_reloads_total{result="failed"} 2`} {
		if !strings.Contains(rec.Body.String(), w) {
			t.Errorf("metrics lack %q", w)
		}
	}
}

// TestReloadBodyField: rules whose envelope names another body field are reloaded like
// any other edit, and the verdicts of the messages after it carry the body from the new
// field (the item the worker stores).
func TestReloadBodyField(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"envelope.yaml": "envelope:\n  type_field: event_type\n  version_field: schema_version\n  id_field: event_id\n  body_field: body\n" +
			"  fields:\n    event_id: {type: string, required: true}\n    event_type: {type: string, required: true}\n" +
			"    schema_version: {type: string, required: true}\n",
		"defaults.yaml": "defaults:\n  persist:\n    table: events\n    key:\n      pk: header.event_id\n",
		"o.yaml":        "type: o\nversions:\n  v1:\n    fields:\n      order_id: {type: string, required: true}\n",
		"o_test.yaml": "cases:\n  - name: valid\n" +
			"    raw: '{\"event_id\":\"e\",\"event_type\":\"o\",\"schema_version\":\"v1\",\"body\":{\"order_id\":\"o\"}}'\n    expect: valid\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rs := loadRulesOrFail(t, dir)
	var logs bytes.Buffer
	r := &reloader{dir: dir, eng: worker.NewSwapEngine(rs), metrics: metrics.New(),
		log: slog.New(slog.NewJSONHandler(&logs, nil))}
	r.cur.Store(rs)
	const msg = `{"event_id":"e1","event_type":"o","schema_version":"v1","data":{"order_id":"o-1"}}`
	if v := r.eng.Evaluate(context.Background(), msg); v.Outcome != engine.Invalid {
		t.Fatalf("before the reload: %s, want invalid (no body)", v.Outcome)
	}
	fixture.EditFile(t, filepath.Join(dir, "envelope.yaml"), "body_field: body", "body_field: data")
	fixture.EditFile(t, filepath.Join(dir, "o_test.yaml"), `"body":`, `"data":`)
	if !r.reload(context.Background()) || r.cur.Load() == rs {
		t.Fatalf("a changed body field is not reloaded\n%s", logs.String())
	}
	v := r.eng.Evaluate(context.Background(), msg, engine.ForStorage)
	if v.Outcome != engine.Valid || v.Body["order_id"] != "o-1" {
		t.Fatalf("after the reload: %s (%s), body %v", v.Outcome, v.Reason(), v.Body)
	}
	for _, f := range v.Fields {
		if f.Name == "data" {
			t.Errorf("the new body field is among the other fields: %v", v.Fields)
		}
	}
}

func loadRulesOrFail(t *testing.T, dir string) *engine.Ruleset {
	t.Helper()
	rs, diags, err := engine.LoadDir(dir)
	if err != nil || rs == nil {
		t.Fatalf("%s: %v %v", dir, err, diags)
	}
	return rs
}

// TestReloadCountsEachProblemOnce: a mistake in a version that another extends is
// one diagnostic in the reload log, and one error in its count.
func TestReloadCountsEachProblemOnce(t *testing.T) {
	dir := fixture.CopyEventsD(t)
	rs := loadRulesOrFail(t, dir)
	var logs bytes.Buffer
	r := &reloader{dir: dir, eng: worker.NewSwapEngine(rs), metrics: metrics.New(),
		log: slog.New(slog.NewJSONHandler(&logs, nil))}
	r.cur.Store(rs)
	fixture.EditFile(t, filepath.Join(dir, "order.placed.yaml"), fixture.InheritedOld, fixture.InheritedNew)
	if r.reload(context.Background()) {
		t.Fatalf("reloaded\n%s", logs.String())
	}
	var diags []string
	var failed []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var x map[string]any
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		switch x["msg"] {
		case "rules reload: diagnostic":
			diags = append(diags, x["diagnostic"].(string))
		case "rules reload failed: keeping the rules in use":
			failed = append(failed, x)
		}
	}
	if len(diags) != 1 || diags[0] != dir+fixture.InheritedMsg {
		t.Errorf("diagnostics %q, want just %q", diags, dir+fixture.InheritedMsg)
	}
	if len(failed) != 1 || failed[0]["errors"] != float64(1) || failed[0]["warnings"] != float64(0) {
		t.Errorf("failure lines %v, want one with errors 1, warnings 0", failed)
	}
}

// TestReloadCountsWarnings: a SIGHUP reload, like run, counts the rules' warnings in
// its record rather than logging each.
func TestReloadCountsWarnings(t *testing.T) {
	dir := fixture.CopyEventsD(t)
	rs := loadRulesOrFail(t, dir)
	var logs bytes.Buffer
	r := &reloader{dir: dir, eng: worker.NewSwapEngine(rs), metrics: metrics.New(),
		log: slog.New(slog.NewJSONHandler(&logs, nil))}
	r.cur.Store(rs)
	if err := os.WriteFile(filepath.Join(dir, "extra.yaml"), []byte("type: extra.thing\nversions:\n  v1:\n    fields:\n      x: {type: string}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !r.reload(context.Background()) {
		t.Fatalf("not reloaded:\n%s", logs.String())
	}
	var reloaded []map[string]any
	for _, rec := range fixture.JSONLines(t, logs.String()) {
		if rec["msg"] == "rules reload: diagnostic" {
			t.Errorf("a warning logged on its own: %v", rec)
		}
		if rec["msg"] == "rules reloaded: new messages use them" {
			reloaded = append(reloaded, rec)
		}
	}
	if len(reloaded) != 1 || reloaded[0]["warnings"] != 1.0 {
		t.Errorf("reload records %v", reloaded)
	}
}
