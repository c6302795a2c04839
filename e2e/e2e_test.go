package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"eventproc/cli"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/sync/errgroup"

	"eventproc/adapters/awstest"
	"eventproc/engine"
)

// The end-to-end tests run the real binary as a subprocess against private emulators
// (fauxqs and dynalite from adapters/awstest/node_modules; a test fails, with the install
// command, when they are missing).

// e2eSetup is a private pair of emulators, provisioned by `eventproc provision` for a
// ruleset (queue "events", its DLQ, the tables), and the environment that points the
// binary at them.
type e2eSetup struct {
	emu      *awstest.Emulators
	rs       *engine.Ruleset
	rules    string
	queueURL string
	dlqURL   string
	env      []string
}

func newE2E(t testing.TB, bin, rules string, visibility time.Duration) *e2eSetup {
	t.Helper()
	rules, err := filepath.Abs(rules)
	if err != nil {
		t.Fatal(err)
	}
	rs, diags := engine.Load(os.DirFS(rules))
	if rs == nil {
		t.Fatalf("%s does not load: %v", rules, diags)
	}
	e := awstest.Start(t)
	s := &e2eSetup{emu: e, rs: rs, rules: rules}
	s.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"AWS_REGION=" + awstest.Region, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_SQS=" + e.SQS.Endpoint, "AWS_ENDPOINT_URL_DYNAMODB=" + e.DynamoDB.Endpoint,
	}
	// eventproc provision: the queue with its DLQ and redrive policy, and every table
	// the rules write to. The binary when given, else in process.
	args := []string{"provision", "--rules", rules, "--queue", "events", "--visibility", visibility.String()}
	var out bytes.Buffer
	if bin != "" {
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr, cmd.Dir = s.env, &out, &out, t.TempDir()
		if err := cmd.Run(); err != nil {
			t.Fatalf("eventproc provision: %v\n%s", err, out.String())
		}
	} else if code := cli.Run(context.Background(), args, s.env, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("eventproc provision: exit %d\n%s", code, out.String())
	}
	sq := e.SQSClient()
	for name, url := range map[string]*string{"events": &s.queueURL, "events-dlq": &s.dlqURL} {
		q, err := sq.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatalf("queue %s after provision: %v\n%s", name, err, out.String())
		}
		*url = aws.ToString(q.QueueUrl)
	}
	return s
}

// proc is a running `eventproc run`.
type proc struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
	err  error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (s *e2eSetup) run(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	args = append([]string{"run", "--queue-url", s.queueURL, "--rules", s.rules, "--http-addr", "127.0.0.1:0",
		"--log-format", "json", "--receive-wait", "1s", "--call-timeout", "3s"}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	p := &proc{cmd: cmd, logs: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("eventproc run log (tail):\n%s", tail(p.logs.String(), 60))
		}
	})
	return p
}

// stop sends SIGTERM and returns the exit code; it fails the test after timeout.
func (p *proc) stop(t *testing.T, timeout time.Duration) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("eventproc run did not exit within %v of SIGTERM", timeout)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// lines returns the decoded JSON log lines whose msg is msg.
func (p *proc) lines(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// send sends bodies to the queue, ten a call, several calls at once.
func (s *e2eSetup) send(t testing.TB, url string, bodies []string) {
	t.Helper()
	sq := s.emu.SQSClient()
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(8)
	for i := 0; i < len(bodies); i += 10 {
		chunk := bodies[i:min(i+10, len(bodies))]
		g.Go(func() error {
			in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(url)}
			for j, b := range chunk {
				in.Entries = append(in.Entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), MessageBody: aws.String(b)})
			}
			out, err := sq.SendMessageBatch(ctx, in)
			if err == nil && len(out.Failed) > 0 {
				err = fmt.Errorf("send: %d failed: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// queueCount returns the visible plus in-flight messages of a queue.
func (s *e2eSetup) queueCount(t testing.TB, url string) int {
	t.Helper()
	out, err := s.emu.SQSClient().GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		c, _ := strconv.Atoi(v)
		n += c
	}
	return n
}

// items scans every table of the ruleset.
func (s *e2eSetup) items(t testing.TB) []map[string]ddbtypes.AttributeValue {
	t.Helper()
	ddb := s.emu.DynamoDBClient()
	var out []map[string]ddbtypes.AttributeValue
	seen := map[string]bool{}
	for _, tbl := range s.rs.Tables() {
		if seen[tbl.Name] {
			continue
		}
		seen[tbl.Name] = true
		p := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: aws.String(tbl.Name)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page.Items...)
		}
	}
	return out
}

func str(av ddbtypes.AttributeValue) string {
	if s, ok := av.(*ddbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// waitUntil polls cond every 200 ms until it holds or timeout passes.
func waitUntil(t *testing.T, what string, timeout time.Duration, p *proc, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("eventproc run exited (%v) while waiting for %s", p.err, what)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// generate returns n events (valid or not) spread over every shipped type and version
// (or only the versions given), each with a distinct event id.
func generate(t testing.TB, rs *engine.Ruleset, n int, valid bool, seed uint64, versions ...string) []string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed+1))
	var kinds [][2]string
	for _, ti := range rs.Types() {
		for _, v := range ti.Versions {
			if len(versions) == 0 || slices.Contains(versions, v) {
				kinds = append(kinds, [2]string{ti.Name, v})
			}
		}
	}
	out := make([]string, 0, n)
	for i := range n {
		k := kinds[i%len(kinds)]
		body, err := rs.Generate(k[0], k[1], r, valid)
		if err != nil {
			t.Fatalf("generate %s %s: %v", k[0], k[1], err)
		}
		out = append(out, body)
	}
	return out
}

func header(t testing.TB, body string) (id, tenant string) {
	var h struct {
		ID     string `json:"event_id"`
		Tenant string `json:"tenant_id"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("generated body %q: %v", body, err)
	}
	return h.ID, h.Tenant
}

// TestEndToEnd: valid, invalid and duplicate events through the binary; one item per
// distinct valid event, one rejected item with reasons per distinct invalid body, an
// empty queue, exit 0 on SIGTERM.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	bin := binary(t)
	s := newE2E(t, bin, "events.d", 30*time.Second)
	valid := generate(t, s.rs, 300, true, 1)
	invalid := generate(t, s.rs, 30, false, 2)
	invalid = append(invalid, "not json", "[1,2,3]", `{"event_type":"nope"}`, `{}`)
	var bodies []string
	bodies = append(bodies, valid...)
	bodies = append(bodies, invalid...)
	bodies = append(bodies, valid[:30]...)  // duplicates of valid events
	bodies = append(bodies, invalid[:5]...) // and of invalid ones
	rand.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	s.send(t, s.queueURL, bodies[:len(bodies)/2])

	p := s.run(t, bin, s.env)
	s.send(t, s.queueURL, bodies[len(bodies)/2:]) // the rest while it runs
	distinctInvalid := map[string]bool{}
	for _, b := range invalid {
		distinctInvalid[b] = true
	}
	waitUntil(t, "every event stored", 90*time.Second, p, func() bool {
		return len(s.items(t)) >= len(valid)+len(distinctInvalid) && s.queueCount(t, s.queueURL) == 0
	})
	time.Sleep(500 * time.Millisecond) // anything still to come would show now
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}

	processed := map[string]int{}
	rejected := map[string]int{}
	for _, it := range s.items(t) {
		switch str(it["status"]) {
		case "processed":
			processed[str(it["pk"])]++
			if _, ok := it["body"].(*ddbtypes.AttributeValueMemberM); !ok {
				t.Errorf("item %s: body is %T, want a map", str(it["pk"]), it["body"])
			}
		case "failed":
			raw := str(it["raw_body"])
			rejected[raw]++
			if str(it["reason"]) == "" {
				t.Errorf("rejected item for %q has no reason", raw)
			}
		default:
			t.Errorf("item with status %q: %v", str(it["status"]), it)
		}
	}
	for _, b := range valid {
		id, tenant := header(t, b)
		if n := processed[tenant+"#"+id]; n != 1 {
			t.Errorf("event %s: %d items, want 1", id, n)
		}
	}
	if len(processed) != len(valid) {
		t.Errorf("%d processed items, want %d", len(processed), len(valid))
	}
	for b := range distinctInvalid {
		if rejected[b] != 1 {
			t.Errorf("invalid body %.60q: %d rejected items, want 1", b, rejected[b])
		}
	}
	if len(rejected) != len(distinctInvalid) {
		t.Errorf("%d rejected items, want %d", len(rejected), len(distinctInvalid))
	}
	if n := s.queueCount(t, s.queueURL); n != 0 {
		t.Errorf("%d messages left in the queue", n)
	}
	if n := s.queueCount(t, s.dlqURL); n != 0 {
		t.Errorf("%d messages in the DLQ, want 0", n)
	}
	// The queue's visibility timeout (30 s) is not the configured one (60 s): the worker
	// says so and extends at half the shorter.
	if l := p.lines("the queue's visibility timeout differs from visibility_timeout; extending at half the shorter"); len(l) != 1 {
		t.Errorf("visibility mismatch not reported: %v", l)
	}
	stopped := p.lines("stopped")
	if len(stopped) != 1 {
		t.Fatalf("no summary line")
	}
	t.Logf("summary: %v", stopped[0])
}

// shortRetryRules copies events.d with every retry policy made short and exact.
func shortRetryRules(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir("events.d")
	if err != nil {
		t.Fatal(err)
	}
	repl := []struct{ re, to string }{
		{`max_attempts: *\d+`, "max_attempts: 3"},
		{`initial_delay: *\S+`, "initial_delay: 1s"},
		{`multiplier: *\S+`, "multiplier: 2"},
		{`max_delay: *\S+`, "max_delay: 4s"},
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
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestEndToEndTableDown: with DynamoDB unreachable, outage detection switched off
// (--outage-min-failures: every failure is then taken for the message's own; with it
// on, an unreachable table is an outage and nothing is dead-lettered, as the reliability
// scenarios show) and a short retry policy, messages are retried after the policy's
// delays; out of attempts, their item cannot be looked up either (it might be stored),
// so they get two attempts more, then reach the DLQ with their reason attributes; the
// queue ends empty.
func TestEndToEndTableDown(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	bin := binary(t)
	s := newE2E(t, bin, shortRetryRules(t), 30*time.Second)
	want := engine.RetryPolicy{MaxAttempts: 3, InitialDelay: time.Second, Multiplier: 2, MaxDelay: 4 * time.Second}
	for _, ti := range s.rs.Types() {
		for _, v := range ti.Versions {
			if got := s.rs.Retry(ti.Name, v); got != want {
				t.Fatalf("retry of %s %s = %+v, want %+v", ti.Name, v, got, want)
			}
		}
	}
	bodies := generate(t, s.rs, 6, true, 3)
	s.send(t, s.queueURL, bodies)

	// DynamoDB's endpoint: a loopback port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	env := append(append([]string(nil), s.env...), "AWS_ENDPOINT_URL_DYNAMODB="+dead)
	p := s.run(t, bin, env, "--call-timeout", "2s", "--outage-min-failures", "100000")
	waitUntil(t, "every message dead-lettered", 60*time.Second, p, func() bool {
		return s.queueCount(t, s.dlqURL) == len(bodies) && s.queueCount(t, s.queueURL) == 0
	})
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}

	// The DLQ: every message once, with its reason attributes.
	sq := s.emu.SQSClient()
	got := map[string]map[string]string{}
	for range 20 {
		out, err := sq.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.dlqURL),
			MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			id, _ := header(t, aws.ToString(m.Body))
			attrs := map[string]string{}
			for k, v := range m.MessageAttributes {
				attrs[k] = aws.ToString(v.StringValue)
			}
			got[id] = attrs
		}
		if len(got) == len(bodies) {
			break
		}
	}
	for _, b := range bodies {
		id, _ := header(t, b)
		a, ok := got[id]
		if !ok {
			t.Errorf("event %s not in the DLQ", id)
			continue
		}
		if a["outcome"] != "exhausted" || a["attempts"] != "5" || a["event_id"] != id || a["event_type"] == "" ||
			a["schema_version"] == "" || !strings.Contains(a["error"], "look up item") || a["first_failure"] == "" || a["last_failure"] == "" {
			t.Errorf("event %s: DLQ attributes %v", id, a)
		}
	}

	// The retries: for each message, attempts 1 to 4 were retried after 1, 2, 4 and 4 s,
	// as logged, and the next attempt came no sooner than that.
	type attempt struct {
		n     int
		delay time.Duration
		at    time.Time
	}
	byMsg := map[string][]attempt{}
	for _, l := range p.lines("message") {
		at, _ := time.Parse(time.RFC3339Nano, l["time"].(string))
		d, _ := l["delay"].(float64)
		byMsg[l["message_id"].(string)] = append(byMsg[l["message_id"].(string)], attempt{int(l["attempt"].(float64)), time.Duration(d), at})
		if l["outcome"] == "retry" && !strings.Contains(fmt.Sprint(l["reason"]), "retryable") {
			t.Errorf("retry reason %v", l["reason"])
		}
	}
	if len(byMsg) != len(bodies) {
		t.Errorf("%d messages logged, want %d", len(byMsg), len(bodies))
	}
	for id, as := range byMsg {
		if len(as) != 5 {
			t.Errorf("message %s: %d outcomes logged, want 5: %+v", id, len(as), as)
			continue
		}
		for i, wantDelay := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
			if as[i].n != i+1 || as[i].delay != wantDelay {
				t.Errorf("message %s attempt %d: delay %v, want %v", id, as[i].n, as[i].delay, wantDelay)
			}
			// The next outcome is logged after the delay (the evaluation before it is quick,
			// the write attempt that fails takes its own time).
			if gap := as[i+1].at.Sub(as[i].at); gap < wantDelay-100*time.Millisecond {
				t.Errorf("message %s: attempt %d came %v after a %v delay", id, i+2, gap, wantDelay)
			}
		}
	}
}

// TestEndToEndSIGTERM: SIGTERM while events flow; exit 0; nothing lost (a second run
// stores the rest), nothing stored twice.
func TestEndToEndSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	bin := binary(t)
	s := newE2E(t, bin, "events.d", 3*time.Second)
	bodies := generate(t, s.rs, 2000, true, 4)
	s.send(t, s.queueURL, bodies)
	p := s.run(t, bin, s.env, "--visibility-timeout", "3s", "--grace-period", "10s")
	waitUntil(t, "some events stored", 60*time.Second, p, func() bool { return len(s.items(t)) >= 200 })
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	first := len(s.items(t))
	left := s.queueCount(t, s.queueURL)
	t.Logf("after SIGTERM: %d stored, %d left in the queue", first, left)
	if first+left < len(bodies) {
		t.Errorf("%d stored + %d queued < %d sent: messages lost", first, left, len(bodies))
	}
	if first == len(bodies) {
		t.Log("the first run stored everything before SIGTERM took effect")
	}
	p2 := s.run(t, bin, s.env, "--visibility-timeout", "3s")
	waitUntil(t, "the rest stored", 60*time.Second, p2, func() bool {
		return len(s.items(t)) >= len(bodies) && s.queueCount(t, s.queueURL) == 0
	})
	if code := p2.stop(t, 20*time.Second); code != 0 {
		t.Errorf("second run: exit code %d", code)
	}
	if n := len(s.items(t)); n != len(bodies) {
		t.Errorf("%d items, want %d", n, len(bodies))
	}
	// Stored twice would show as two "processed" outcomes of one event.
	seen := map[string]int{}
	for _, pr := range []*proc{p, p2} {
		for _, l := range pr.lines("message") {
			if l["outcome"] == "processed" {
				seen[l["event_id"].(string)]++
			}
		}
	}
	twice := 0
	for _, n := range seen {
		if n > 1 {
			twice++
		}
	}
	if twice > 0 || len(seen) != len(bodies) {
		t.Errorf("%d events processed, %d of them more than once; want %d, 0", len(seen), twice, len(bodies))
	}
}

// TestEndToEndMissingTable: a deployment error (the table does not exist) pauses intake
// without spending the messages' attempts or dead-lettering them, fails readiness, and
// the worker resumes by itself once the table exists. /readyz names the table.
func TestEndToEndMissingTable(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	bin := binary(t)
	s := newE2E(t, bin, "events.d", 30*time.Second)
	ddb := s.emu.DynamoDBClient()
	for _, tbl := range s.rs.Tables() {
		if _, err := ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(tbl.Name)}); err != nil {
			var nf *ddbtypes.ResourceNotFoundException
			if !errors.As(err, &nf) {
				t.Fatal(err)
			}
		}
	}
	bodies := generate(t, s.rs, 20, true, 5)
	s.send(t, s.queueURL, bodies)
	p := s.run(t, bin, s.env)
	waitUntil(t, "the pause", 30*time.Second, p, func() bool {
		return len(p.lines("deployment error: intake paused, not ready; the affected messages are held without using an attempt")) > 0
	})
	var addr string
	waitUntil(t, "the health address", 5*time.Second, p, func() bool {
		if l := p.lines("health endpoints"); len(l) > 0 {
			addr = l[0]["addr"].(string)
		}
		return addr != ""
	})
	readyz := func() int {
		code, _ := httpGet(t, addr, "/readyz")
		return code
	}
	if code, body := httpGet(t, addr, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "intake paused") ||
		!slices.ContainsFunc(s.rs.Tables(), func(tbl engine.Table) bool { return strings.Contains(body, " to "+tbl.Name+": ") }) {
		t.Errorf("/readyz = %d %q while paused, want 503 naming the table", code, body)
	}
	time.Sleep(2 * time.Second)
	if n := s.queueCount(t, s.dlqURL); n != 0 {
		t.Errorf("%d messages dead-lettered during a deployment error", n)
	}
	if n := s.queueCount(t, s.queueURL); n != len(bodies) {
		t.Errorf("%d messages in the queue, want all %d", n, len(bodies))
	}
	for _, l := range p.lines("message") {
		if l["outcome"] != "fatal" && l["outcome"] != "released" {
			t.Errorf("outcome %v during a deployment error", l["outcome"])
		}
		if d, _ := l["delay"].(float64); d != 0 {
			t.Errorf("a message was delayed %v during a deployment error", time.Duration(d))
		}
	}

	// Fix the deployment: the worker resumes by itself.
	cmd := exec.Command(bin, "provision", "--rules", s.rules, "--queue", "events", "--visibility", "30s")
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("provision: %v\n%s", err, out)
	}
	waitUntil(t, "every event stored after the fix", 60*time.Second, p, func() bool {
		return len(s.items(t)) == len(bodies) && s.queueCount(t, s.queueURL) == 0
	})
	waitUntil(t, "ready again", 10*time.Second, p, func() bool { return readyz() == http.StatusOK })
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}
