package e2e

import (
	"errors"
	"eventproc/internal/fixture"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"eventproc/engine"
)

// Security: no credentials in logs or error messages, and rules that cannot reach
// outside the engine.

// Recognisable dummy credentials: a test fails if any of them is printed.
const (
	leakKeyID  = "AKIAEVENTPROCLEAK7Q"
	leakSecret = "eventproc/LEAK+secret/Zq9vW3xT"
	leakToken  = "eventproc-LEAK-session-token-4f2a9c"
)

// TestNoCredentialsInLogs runs the binary with credentials set, through success and
// failure (a table endpoint that refuses, a missing queue, every command's errors) at
// debug level, and fails if a credential shows in anything it printed.
func TestNoCredentialsInLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	bin := binary(t)
	policy := engine.RetryPolicy{MaxAttempts: 2, InitialDelay: time.Second, Multiplier: 2, MaxDelay: time.Second}
	s := newE2E(t, bin, copyRules(t, policy, nil), 10*time.Second)
	env := withEnv(s.env, "AWS_ACCESS_KEY_ID="+leakKeyID, "AWS_SECRET_ACCESS_KEY="+leakSecret, "AWS_SESSION_TOKEN="+leakToken)
	var printed strings.Builder

	// The worker at debug level: events stored, then the table unreachable (retries,
	// dead letters), then stopped.
	bodies := generate(t, s.rs, 20, true, 81)
	s.send(t, s.queueURL, bodies)
	p := s.run(t, bin, env, "--log-level", "debug")
	waitUntil(t, "events stored", 30*time.Second, p, func() bool { return len(s.items(t)) >= len(bodies) })
	p.stop(t, 20*time.Second)
	printed.WriteString(p.logs.String())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	s.send(t, s.queueURL, generate(t, s.rs, 5, true, 82))
	// Outage detection off, so that the failures take the dead-letter path.
	p2 := s.run(t, bin, withEnv(env, "AWS_ENDPOINT_URL_DYNAMODB="+dead), "--log-level", "debug", "--call-timeout", "1s",
		"--outage-min-failures", "100000")
	waitUntil(t, "dead letters", 30*time.Second, p2, func() bool { return s.queueCount(t, s.dlqURL) >= 5 })
	p2.stop(t, 20*time.Second)
	printed.WriteString(p2.logs.String())
	if !strings.Contains(p2.logs.String(), `"outcome":"exhausted"`) {
		t.Errorf("the failure path was not taken")
	}

	// Every AWS command, succeeding and failing, each with the exit code it must give.
	dead2 := withEnv(env, "AWS_ENDPOINT_URL_DYNAMODB="+dead, "AWS_ENDPOINT_URL_SQS="+dead)
	for _, c := range []struct {
		env  []string
		args []string
		code int
	}{
		{env, []string{"run", "--queue-url", "missing-queue", "--log-level", "debug"}, 1},
		{env, []string{"provision", "--rules", s.rules, "--queue", "events"}, 0},
		{env, []string{"send", "--rules", s.rules, "--queue", "missing-queue", "--count", "1"}, 1},
		{env, []string{"stats", "--rules", s.rules, "--queue", "missing-queue"}, 1},
		{env, []string{"redrive", "--queue", "missing-queue"}, 1},
		{env, []string{"redrive", "--queue", "events", "--dry-run"}, 0},
		// And with the endpoints refusing, so that the SDK's own errors show.
		{dead2, []string{"stats", "--rules", s.rules}, 1},
		{dead2, []string{"redrive", "--queue", "events"}, 1},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Env, cmd.Dir = c.env, t.TempDir()
		out, err := cmd.CombinedOutput()
		printed.Write(out)
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if code != c.code {
			t.Errorf("eventproc %s: exit %d, want %d\n%s", strings.Join(c.args, " "), code, c.code, out)
		}
	}

	all := printed.String()
	for name, secret := range map[string]string{"access key id": leakKeyID, "secret key": leakSecret, "session token": leakToken,
		"part of the secret": "Zq9vW3xT", "part of the token": "4f2a9c"} {
		if i := strings.Index(all, secret); i >= 0 {
			t.Errorf("the %s appears in the output: …%s…", name, all[max(0, i-200):min(len(all), i+100)])
		}
	}
	t.Logf("%d bytes of logs and errors checked", len(all))
}

// withEnv returns env with the given KEY=VALUE settings replacing or adding to it.
func withEnv(env []string, set ...string) []string {
	out := append([]string(nil), env...)
	for _, kv := range set {
		key := kv[:strings.IndexByte(kv, '=')+1]
		out = append(slices.DeleteFunc(out, func(e string) bool { return strings.HasPrefix(e, key) }), kv)
	}
	return out
}

// TestRulesCannotReachOutside: CEL in events.d has no clock, no environment, no files,
// no network and no process: any such function or variable is an unknown reference at
// load time. Only the documented library (the standard functions, strings, math, lists,
// sets, optionals and the named checks) is there; timestamps are only parsed from the
// event, never read from a clock.
func TestRulesCannotReachOutside(t *testing.T) {
	envelope := `envelope:
  type_field: event_type
  version_field: schema_version
  id_field: event_id
  body_field: body
  fields:
    event_id: {type: string, required: true}
    event_type: {type: string, required: true}
    schema_version: {type: string, required: true}
    tenant_id: {type: string, required: true}
    occurred_at: {type: timestamp}
`
	load := func(expr string) engine.Diagnostics {
		fsys := fstest.MapFS{
			"envelope.yaml": {Data: []byte(envelope)},
			"defaults.yaml": {Data: []byte("defaults:\n  persist:\n    table: events\n    key:\n      pk: header.event_id\n")},
			"t.yaml": {Data: []byte("type: t\nversions:\n  v1:\n    fields: {s: {type: string, max_length: 100}}\n    rules:\n" +
				"      - id: r\n        expr: '" + strings.ReplaceAll(expr, "'", "''") + "'\n")},
		}
		_, diags := engine.Load(fsys)
		return diags
	}
	if d := load(`!has(body.s) || body.s.startsWith("a")`); d.HasErrors() {
		t.Fatalf("the control rule does not load: %v", d)
	}
	if d := load(`!has(header.occurred_at) || header.occurred_at < timestamp("2100-01-01T00:00:00Z")`); d.HasErrors() {
		t.Fatalf("a timestamp parsed from the event is refused: %v", d)
	}
	// What rules can reach at all (no clock, environment, files, network or processes)
	// is the engine's golden list of the CEL environment's declarations:
	// engine/testdata/cel-declarations.golden (TestCELDeclarations).
	// A deliberately expensive rule is refused at load time (its estimated cost is over
	// the limit) — the diagnostics golden file cost-limit.txtar holds the exact message;
	// here, through the command an operator runs.
	dir := fixture.BrokenRules(t, "expensive.yaml", "type: expensive\nversions:\n  v1:\n    fields: {xs: {type: list, items: {type: string}}}\n"+
		"    rules:\n      - id: cubic\n        expr: '!has(body.xs) || body.xs.all(a, body.xs.all(b, body.xs.all(c, a + b + c != \"\")))'\n")
	code, out, errOut := runCLI(t, "", "check", "--rules", dir)
	if code != 1 || !strings.Contains(out+errOut, "cost-limit") {
		t.Errorf("check of an expensive rule: exit %d, %s%s", code, out, errOut)
	}
}
