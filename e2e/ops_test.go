package e2e

import (
	"bufio"
	"context"
	"eventproc/engine"
	"eventproc/internal/fixture"
	"eventproc/metrics"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// The operator's side of `eventproc run`, end to end with the real binary on the
// emulators: /healthz, /readyz and /metrics after real traffic, SIGHUP reloads good and
// broken, readiness when a table disappears and while draining.

// httpGet returns the status code and body of GET http://addr/path.
func httpGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// healthAddr waits for the worker's "health endpoints" line and returns its address.
func healthAddr(t *testing.T, p *proc) string {
	t.Helper()
	var addr string
	waitUntil(t, "the health address", 30*time.Second, p, func() bool {
		if l := p.lines("health endpoints"); len(l) > 0 {
			addr, _ = l[0]["addr"].(string)
		}
		return addr != ""
	})
	return addr
}

// scrape reads /metrics into series → value ("name{a=\"x\",b=\"y\"}" as exposed).
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	code, body := httpGet(t, addr, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// sumSeries adds up the series of a metric whose labels include every given pair.
func sumSeries(m map[string]float64, name string, pairs ...string) float64 {
	total := 0.0
	for series, v := range m {
		if series != name && !strings.HasPrefix(series, name+"{") {
			continue
		}
		ok := true
		for _, p := range pairs {
			if !strings.Contains(series, p) {
				ok = false
			}
		}
		if ok {
			total += v
		}
	}
	return total
}

// eventsSeries is the eventproc_events_total series a verdict is counted under.
func eventsSeries(rs *engine.Ruleset, v *engine.Verdict, outcome string) string {
	typ, ver := metrics.Unknown, metrics.Unknown
	for _, ti := range rs.Types() {
		if ti.Name == v.EventType {
			typ = v.EventType
			for _, x := range ti.Versions {
				if x == v.Version {
					ver = x
				}
			}
		}
	}
	return fmt.Sprintf(`eventproc_events_total{event_type=%q,outcome=%q,schema_version=%q}`, typ, outcome, ver)
}

// TestEndToEndOperations: real traffic, then the endpoints and metric values; a SIGHUP
// with a tightened rule (later events get the new verdict), then one with a broken
// rule (the rules in use are kept, every diagnostic logged, the worker carries on).
func TestEndToEndOperations(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	bin := binary(t)
	var err error
	rules := fixture.CopyEventsD(t)
	s := newE2E(t, bin, rules, 30*time.Second)
	p := s.run(t, bin, s.env, "--http-probe-interval", "500ms")
	addr := healthAddr(t, p)
	if code, body := httpGet(t, addr, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	waitUntil(t, "ready", 20*time.Second, p, func() bool { code, _ := httpGet(t, addr, "/readyz"); return code == http.StatusOK })

	// Traffic: valid events of every type and version, generated invalid ones, and
	// bodies that are not events at all.
	bodies := generate(t, s.rs, 120, true, 11)
	bodies = append(bodies, generate(t, s.rs, 30, false, 12)...)
	bodies = append(bodies, "not json", `{"event_type":"made.up"}`, "[1]")
	want := map[string]float64{}
	violations := 0
	for _, b := range bodies {
		v := s.rs.Evaluate(context.Background(), b)
		switch v.Outcome {
		case engine.Valid:
			want[eventsSeries(s.rs, v, "processed")]++
		case engine.Invalid:
			want[eventsSeries(s.rs, v, "rejected")]++
			violations += len(v.Violations)
		default:
			t.Fatalf("generated body is %v: %s", v.Outcome, b)
		}
	}
	s.send(t, s.queueURL, bodies)
	waitUntil(t, "every message settled", 60*time.Second, p, func() bool {
		return sumSeries(scrape(t, addr), "eventproc_events_total") >= float64(len(bodies)) && s.queueCount(t, s.queueURL) == 0
	})
	m := scrape(t, addr)
	for series, n := range want {
		if m[series] != n {
			t.Errorf("%s = %v, want %v", series, m[series], n)
		}
	}
	if got := sumSeries(m, "eventproc_events_total"); got != float64(len(bodies)) {
		t.Errorf("eventproc_events_total adds up to %v, want %d", got, len(bodies))
	}
	if got := sumSeries(m, "eventproc_violations_total"); got != float64(violations) || violations == 0 {
		t.Errorf("eventproc_violations_total adds up to %v, want %d", got, violations)
	}
	processed := sumSeries(m, "eventproc_events_total", `outcome="processed"`)
	checks := []struct {
		series string
		ok     func(float64) bool
	}{
		{`eventproc_processing_seconds_count{outcome="processed"}`, func(v float64) bool { return v == processed }},
		{`eventproc_messages_received_total`, func(v float64) bool { return v == float64(len(bodies)) }},
		{`eventproc_in_flight_messages`, func(v float64) bool { return v == 0 }},
		{`eventproc_aws_requests_total{operation="ReceiveMessage",service="SQS"}`, func(v float64) bool { return v > 0 }},
		{`eventproc_aws_requests_total{operation="BatchWriteItem",service="DynamoDB"}`, func(v float64) bool { return v > 0 && v < float64(len(bodies)) }},
		{`eventproc_aws_requests_total{operation="DescribeTable",service="DynamoDB"}`, func(v float64) bool { return v > 0 }},
		{`eventproc_aws_request_errors_total{operation="BatchWriteItem",service="DynamoDB"}`, func(v float64) bool { return v == 0 }},
		{`eventproc_rules_types`, func(v float64) bool { return v == float64(len(s.rs.Types())) }},
		{`eventproc_rules_reloads_total{result="ok"}`, func(v float64) bool { return v == 0 }},
		{`eventproc_dead_letters_total{outcome="exhausted",result="sent"}`, func(v float64) bool { return v == 0 }},
	}
	for _, c := range checks {
		if v, ok := m[c.series]; !ok || !c.ok(v) {
			t.Errorf("%s = %v (exposed: %v)", c.series, v, ok)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// A good edit: order.placed v1 refuses blocked orders. Before the reload they are
	// valid; after it, rejected by the new rule.
	before := fixture.BlockedOrders(t, s.rs, 5, 21)
	s.send(t, s.queueURL, before)
	waitUntil(t, "the blocked orders stored under the old rules", 30*time.Second, p, func() bool {
		return scrape(t, addr)[`eventproc_events_total{event_type="order.placed",outcome="processed",schema_version="v1"}`] >=
			want[`eventproc_events_total{event_type="order.placed",outcome="processed",schema_version="v1"}`]+5
	})
	fixture.EditFile(t, filepath.Join(rules, "order.placed.yaml"), "      status:      {type: string, required: true, min_length: 1}\n  v2:",
		fixture.BlockRule+"  v2:")
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, "the reload", 30*time.Second, p, func() bool { return len(p.lines("rules reloaded: new messages use them")) == 1 })
	after := fixture.BlockedOrders(t, s.rs, 5, 22)
	s.send(t, s.queueURL, after)
	rejectedBy := `eventproc_violations_total{event_type="order.placed",rule="no-blocked-orders",schema_version="v1"}`
	waitUntil(t, "the blocked orders rejected under the new rules", 30*time.Second, p, func() bool { return scrape(t, addr)[rejectedBy] == 5 })
	rejectedAfter := 0
	for _, it := range s.items(t) {
		raw := str(it["raw_body"])
		if strings.Contains(raw, `"blocked-22-`) {
			rejectedAfter++
		}
		if strings.Contains(raw, `"blocked-21-`) {
			t.Errorf("an order sent before the reload was rejected: %s", raw)
		}
		if strings.Contains(raw, `"blocked-22-`) && !strings.Contains(str(it["reason"]), "blocked orders are refused") {
			t.Errorf("rejected without the new rule: %s", str(it["reason"]))
		}
	}
	if rejectedAfter != len(after) {
		t.Errorf("%d rejected items of orders sent after the reload, want %d", rejectedAfter, len(after))
	}
	if m := scrape(t, addr); m[`eventproc_rules_reloads_total{result="ok"}`] != 1 {
		t.Errorf("reloads ok = %v, want 1", m[`eventproc_rules_reloads_total{result="ok"}`])
	}

	// A broken edit: the rule reads a field that does not exist. The reload fails with
	// its diagnostic logged; the rules in use (with the blocking rule) stay.
	good := map[string][]byte{}
	for _, f := range []string{"order.placed.yaml", "user.created.yaml"} {
		if good[f], err = os.ReadFile(filepath.Join(rules, f)); err != nil {
			t.Fatal(err)
		}
	}
	fixture.EditFile(t, filepath.Join(rules, "order.placed.yaml"), `'!body.order_id.startsWith("blocked-")'`, `'!body.order_idd.startsWith("blocked-")'`)
	fixture.EditFile(t, filepath.Join(rules, "user.created.yaml"), "type: user.created", "type: user.created\nunknwn_key: 1")
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, "the failed reload", 30*time.Second, p, func() bool { return len(p.lines("rules reload failed: keeping the rules in use")) == 1 })
	var diags []string
	for _, l := range p.lines("rules reload: diagnostic") {
		if l["level"] == "ERROR" {
			diags = append(diags, fmt.Sprint(l["diagnostic"]))
		}
	}
	joined := strings.Join(diags, "\n")
	for _, w := range []string{filepath.Join(rules, "order.placed.yaml") + ":", "order_idd", filepath.Join(rules, "user.created.yaml") + ":", "unknwn_key"} {
		if !strings.Contains(joined, w) {
			t.Errorf("reload diagnostics lack %q:\n%s", w, joined)
		}
	}
	if code, _ := httpGet(t, addr, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d after a failed reload, want 200 (the old rules serve)", code)
	}
	more := fixture.BlockedOrders(t, s.rs, 5, 23)
	valid := generate(t, s.rs, 12, true, 24)
	s.send(t, s.queueURL, append(more, valid...))
	waitUntil(t, "traffic after the failed reload", 30*time.Second, p, func() bool {
		return scrape(t, addr)[rejectedBy] == 10 && s.queueCount(t, s.queueURL) == 0
	})
	m = scrape(t, addr)
	if m[`eventproc_rules_reloads_total{result="failed"}`] != 1 || m[`eventproc_rules_reloads_total{result="ok"}`] != 1 {
		t.Errorf("reloads: %v ok, %v failed; want 1, 1", m[`eventproc_rules_reloads_total{result="ok"}`], m[`eventproc_rules_reloads_total{result="failed"}`])
	}
	if got, wantN := sumSeries(m, "eventproc_events_total", `outcome="processed"`), processed+5+12; got != wantN {
		t.Errorf("processed %v, want %v", got, wantN)
	}

	// Rules that compile but write to a table that does not exist: refused too.
	for f, data := range good {
		if err := os.WriteFile(filepath.Join(rules, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fixture.EditFile(t, filepath.Join(rules, "order.placed.yaml"), "persist:\n  table: events\n", "persist:\n  table: orders-new\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, "the reload refused for a missing table", 30*time.Second, p, func() bool {
		return len(p.lines("rules reload failed: keeping the rules in use")) == 2
	})
	if !strings.Contains(p.logs.String(), "table orders-new does not exist (eventproc provision creates it) [table-missing]") {
		t.Errorf("no table-missing diagnostic")
	}
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// TestEndToEndReadiness: /readyz fails when a table disappears (the reachability probe,
// while no message flows) and recovers when it is back, the failure and the recovery
// each logged once however many rounds they last; it fails while draining after
// SIGTERM.
func TestEndToEndReadiness(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	bin := binary(t)
	s := newE2E(t, bin, "events.d", 30*time.Second)
	p := s.run(t, bin, s.env, "--http-probe-interval", "300ms", "--receive-wait", "4s")
	addr := healthAddr(t, p)
	ready := func() (int, string) { return httpGet(t, addr, "/readyz") }
	waitUntil(t, "ready", 20*time.Second, p, func() bool { code, _ := ready(); return code == http.StatusOK })

	table := s.rs.Tables()[0].Name
	if _, err := s.emu.DynamoDBClient().DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
		t.Fatal(err)
	}
	var body string
	waitUntil(t, "not ready without the table", 10*time.Second, p, func() bool {
		var code int
		code, body = ready()
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(body, "table "+table) {
		t.Errorf("/readyz body %q does not name table %s", body, table)
	}
	time.Sleep(2 * time.Second) // six more rounds of the same failure, each with its request id
	if n := len(p.lines("reachability probe failed: not ready")); n != 1 {
		t.Errorf("the probe's failure is logged %d times, want once", n)
	}
	cmd := exec.Command(bin, "provision", "--rules", s.rules, "--queue", "events", "--visibility", "30s")
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("provision: %v\n%s", err, out)
	}
	waitUntil(t, "ready again", 10*time.Second, p, func() bool { code, _ := ready(); return code == http.StatusOK })
	time.Sleep(time.Second)
	if n := len(p.lines("reachability probe: every queue and table answers again")); n != 1 {
		t.Errorf("the recovery is logged %d times, want once", n)
	}

	// Draining: the long polls in progress (4 s) are let finish, and meanwhile the
	// worker says it is not ready.
	p.cmd.Process.Signal(syscall.SIGTERM)
	var draining bool
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && !draining {
		code, b := ready()
		draining = code == http.StatusServiceUnavailable && strings.Contains(b, "draining")
		time.Sleep(20 * time.Millisecond)
	}
	if !draining {
		t.Errorf("/readyz never said draining after SIGTERM")
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if p.err != nil {
		t.Errorf("exit: %v", p.err)
	}
}
