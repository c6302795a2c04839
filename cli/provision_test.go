package cli

import (
	"bytes"
	"context"
	"eventproc/internal/fixture"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"eventproc/adapters/awstest"
	"eventproc/adapters/dynamotable"
	"eventproc/adapters/sqsqueue"
	"eventproc/engine"
	"eventproc/worker"
)

func runCmd(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, environ, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestProvisionSendStats(t *testing.T) {
	e := awstest.Start(t)
	environ := fixture.AWSEnviron(e)
	queue := awstest.UniqueName("events")

	code, out, errs := runCmd(t, environ, "provision", "--queue", queue, "--visibility", "30s")
	if code != 0 {
		t.Fatalf("provision = %d: %s", code, errs)
	}
	if !strings.Contains(out, "table events (key pk): created") || !strings.Contains(out, "queue "+queue+": ") {
		t.Errorf("provision printed:\n%s", out)
	}
	code, out, errs = runCmd(t, environ, "provision", "--queue", queue, "--visibility", "30s")
	if code != 0 || !strings.Contains(out, "table events (key pk): exists") {
		t.Fatalf("provision again = %d:\n%s%s", code, out, errs)
	}

	code, out, errs = runCmd(t, environ, "send", "--queue", queue, "--count", "53", "--invalid", "0.3", "--seed", "42")
	if code != 0 {
		t.Fatalf("send = %d: %s", code, errs)
	}
	if !regexp.MustCompile(`^sent 53 messages \(37 valid, 16 invalid\) of order\.placed v1, .*user\.created v2 to http`).MatchString(out) {
		t.Errorf("send printed %q", out)
	}

	// What arrived: 53 distinct event ids, 37 valid and 16 invalid verdicts, every type and version.
	rs, diags := engine.Load(os.DirFS("events.d"))
	if rs == nil {
		t.Fatalf("load events.d: %v", diags)
	}
	url, err := sqsqueue.ResolveURL(context.Background(), e.SQSClient(), queue, 0)
	if err != nil {
		t.Fatal(err)
	}
	src := sqsqueue.New(e.SQSClient(), url, sqsqueue.Options{WaitTime: time.Second})
	ids := map[string]bool{}
	kinds := map[string]int{}
	valid := 0
	var got []worker.Message
	for deadline := time.Now().Add(15 * time.Second); len(got) < 53 && time.Now().Before(deadline); {
		ms, err := src.Receive(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ms...)
	}
	for _, m := range got {
		v := rs.Evaluate(context.Background(), m.Body)
		if v.Outcome == engine.Valid {
			valid++
			kinds[v.EventType+" "+v.Version]++
			ids[v.EventID] = true
		}
	}
	if len(got) != 53 || valid != 37 {
		t.Errorf("received %d messages, %d valid; want 53, 37", len(got), valid)
	}
	if len(ids) != valid {
		t.Errorf("%d distinct event ids in %d valid messages", len(ids), valid)
	}
	// send sends what generate prints for the same flags.
	_, generated, _ := runCmd(t, environ, "generate", "--count", "53", "--invalid", "0.3", "--seed", "42")
	var bodies []string
	for _, m := range got {
		bodies = append(bodies, m.Body)
	}
	want := strings.Split(strings.TrimSuffix(generated, "\n"), "\n")
	slices.Sort(bodies)
	slices.Sort(want)
	if !slices.Equal(bodies, want) {
		t.Errorf("send --seed 42 sent other messages than generate --seed 42 prints")
	}
	for _, ty := range rs.Types() {
		for _, v := range ty.Versions {
			if kinds[ty.Name+" "+v] == 0 {
				t.Errorf("no valid %s %s sent", ty.Name, v)
			}
		}
	}

	// stats: items by type, version and status, and the depths.
	items := []worker.Item{
		{Table: "events", Key: map[string]string{"pk": "a"}, Attrs: map[string]any{"event_type": "order.placed", "schema_version": "v1", "status": "processed"}},
		{Table: "events", Key: map[string]string{"pk": "b"}, Attrs: map[string]any{"event_type": "order.placed", "schema_version": "v1", "status": "processed"}},
		{Table: "events", Key: map[string]string{"pk": "c"}, Attrs: map[string]any{"status": "failed"}},
	}
	for _, err := range dynamotable.New(e.DynamoDBClient(), dynamotable.Options{}).Put(context.Background(), items) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if code, _, errs := runCmd(t, environ, "send", "--queue", "no-such-queue", "--count", "1"); code != 1 || !strings.Contains(errs, "no-such-queue") {
		t.Errorf("send to a missing queue = %d: %s", code, errs)
	}

	var sout, serr bytes.Buffer
	env := &cmdEnv{stdin: strings.NewReader(""), stdout: &sout, stderr: &serr, environ: environ}
	if code := cmdStats(context.Background(), env, []string{"--queue", queue}); code != 0 {
		t.Fatalf("stats = %d: %s", code, serr.String())
	}
	for _, want := range []string{
		`(?m)^table events$`,
		`(?m)^  order\.placed +v1 +processed +2$`,
		`(?m)^  - +- +failed +1$`,
		`(?m)^  total +3$`,
		`(?m)^queue ` + regexp.QuoteMeta(queue) + ` +visible 0 +in flight 53 +delayed 0$`,
		`(?m)^dead-letter queue ` + regexp.QuoteMeta(queue) + `-dlq +visible 0 +in flight 0 +delayed 0$`,
	} {
		if !regexp.MustCompile(want).MatchString(sout.String()) {
			t.Errorf("stats output lacks %s:\n%s", want, sout.String())
		}
	}
}

func TestAWSCommandUsage(t *testing.T) {
	environ := []string{"AWS_REGION=us-east-1"}
	for _, args := range [][]string{
		{"provision", "--max-receive", "3"},  // not above max attempts
		{"provision", "--visibility", "13h"}, // beyond SQS's limit
		{"provision", "extra"},               // stray argument
		{"send", "--count", "1"},             // no queue
		{"send", "--queue", "q"},             // no count
		{"send", "--queue", "q", "--count", "1", "--invalid", "1.5"},
		{"send", "--queue", "q", "--count", "1", "--type", "nope"},
		{"send", "--queue", "q", "--count", "1", "--type", "order.placed", "--version", "v9"},
		{"send", "--bogus"},
	} {
		if code, _, errs := runCmd(t, environ, args...); code != 2 {
			t.Errorf("%v = %d, want 2 (%s)", args, code, errs)
		}
	}
	var out, errb bytes.Buffer
	env := &cmdEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environ: environ}
	if code := cmdStats(context.Background(), env, []string{"stray"}); code != 2 {
		t.Errorf("stats stray = %d, want 2", code)
	}
}
