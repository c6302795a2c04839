package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/engine"
)

// The reliability scenarios: the real binary on private emulators under crashes,
// outages, throttling and SQS errors (faultproxy_test.go), conflicting producers, a
// redrive, replicas and poison messages, each ending with the ledger (ledger_test.go).
// They are the rows of one table (reliabilityScenarios), each a fault script (here and
// in faults_test.go) over the shared phases of a rig: start the emulators, send, run
// workers, wait, stop, settle.
// They take minutes, so they run only with EVENTPROC_RELIABILITY=1: `make reliability`.

func reliabilityOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("EVENTPROC_RELIABILITY") == "" {
		t.Skip("reliability scenario: run with make reliability (EVENTPROC_RELIABILITY=1)")
	}
}

// scenario is one row of the reliability table: how its emulators and rules are set up,
// the fault script the workers go through, and the ledger it must end with.
type scenario struct {
	name       string                                // the subtest: -run 'TestReliability/<name>'
	ledger     string                                // the title of the final ledger table
	policy     *engine.RetryPolicy                   // every rule's retry policy; nil: events.d as shipped
	edit       func(name string, data []byte) []byte // applied to each rules file (with policy only)
	visibility time.Duration                         // the queue's visibility timeout
	// fault runs the scenario up to its final ledger: it sends, runs the workers,
	// injects the fault, waits for the queue to drain and stops the workers (or leaves
	// that to its result). Its result, when not nil, checks the final ledger further.
	fault func(t *testing.T, r *rig) func(t *testing.T, st settlement)
	// dlqFree: the final ledger must hold no dead letter but its conflicts.
	dlqFree bool
	// conflicts: the payloads the final ledger must hold as conflicts (dead letters of
	// outcome conflict, their key holding another payload).
	conflicts int
}

var (
	shortOutagePolicy = engine.RetryPolicy{MaxAttempts: 6, InitialDelay: time.Second, Multiplier: 2, MaxDelay: 4 * time.Second}
	throttlePolicy    = engine.RetryPolicy{MaxAttempts: 12, InitialDelay: time.Second, Multiplier: 2, MaxDelay: 2 * time.Second}
	poisonPolicy      = engine.RetryPolicy{MaxAttempts: 2, InitialDelay: time.Second, Multiplier: 2, MaxDelay: 2 * time.Second}
)

// reliabilityScenarios is the table: every fault and the ledger it ends with.
var reliabilityScenarios = []scenario{
	{name: "crash", ledger: "crash (kill -9)", visibility: 5 * time.Second, fault: crash, dlqFree: true},
	{name: "table-outage-short", ledger: "table outage < retry budget", policy: &shortOutagePolicy, visibility: 30 * time.Second,
		fault: tableOutageShort, dlqFree: true},
	{name: "table-outage-3x", ledger: "table outage 3x the retry budget", policy: &shortOutagePolicy, visibility: 30 * time.Second,
		fault: tableOutage3x, dlqFree: true},
	{name: "crash-then-outage", ledger: "kill -9, then a table outage 3x the retry budget", policy: &shortOutagePolicy,
		visibility: 5 * time.Second, fault: crashThenOutage, dlqFree: true},
	{name: "throttling-storm", ledger: "throttling storm (50 % of writes)", policy: &throttlePolicy, visibility: 30 * time.Second,
		fault: throttlingStorm, dlqFree: true},
	{name: "redrive", ledger: "a rule fixed, then redrive", policy: &poisonPolicy, edit: divideByZeroRule, visibility: 30 * time.Second,
		fault: redriveAfterFix, dlqFree: true},
	{name: "queue-outage", ledger: "queue outage", visibility: 10 * time.Second, fault: queueOutage},
	{name: "sqs-500", ledger: "SQS answering 500 (40 % of calls)", visibility: 10 * time.Second, fault: sqs500, dlqFree: true},
	{name: "sigterm", ledger: "graceful stop (SIGTERM)", visibility: 10 * time.Second, fault: gracefulStop, dlqFree: true},
	{name: "replicas", ledger: "three replicas", visibility: 30 * time.Second, fault: replicas, dlqFree: true},
	{name: "conflicting-producers", ledger: "two producers, one key", visibility: 30 * time.Second, fault: conflictingProducers,
		dlqFree: true, conflicts: conflictingKeys},
	{name: "poison", ledger: "poison messages", policy: &poisonPolicy, edit: divideByZeroRule, visibility: 30 * time.Second,
		fault: poisonMessages},
}

// TestReliability runs every scenario of the table on its own emulators, each ending
// with its ledger table: -run 'TestReliability/poison' runs one.
func TestReliability(t *testing.T) {
	reliabilityOnly(t)
	for _, sc := range reliabilityScenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := startRig(t, sc)
			check := sc.fault(t, r)
			st := r.settle(t, sc.ledger)
			if sc.dlqFree && st.DLQ != st.Conflicts {
				t.Errorf("%d messages dead-lettered, %d of them conflicts (%s)", st.DLQ, st.Conflicts, sc.ledger)
			}
			if st.Conflicts != sc.conflicts {
				t.Errorf("%d payloads dead-lettered as conflict, want %d (%s)", st.Conflicts, sc.conflicts, sc.ledger)
			}
			if check != nil {
				check(t, st)
			}
		})
	}
}

// rig is one scenario's world: the binary, its private emulators provisioned for the
// scenario's rules, and the ledger of what was sent.
type rig struct {
	*e2eSetup
	bin    string
	policy engine.RetryPolicy // zero when the rules are events.d as shipped
	l      *ledger
}

// startRig builds the binary, writes the scenario's rules and starts its emulators.
func startRig(t *testing.T, sc scenario) *rig {
	t.Helper()
	r := &rig{bin: binary(t)}
	rules := "events.d"
	if sc.policy != nil {
		r.policy = *sc.policy
		rules = copyRules(t, r.policy, sc.edit)
	}
	r.e2eSetup = newE2E(t, r.bin, rules, sc.visibility)
	r.l = newLedger(r.rs)
	return r
}

// worker starts `eventproc run` on the scenario's queue, with env (nil: the rig's).
func (r *rig) worker(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	if env == nil {
		env = r.env
	}
	return r.run(t, r.bin, env, args...)
}

// sendAsync sends mixed(n, dups, seed) in the background at rate messages a second.
func (r *rig) sendAsync(t *testing.T, n, dups int, seed uint64, rate float64) <-chan error {
	t.Helper()
	return r.l.sendAsync(r.emu.SQSClient(), r.queueURL, mixed(t, r.rs, n, dups, seed), rate)
}

// sendNow sends mixed(n, 0, seed) as fast as it can and returns when the queue has them.
func (r *rig) sendNow(t *testing.T, n int, seed uint64) {
	t.Helper()
	if err := r.l.send(context.Background(), r.emu.SQSClient(), r.queueURL, mixed(t, r.rs, n, 0, seed), 0); err != nil {
		t.Fatal(err)
	}
}

// stored waits until the tables hold n items, while p runs.
func (r *rig) stored(t *testing.T, n int, p *proc) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d items stored", n), 60*time.Second, p, func() bool { return r.itemCount(t) >= n })
}

// stop sends SIGTERM to p and wants exit 0 within 20 seconds.
func (r *rig) stop(t *testing.T, p *proc, what string) {
	t.Helper()
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Errorf("%s: exit %d", what, code)
	}
}

// settle logs the ledger table titled title and fails t unless it balances.
func (r *rig) settle(t *testing.T, title string) settlement {
	t.Helper()
	return r.l.settle(t, title, r.e2eSetup)
}

// copyRules copies events.d into a directory of t's, with every retry policy set to
// the given one (jitter 0, so delays are exact) and edit applied to each file.
func copyRules(t *testing.T, p engine.RetryPolicy, edit func(name string, data []byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	writeRules(t, dir, p, edit)
	return dir
}

// writeRules writes events.d into dir, with every retry policy set to p and edit applied
// to each file.
func writeRules(t *testing.T, dir string, p engine.RetryPolicy, edit func(name string, data []byte) []byte) {
	t.Helper()
	entries, err := os.ReadDir("events.d")
	if err != nil {
		t.Fatal(err)
	}
	repl := []struct{ re, to string }{
		{`max_attempts: *\d+`, fmt.Sprintf("max_attempts: %d", p.MaxAttempts)},
		{`initial_delay: *\S+`, "initial_delay: " + p.InitialDelay.String()},
		{`multiplier: *\S+`, fmt.Sprintf("multiplier: %g", p.Multiplier)},
		{`max_delay: *\S+`, "max_delay: " + p.MaxDelay.String()},
		{`jitter: *\S+`, "jitter: 0"},
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("events.d", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range repl {
			data = regexp.MustCompile(r.re).ReplaceAll(data, []byte(r.to))
		}
		if edit != nil {
			data = edit(e.Name(), data)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// mixed returns n events of every type and version, a fifth of them invalid, in random
// order, followed by dups of them sent again.
func mixed(t *testing.T, rs *engine.Ruleset, n, dups int, seed uint64) []string {
	t.Helper()
	bodies := append(generate(t, rs, n-n/5, true, seed), generate(t, rs, n/5, false, seed+1000)...)
	r := rand.New(rand.NewPCG(seed, 7))
	r.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	for i := range dups {
		bodies = append(bodies, bodies[i*(n/max(dups, 1))])
	}
	return bodies
}

// itemCount counts the items of every table.
func (s *e2eSetup) itemCount(t *testing.T) int { return len(s.items(t)) }

// drained waits until the queue is empty and stays so for a second, then returns.
func (s *e2eSetup) waitDrained(t *testing.T, timeout time.Duration, procs ...*proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	quiet := 0
	for quiet < 3 {
		for _, p := range procs {
			select {
			case <-p.done:
				t.Fatalf("eventproc run exited (%v) before the queue drained", p.err)
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not drain within %v (%d left)", timeout, s.queueCount(t, s.queueURL))
		}
		if s.queueCount(t, s.queueURL) == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(400 * time.Millisecond)
	}
}

// sendDone waits for a background send.
func sendDone(t *testing.T, ch <-chan error, timeout time.Duration) {
	t.Helper()
	select {
	case err := <-ch:
		if err != nil {
			t.Fatalf("send: %v", err)
		}
	case <-time.After(timeout):
		t.Fatalf("send did not finish within %v", timeout)
	}
}

// outcomesByMessage returns, for each message id, the outcomes logged by procs.
func outcomesByMessage(procs ...*proc) map[string][]string {
	out := map[string][]string{}
	for _, p := range procs {
		for _, l := range p.lines("message") {
			id, _ := l["message_id"].(string)
			o, _ := l["outcome"].(string)
			out[id] = append(out[id], o)
		}
	}
	return out
}

// settledTwice counts messages that were settled (processed or rejected) more than once:
// deliveries whose work was done twice.
func settledTwice(procs ...*proc) int {
	n := 0
	for _, outs := range outcomesByMessage(procs...) {
		c := 0
		for _, o := range outs {
			if o == "processed" || o == "rejected" {
				c++
			}
		}
		if c > 1 {
			n++
		}
	}
	return n
}

// vmHWM returns the peak resident memory of a process, from /proc/PID/status.
func vmHWM(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for l := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// crash: kill -9 while 5,000 mixed events flow; a restart stores the rest; every valid
// event exactly once.
func crash(t *testing.T, r *rig) func(*testing.T, settlement) {
	p := r.worker(t, nil, "--visibility-timeout", "5s")
	sent := r.sendAsync(t, 5000, 250, 11, 800)
	r.stored(t, 1500, p)
	p.cmd.Process.Kill() // SIGKILL: no drain, no flush
	<-p.done
	t.Logf("killed with %d items stored", r.itemCount(t))
	sendDone(t, sent, 60*time.Second)

	p2 := r.worker(t, nil, "--visibility-timeout", "5s")
	r.waitDrained(t, 120*time.Second, p2)
	r.stop(t, p2, "restarted worker")
	return func(t *testing.T, _ settlement) {
		t.Logf("messages settled twice (redelivered after the kill, rewritten idempotently): %d", settledTwice(p, p2))
	}
}

// tableOutageShort: DynamoDB stops for a few seconds mid-stream, less than the retry
// budget; nothing is dead-lettered, everything is stored once, and every retry waited
// the policy's delay.
func tableOutageShort(t *testing.T, r *rig) func(*testing.T, settlement) {
	policy := r.policy
	p := r.worker(t, nil)
	sent := r.sendAsync(t, 3000, 100, 21, 300)
	r.stored(t, 500, p)
	down := time.Now()
	if err := r.emu.DynamoDB.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	if err := r.emu.DynamoDB.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("DynamoDB down for %v (budget: %d attempts over %v of delays)", time.Since(down).Round(100*time.Millisecond),
		policy.MaxAttempts, retryBudget(policy))
	sendDone(t, sent, 60*time.Second)
	r.waitDrained(t, 120*time.Second, p)
	r.stop(t, p, "worker")
	return func(t *testing.T, _ settlement) { checkRetryDelays(t, p, policy) }
}

// checkRetryDelays checks every logged retry against the policy: its delay is the
// policy's for its attempt, and the message's next outcome came no sooner.
func checkRetryDelays(t *testing.T, p *proc, policy engine.RetryPolicy) {
	t.Helper()
	type event struct {
		outcome string
		attempt int
		delay   time.Duration
		at      time.Time
	}
	byMsg := map[string][]event{}
	for _, l := range p.lines("message") {
		at, _ := time.Parse(time.RFC3339Nano, l["time"].(string))
		d, _ := l["delay"].(float64)
		a, _ := l["attempt"].(float64)
		id := l["message_id"].(string)
		byMsg[id] = append(byMsg[id], event{l["outcome"].(string), int(a), time.Duration(d), at})
	}
	retries, bad := 0, 0
	hist := map[string]int{}
	for id, evs := range byMsg {
		for i, e := range evs {
			if e.outcome != "retry" {
				continue
			}
			retries++
			hist[fmt.Sprintf("attempt %d → %v", e.attempt, e.delay)]++
			if want := policy.Delay(e.attempt, 0); e.delay != want {
				bad++
				if bad < 5 {
					t.Errorf("message %s attempt %d: delay %v, want %v", id, e.attempt, e.delay, want)
				}
			}
			if i+1 < len(evs) {
				if gap := evs[i+1].at.Sub(e.at); gap < e.delay-100*time.Millisecond {
					bad++
					if bad < 5 {
						t.Errorf("message %s: attempt %d came %v after a %v delay", id, evs[i+1].attempt, gap, e.delay)
					}
				}
				if evs[i+1].attempt != e.attempt+1 {
					t.Logf("message %s: attempt %d followed by attempt %d", id, e.attempt, evs[i+1].attempt)
				}
			}
		}
	}
	t.Logf("retries: %d, every one after the policy's delay: %v; by attempt: %v", retries, bad == 0, hist)
	if retries == 0 {
		t.Errorf("no retry logged: the outage touched nothing")
	}
}

// queueOutage: the SQS endpoint hangs (fauxqs frozen), then refuses every connection;
// the worker survives both, its request rate stays bounded, and it resumes by itself.
func queueOutage(t *testing.T, r *rig) func(*testing.T, settlement) {
	proxy := newFaultProxy(t, r.emu.SQS.Endpoint, faultRule{})
	env := withEnv(r.env, "AWS_ENDPOINT_URL_SQS="+proxy.url)
	r.sendNow(t, 1000, 41)
	p := r.worker(t, env, "--visibility-timeout", "10s")
	r.waitDrained(t, 60*time.Second, p)
	idle := proxy.rate(3 * time.Second)

	// 1. fauxqs frozen: every call hangs until its timeout.
	if err := r.emu.SQS.Pause(); err != nil {
		t.Fatal(err)
	}
	hung := proxy.rate(12 * time.Second)
	if err := r.emu.SQS.Resume(); err != nil {
		t.Fatal(err)
	}
	// 2. The endpoint refuses: every connection is closed at once.
	proxy.dead.Store(true)
	refused := proxy.rate(12 * time.Second)
	proxy.dead.Store(false)
	select {
	case <-p.done:
		t.Fatalf("the worker exited during the outage: %v", p.err)
	default:
	}
	t.Logf("requests per second to SQS: idle %.1f, endpoint hung %.1f, endpoint refusing %.1f", idle, hung, refused)
	for what, rate := range map[string]float64{"hung": hung, "refusing": refused} {
		if rate > 20 {
			t.Errorf("%.1f requests/s while the endpoint was %s: a hot loop", rate, what)
		}
	}

	// It resumes by itself: new events are stored without a restart.
	resumed := time.Now()
	r.sendNow(t, 1000, 42)
	r.waitDrained(t, 90*time.Second, p)
	t.Logf("1,000 events sent after the outage drained in %v", time.Since(resumed).Round(100*time.Millisecond))
	r.stop(t, p, "worker")
	return func(t *testing.T, _ settlement) {
		if n := len(p.lines("receive failed")); n == 0 {
			t.Errorf("no receive failure logged")
		} else {
			t.Logf("%d receive failures logged", n)
		}
	}
}

// gracefulStop: SIGTERM under load; exit 0 within the grace period; a restart stores
// the rest.
func gracefulStop(t *testing.T, r *rig) func(*testing.T, settlement) {
	const grace = 10 * time.Second
	p := r.worker(t, nil, "--visibility-timeout", "10s", "--grace-period", grace.String())
	sent := r.sendAsync(t, 5000, 250, 51, 1500)
	r.stored(t, 1500, p)
	start := time.Now()
	if code := p.stop(t, grace+5*time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	took := time.Since(start)
	t.Logf("exited 0 in %v after SIGTERM (grace period %v)", took.Round(time.Millisecond), grace)
	if took > grace+time.Second {
		t.Errorf("took %v to stop, over the grace period %v", took, grace)
	}
	if d := p.lines("drained"); len(d) == 1 {
		t.Logf("drained: %v", d[0])
	}
	sendDone(t, sent, 60*time.Second)
	p2 := r.worker(t, nil, "--visibility-timeout", "10s")
	r.waitDrained(t, 120*time.Second, p2)
	r.stop(t, p2, "restart")
	return func(t *testing.T, _ settlement) {
		if n := settledTwice(p, p2); n != 0 {
			t.Errorf("%d messages settled twice across a graceful stop", n)
		}
	}
}

// replicas: three workers on one queue; no message settled by two of them.
func replicas(t *testing.T, r *rig) func(*testing.T, settlement) {
	var procs []*proc
	for range 3 {
		procs = append(procs, r.worker(t, nil, "--visibility-timeout", "30s"))
	}
	sendDone(t, r.sendAsync(t, 5000, 250, 61, 2000), 60*time.Second)
	r.waitDrained(t, 120*time.Second, procs...)
	for i, p := range procs {
		r.stop(t, p, fmt.Sprintf("worker %d", i))
		st := p.lines("stopped")
		if len(st) == 1 {
			t.Logf("worker %d: received %v, processed %v, rejected %v", i, st[0]["received"], st[0]["processed"], st[0]["rejected"])
		}
	}
	return func(t *testing.T, _ settlement) {
		if n := settledTwice(procs...); n != 0 {
			t.Errorf("%d messages settled by two workers", n)
		}
	}
}

// poison is one hostile message and what it tests.
type poison struct {
	name string
	body string
}

// poisonBodies are the hostile messages. valid is a valid order.placed v1 body for
// the id given.
func poisonBodies(valid func(id string) string) []poison {
	big := func(n int) string { // a valid event padded with an undeclared field to n bytes
		b := valid("poison-256k")
		pad := n - len(b) - len(`,"pad":""`)
		return strings.Replace(b, `"body":{`, `"body":{"pad":"`+strings.Repeat("x", pad)+`",`, 1)
	}
	nested := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	var keys strings.Builder
	keys.WriteString(`{`)
	const digits = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for i := range 100000 {
		if i > 0 {
			keys.WriteByte(',')
		}
		keys.WriteByte('"')
		for n := i; ; n /= len(digits) {
			keys.WriteByte(digits[n%len(digits)])
			if n < len(digits) {
				break
			}
		}
		keys.WriteString(`":0`)
	}
	keys.WriteString("}")
	return []poison{
		{"256 KiB body (valid event padded)", big(256 << 10)},
		{"256 KiB of garbage", strings.Repeat("z", 256<<10)},
		{"1 MiB - 1 byte of garbage (SQS's largest)", strings.Repeat("y", 1<<20-1)},
		{"invalid UTF-8", strings.Replace(valid("poison-utf8"), `"ord-`, "\"\xff\xfe-", 1)},
		{"10,000-level nesting in the body", strings.Replace(valid("poison-nest"), `"body":{`, `"body":{"deep":`+nested+`,`, 1)},
		{"10,000-level nesting, whole message", nested},
		{"100,000 keys in the body", strings.Replace(valid("poison-keys"), `"body":{`, `"body":{"many":`+keys.String()+`,`, 1)},
		{"a JSON array", `[1,2,3]`},
		{"an empty body", ""},
		{"a blank body", " "},
		{"a number beyond float64 in a declared field", strings.Replace(valid("poison-bignum"), `"total":`, `"total":1e400,"x":`, 1)},
		{"a number beyond float64 in an undeclared field", strings.Replace(valid("poison-bignum2"), `"body":{`, `"body":{"huge":1e400,`, 1)},
		{"a 400-digit integer in an undeclared field", strings.Replace(valid("poison-bigint"), `"body":{`, `"body":{"huge":1`+strings.Repeat("0", 400)+`,`, 1)},
		{"duplicate keys", strings.Replace(valid("poison-dup"), `"body":{`, `"body":{"order_id":"a",`, 1)},
		{"a rule that divides by zero", strings.Replace(valid("poison-div"), `"order_id":"ord-`, `"order_id":"div-by-zero-`, 1)},
		{"a control character", valid("poison-ctl") + "\x01"},
	}
}

// replaceInvalidBytes replaces each byte that is not part of valid UTF-8 with U+FFFD,
// as Node's decoder does.
func replaceInvalidBytes(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		b.WriteRune(r)
		s = s[n:]
	}
	return b.String()
}

// divideByZeroRule adds to order.placed v1 a rule with a bug: integer division by zero
// for one order id.
func divideByZeroRule(name string, data []byte) []byte {
	if name != "order.placed.yaml" {
		return data
	}
	return []byte(strings.Replace(string(data), "  v2:\n", "    rules:\n"+
		"      - id: divides-by-zero\n"+
		"        expr: '!body.order_id.startsWith(\"div-by-zero\") || body.items_count / (body.items_count - body.items_count) > 0'\n"+
		"  v2:\n", 1))
}

// poisonMessages: hostile messages each end as a rejected item or a dead letter with a
// clear reason; the worker never crashes; its peak memory is reported.
func poisonMessages(t *testing.T, r *rig) func(*testing.T, settlement) {
	valid := func(id string) string {
		return `{"event_id":"` + id + `","event_type":"order.placed","tenant_id":"tenant-p","client_id":"client-p","schema_version":"v1","occurred_at":"2026-02-04T14:00:15Z","body":{"order_id":"ord-` + id + `","user_id":"u-1","total":100.5,"items_count":2,"status":"confirmed"}}`
	}
	if v := r.rs.Evaluate(context.Background(), valid("x")); v.Outcome != engine.Valid {
		t.Fatalf("the base event is not valid: %v", v.Reason())
	}
	p := r.worker(t, nil)
	waitUntil(t, "worker started", 10*time.Second, p, func() bool { return len(p.lines("worker started")) > 0 })
	sq := r.emu.SQSClient()
	poisons := poisonBodies(valid)
	for i := range poisons {
		// The engine itself, without SQS in between: every poison is settled.
		v := r.rs.Evaluate(context.Background(), poisons[i].body)
		t.Logf("%-50s engine alone: %s %.100s", poisons[i].name, v.Outcome, v.Reason())
	}
	sentBody := map[string]string{} // poison name → body as the queue holds it
	for i := range poisons {
		ps := &poisons[i]
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := sq.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(r.queueURL), MessageBody: aws.String(ps.body)})
		cancel()
		if err != nil && !utf8.ValidString(ps.body) && strings.Contains(err.Error(), "checksum") {
			// The emulator took the message but replaced each invalid byte with U+FFFD
			// (so the MD5 it returns differs): the worker gets that body. Real SQS
			// refuses invalid UTF-8 outright.
			t.Logf("%-50s taken with each invalid byte replaced by U+FFFD (the SDK reports: %v)", ps.name, err)
			ps.body = replaceInvalidBytes(ps.body)
			err = nil
		}
		if err != nil {
			r.l.refuse(ps.body, err)
			t.Logf("%-50s refused by SQS: %v", ps.name, err)
			continue
		}
		r.l.sent(ps.body)
		sentBody[ps.name] = ps.body
	}
	// Then ordinary traffic: the worker carries on.
	r.sendNow(t, 500, 71)
	r.waitDrained(t, 60*time.Second, p)
	hwm := vmHWM(p.cmd.Process.Pid)

	return func(t *testing.T, st settlement) {
		// Where each poison ended, and why.
		for _, ps := range poisons {
			body, ok := sentBody[ps.name]
			if !ok {
				continue
			}
			k, v := r.l.unitOf(body)
			pl := st.Places[k]
			where := "nowhere"
			switch {
			case pl == nil:
			case len(pl.items) == 1:
				it := pl.items[0]
				where = fmt.Sprintf("item status=%s reason=%.120q", str(it["status"]), str(it["reason"]))
				if str(it["status"]) == "failed" && str(it["reason"]) == "" {
					t.Errorf("%s: rejected without a reason", ps.name)
				}
			case len(pl.dlq) == 1:
				a := attrs(pl.dlq[0])
				e := a["error"]
				if i := strings.LastIndex(e, "api error "); i >= 0 {
					e = "…" + e[i:] // the telling end of an SDK error
				}
				where = fmt.Sprintf("DLQ outcome=%s error=%.160q rule=%s rule_position=%s", a["outcome"], e, a["rule"], a["rule_position"])
				switch {
				case len(a) == 0 && len(body) > 1<<20-64:
					// No room left under SQS's 1 MiB for any attribute: the reason is in the
					// worker's log line of the message.
					where += " (no room for attributes at SQS's size limit; the reason is logged)"
				case a["outcome"] == "" || a["error"] == "":
					t.Errorf("%s: dead-lettered without a reason: %v", ps.name, a)
				}
			}
			t.Logf("%-50s engine: %-11s → %s", ps.name, v.Outcome, where)
		}
		select {
		case <-p.done:
			t.Fatalf("the worker died: %v", p.err)
		default:
		}
		t.Logf("worker peak memory (VmHWM): %s", hwm)
		r.stop(t, p, "worker")
		for _, l := range p.lines("message") {
			if l["outcome"] == "panic" {
				t.Errorf("a panic: %v", l)
			}
		}
	}
}

// visibleCount returns the messages of a queue that a receive can get now.
func (s *e2eSetup) visibleCount(t testing.TB, url string) int {
	t.Helper()
	out, err := s.emu.SQSClient().GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	return n
}
