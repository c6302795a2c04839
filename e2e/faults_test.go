package e2e

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"eventproc/engine"
)

// The fault scripts of the reliability table that go beyond a crash: an outage longer
// than the retry budget (alone and after a crash), a throttling storm and SQS errors
// injected by a faultProxy, and two producers that send different payloads under one
// key.

// retryBudget is the sum of a policy's delays: how long a message failing every attempt
// stays in play before its attempts are spent (each failing attempt's own time aside).
func retryBudget(p engine.RetryPolicy) time.Duration {
	var d time.Duration
	for a := 1; a < p.MaxAttempts; a++ {
		d += p.Delay(a, 0)
	}
	return d
}

// tableDown stops dynalite and starts it again d after it stopped; during, when not nil,
// is the fault script's work during the outage; the worker p, when not nil, must live
// through it.
func (r *rig) tableDown(t *testing.T, d time.Duration, p *proc, during func()) {
	t.Helper()
	if err := r.emu.DynamoDB.Stop(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	if during != nil {
		during()
	}
	time.Sleep(time.Until(down.Add(d)))
	if p != nil {
		select {
		case <-p.done:
			t.Fatalf("the worker exited during the table outage: %v", p.err)
		default:
		}
	}
	if err := r.emu.DynamoDB.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("DynamoDB down for %v (retry budget: %d attempts over %v of delays)", time.Since(down).Round(100*time.Millisecond),
		r.policy.MaxAttempts, retryBudget(r.policy))
}

// outcomeCounts counts the outcomes logged by procs.
func outcomeCounts(procs ...*proc) map[string]int {
	n := map[string]int{}
	for _, outs := range outcomesByMessage(procs...) {
		for _, o := range outs {
			n[o]++
		}
	}
	return n
}

// tableOutage3x: DynamoDB stays down three times the retry budget while events flow;
// the outage is the table's fault, not the messages': nothing is dead-lettered, and the
// backlog drains once it is back.
func tableOutage3x(t *testing.T, r *rig) func(*testing.T, settlement) {
	p := r.worker(t, nil)
	sent := r.sendAsync(t, 1500, 50, 31, 25) // a minute of traffic, through the outage
	r.stored(t, 200, p)
	r.tableDown(t, 3*retryBudget(r.policy), p, nil)
	back := time.Now()
	sendDone(t, sent, 120*time.Second)
	r.waitDrained(t, 180*time.Second, p)
	t.Logf("backlog drained %v after the table came back", time.Since(back).Round(100*time.Millisecond))
	r.stop(t, p, "worker")
	return func(t *testing.T, _ settlement) { t.Logf("outcomes logged: %v", outcomeCounts(p)) }
}

// crashThenOutage: kill -9 with about a thousand messages in flight, then DynamoDB down
// three times the retry budget while a new worker takes the redelivered messages; none
// of them ends both stored (by the dead worker's last writes) and dead-lettered.
func crashThenOutage(t *testing.T, r *rig) func(*testing.T, settlement) {
	r.sendNow(t, 3000, 81)
	p := r.worker(t, nil, "--visibility-timeout", "5s")
	r.stored(t, 400, p)
	p.cmd.Process.Kill() // SIGKILL: no drain, no flush
	<-p.done
	t.Logf("killed with %d items stored and %d messages in flight", r.itemCount(t), r.queueCount(t, r.queueURL)-r.visibleCount(t, r.queueURL))
	var p2 *proc
	r.tableDown(t, 3*retryBudget(r.policy), nil, func() { p2 = r.worker(t, nil, "--visibility-timeout", "5s") })
	r.waitDrained(t, 180*time.Second, p2)
	r.stop(t, p2, "restarted worker")
	return func(t *testing.T, st settlement) {
		t.Logf("outcomes logged by the restarted worker: %v; messages settled by both: %d", outcomeCounts(p2), settledTwice(p, p2))
	}
}

// throttlingStorm: half the table writes answered ProvisionedThroughputExceededException
// for stormLength while events flow, then none; the SDK retries each call up to 4
// attempts, the worker retries what still fails, and a policy of enough attempts ends
// with nothing dead-lettered.
func throttlingStorm(t *testing.T, r *rig) func(*testing.T, settlement) {
	const stormLength = 30 * time.Second
	rule := throttleWrites
	rule.fraction = 0.5
	proxy := newFaultProxy(t, r.emu.DynamoDB.Endpoint, rule)
	p := r.worker(t, withEnv(r.env, "AWS_ENDPOINT_URL_DYNAMODB="+proxy.url))
	sent := r.sendAsync(t, 3000, 100, 91, 100)
	r.stored(t, 200, p)
	proxy.on.Store(true)
	time.Sleep(stormLength)
	proxy.on.Store(false)
	t.Logf("throttling storm of %v over DynamoDB writes: %v", stormLength, proxy)
	sendDone(t, sent, 60*time.Second)
	r.waitDrained(t, 120*time.Second, p)
	r.stop(t, p, "worker")
	return func(t *testing.T, st settlement) {
		oc := outcomeCounts(p)
		t.Logf("outcomes logged: %v; dead letters: %d", oc, st.DLQ)
		if proxy.faults.Load() == 0 || oc["retry"] == 0 {
			t.Errorf("the storm touched nothing: %d faults injected, %d retries", proxy.faults.Load(), oc["retry"])
		}
	}
}

// sqs500: 40 % of every SQS call of the worker (receives, deletes, visibility changes,
// dead letters) answered 500 InternalError for the whole run; nothing is lost, and a
// message redelivered after a failed delete is written again idempotently. (The SDK
// tries each call up to 3 times, so 40 % fails about 6 % of calls through to the worker;
// at 20 %, 0.8 % get through and a run saw no redelivery at all.)
func sqs500(t *testing.T, r *rig) func(*testing.T, settlement) {
	rule := sqsInternalError
	rule.fraction = 0.4
	proxy := newFaultProxy(t, r.emu.SQS.Endpoint, rule)
	p := r.worker(t, withEnv(r.env, "AWS_ENDPOINT_URL_SQS="+proxy.url), "--visibility-timeout", "10s")
	waitUntil(t, "worker started", 10*time.Second, p, func() bool { return len(p.lines("worker started")) > 0 })
	proxy.on.Store(true)
	sendDone(t, r.sendAsync(t, 3000, 100, 101, 200), 60*time.Second)
	r.waitDrained(t, 120*time.Second, p)
	proxy.on.Store(false)
	t.Logf("SQS answering 500 to %.0f %% of calls: %v", 100*rule.fraction, proxy)
	r.stop(t, p, "worker")
	return func(t *testing.T, st settlement) {
		t.Logf("outcomes logged: %v; messages settled twice (redelivered, rewritten idempotently): %d; receive failures logged: %d",
			outcomeCounts(p), settledTwice(p), len(p.lines("receive failed")))
		if proxy.faults.Load() == 0 {
			t.Errorf("no fault injected")
		}
	}
}

// clientID finds an event's client_id member, for a second producer to change.
var clientID = regexp.MustCompile(`"client_id":"([^"]*)"`)

// conflicting returns, for up to n valid events of bodies, another valid payload under
// the same key (another client_id): a second producer reusing the event ids.
func conflicting(t *testing.T, l *ledger, bodies []string, n int) []string {
	t.Helper()
	var out []string
	for _, b := range bodies {
		if len(out) == n {
			break
		}
		k, v := l.itemOf(b)
		if v.Outcome != engine.Valid || !clientID.MatchString(b) {
			continue
		}
		other := clientID.ReplaceAllString(b, `"client_id":"${1}-producer-b"`)
		if k2, v2 := l.itemOf(other); v2.Outcome == engine.Valid && k2 == k {
			out = append(out, other)
		}
	}
	if len(out) < n {
		t.Fatalf("%d conflicting payloads made, want %d", len(out), n)
	}
	return out
}

// conflictingKeys is how many of the second producer's events reuse a key of the first.
const conflictingKeys = 200

// conflictingProducers: two producers send at once, and conflictingKeys of the second
// one's events reuse an event id of the first with another payload; for each such key
// one item is kept and the other payload is dead-lettered as outcome conflict (the
// scenario's row expects that many conflicts).
func conflictingProducers(t *testing.T, r *rig) func(*testing.T, settlement) {
	a := mixed(t, r.rs, 1500, 0, 111)
	b := append(conflicting(t, r.l, a, conflictingKeys), mixed(t, r.rs, 500, 0, 112)...)
	p := r.worker(t, nil)
	sq := r.emu.SQSClient()
	sa := r.l.sendAsync(sq, r.queueURL, a, 300)
	sb := r.l.sendAsync(sq, r.queueURL, b, 100)
	sendDone(t, sa, 60*time.Second)
	sendDone(t, sb, 60*time.Second)
	r.waitDrained(t, 120*time.Second, p)
	r.stop(t, p, "worker")
	return func(t *testing.T, st settlement) { t.Logf("outcomes logged: %v", outcomeCounts(p)) }
}

// redriveAfterFix: a rule with a bug dead-letters some orders as rule_failed; the rule
// is fixed (the files rewritten, SIGHUP) and `eventproc redrive` lists the dead letters
// with their reasons and moves them back; the worker stores them and the DLQ ends empty.
func redriveAfterFix(t *testing.T, r *rig) func(*testing.T, settlement) {
	bodies := mixed(t, r.rs, 1000, 0, 121)
	bugged := 0
	for i, b := range bodies {
		if strings.Contains(b, `"event_type":"order.placed"`) && strings.Contains(b, `"schema_version":"v1"`) && bugged < 100 {
			if v := r.rs.Evaluate(context.Background(), strings.Replace(b, `"order_id":"`, `"order_id":"div-by-zero-`, 1)); v.Outcome == engine.RuleFailed {
				bodies[i] = strings.Replace(b, `"order_id":"`, `"order_id":"div-by-zero-`, 1)
				bugged++
			}
		}
	}
	p := r.worker(t, nil)
	if err := r.l.send(context.Background(), r.emu.SQSClient(), r.queueURL, bodies, 0); err != nil {
		t.Fatal(err)
	}
	r.waitDrained(t, 60*time.Second, p)
	before := r.settle(t, "a rule bug, before redrive")
	if before.DLQ != bugged {
		t.Errorf("%d dead letters, want the %d events the bug fails", before.DLQ, bugged)
	}
	for _, pl := range before.Places {
		for _, m := range pl.dlq {
			if a := attrs(m); a["outcome"] != "rule_failed" || a["rule"] != "divides-by-zero" || a["error"] == "" || a["rule_position"] == "" {
				t.Errorf("dead letter without its reasons: %v", a)
			}
		}
	}

	// The fix: the rules without the bug, reloaded.
	writeRules(t, r.rules, r.policy, nil)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, "rules reloaded", 20*time.Second, p, func() bool { return len(p.lines("rules reloaded: new messages use them")) > 0 })
	fixed, diags := engine.Load(os.DirFS(r.rules))
	if fixed == nil {
		t.Fatalf("the fixed rules do not load: %v", diags)
	}
	r.l.rejudge(fixed)
	r.redriveAll(t, p, before.DLQ)
	r.waitDrained(t, 60*time.Second, p)
	r.stop(t, p, "worker")
	return nil
}

// redriveAll lists the want dead letters with `eventproc redrive --dry-run`, then moves
// them all back to the queue, while the worker p runs.
func (r *rig) redriveAll(t *testing.T, p *proc, want int) {
	t.Helper()
	redrive := func(args ...string) string {
		cmd := exec.Command(r.bin, append([]string{"redrive", "--queue", "events"}, args...)...)
		cmd.Env = r.env
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("redrive %v: %v\n%s", args, err, errOut.String())
		}
		t.Logf("redrive %v: %s", args, strings.TrimSpace(errOut.String()))
		return out.String()
	}
	// Every dead letter visible again before the redrive reads them (the ledger's look
	// at the queue holds each message for a moment).
	waitUntil(t, "dead letters visible", 90*time.Second, p, func() bool { return r.visibleCount(t, r.dlqURL) == want })
	lines := strings.Split(strings.TrimSpace(redrive("--dry-run")), "\n")
	if len(lines) != want || !strings.Contains(lines[0], "outcome=") || !strings.Contains(lines[0], "error=") {
		t.Errorf("dry run listed %d lines, want %d with reasons; first: %s", len(lines), want, lines[0])
	}
	t.Logf("dry run, first line: %s", lines[0])
	waitUntil(t, "dead letters visible after the dry run", 90*time.Second, p, func() bool { return r.visibleCount(t, r.dlqURL) == want })
	// Redrive is at least once: a receive cut short hides its messages for the hold
	// time, and the next run moves them. Run it until the dead-letter queue is empty.
	moved := 0
	for run := 0; run < 5 && (run == 0 || r.queueCount(t, r.dlqURL) > 0); run++ {
		if run > 0 {
			waitUntil(t, "held dead letters visible again", 30*time.Second, p, func() bool {
				return r.visibleCount(t, r.dlqURL) == r.queueCount(t, r.dlqURL)
			})
		}
		moved += strings.Count(redrive("--hold", "5s"), "\n")
	}
	if moved != want {
		t.Errorf("redrive moved %d, want %d", moved, want)
	}
}
