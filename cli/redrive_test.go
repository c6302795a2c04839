package cli

import (
	"context"
	"eventproc/internal/fixture"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"eventproc/adapters/awstest"
	"eventproc/adapters/sqsqueue"
	"eventproc/worker"
)

// TestRedriveUsage: usage errors exit 2 before any AWS call.
func TestRedriveUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"redrive"}, "--queue is required"},
		{[]string{"redrive", "--queue", "q", "--limit", "-1"}, "--limit must not be negative"},
		{[]string{"redrive", "--queue", "q", "extra"}, "unexpected argument"},
		{[]string{"redrive", "--bogus"}, "flag provided but not defined"},
	} {
		code, _, errOut := runCLI(t, "", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
	if code, _, errOut := runCLI(t, "", "redrive", "-h"); code != 0 || !strings.Contains(errOut, "--dry-run") {
		t.Errorf("redrive -h: exit %d, %q", code, errOut)
	}
}

func TestFormatAttrs(t *testing.T) {
	got := formatAttrs(map[string]string{"error": "retryable: boom", "outcome": "exhausted", "zz": "1", "attempts": "3"})
	want := ` outcome=exhausted attempts=3 error="retryable: boom" zz=1`
	if got != want {
		t.Errorf("formatAttrs = %q, want %q", got, want)
	}
}

// TestRedriveCommand: the filters, the limit and the dry run of eventproc redrive on the
// emulators; the DLQ found from the queue's redrive policy.
func TestRedriveCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("emulators")
	}
	e := awstest.Start(t)
	environ := fixture.AWSEnviron(e)
	queue := awstest.UniqueName("events")
	if code, _, errs := runCmd(t, environ, "provision", "--queue", queue); code != 0 {
		t.Fatalf("provision: %s", errs)
	}
	c := sqs.NewFromConfig(e.Config)
	url, err := sqsqueue.ResolveURL(context.Background(), c, queue, 0)
	if err != nil {
		t.Fatal(err)
	}
	dl := sqsqueue.NewDeadLetter(c, sqsqueue.DeadLetterOptions{})
	for i := range 9 {
		typ := []string{"order.placed", "user.created", "payment.processed"}[i%3]
		outcome := "exhausted"
		if i == 0 {
			outcome = "rule_failed"
		}
		attrs := map[string]string{"outcome": outcome, "event_type": typ, "attempts": "5",
			"error": fmt.Sprintf("retryable: batch write: %s %d", map[bool]string{true: "throttled", false: "timeout"}[i%2 == 0], i)}
		if err := dl.Send(context.Background(), url, worker.Message{ID: fmt.Sprint(i), Body: fmt.Sprintf(`{"n":%d}`, i)}, attrs); err != nil {
			t.Fatal(err)
		}
	}
	depth := func(u string) int {
		d, err := sqsqueue.QueueDepth(context.Background(), c, u, 0)
		if err != nil {
			t.Fatal(err)
		}
		return d.Visible + d.InFlight + d.Delayed
	}
	dlq := strings.TrimSuffix(url, queue) + sqsqueue.DeadLetterName(queue)

	code, out, errs := runCmd(t, environ, "redrive", "--queue", queue, "--dry-run", "--type", "order.placed")
	if code != 0 || strings.Count(out, "would move ") != 3 || !strings.Contains(out, "outcome=rule_failed") ||
		!strings.Contains(errs, "3 matched, 0 moved") {
		t.Errorf("dry run by type: exit %d\n%s%s", code, out, errs)
	}
	if depth(url) != 0 || depth(dlq) != 9 {
		t.Errorf("a dry run moved messages: queue %d, DLQ %d", depth(url), depth(dlq))
	}
	code, out, errs = runCmd(t, environ, "redrive", "--queue", queue, "--outcome", "exhausted", "--reason", "throttled", "--limit", "3")
	if code != 0 || strings.Count(out, "moving ") != 3 || strings.Contains(out, "timeout") || strings.Contains(out, "rule_failed") {
		t.Errorf("by outcome and reason, limit 3: exit %d\n%s%s", code, out, errs)
	}
	if depth(url) != 3 || depth(dlq) != 6 {
		t.Errorf("after moving 3: queue %d, DLQ %d", depth(url), depth(dlq))
	}
	code, out, errs = runCmd(t, environ, "redrive", "--queue", url, "--dlq", sqsqueue.DeadLetterName(queue))
	if code != 0 || strings.Count(out, "moving ") != 6 || depth(dlq) != 0 || depth(url) != 9 {
		t.Errorf("the rest: exit %d, queue %d, DLQ %d\n%s%s", code, depth(url), depth(dlq), out, errs)
	}
}

// TestRedriveCommandFIFO: on a FIFO queue, provision makes a FIFO dead-letter queue, and
// redrive moves its dead letters back in their groups, each group in its order.
func TestRedriveCommandFIFO(t *testing.T) {
	e := awstest.Start(t)
	environ := fixture.AWSEnviron(e)
	queue := awstest.UniqueName("orders") + ".fifo"
	if code, _, errs := runCmd(t, environ, "provision", "--queue", queue); code != 0 {
		t.Fatalf("provision: %s", errs)
	}
	c := sqs.NewFromConfig(e.Config)
	ctx := context.Background()
	url, err := sqsqueue.ResolveURL(ctx, c, queue, 0)
	if err != nil {
		t.Fatal(err)
	}
	dl := sqsqueue.NewDeadLetter(c, sqsqueue.DeadLetterOptions{})
	want := map[string][]string{}
	for i := range 3 {
		for _, g := range []string{"tenant-1", "tenant-2"} {
			body := fmt.Sprintf(`{"tenant":%q,"n":%d}`, g, i)
			attrs := map[string]string{"outcome": "exhausted", "event_type": "order.placed", "error": "retryable: throttled"}
			if err := dl.Send(ctx, url, worker.Message{ID: fmt.Sprint(g, i), Body: body, GroupID: g}, attrs); err != nil {
				t.Fatal(err)
			}
			want[g] = append(want[g], body)
		}
	}
	code, out, errs := runCmd(t, environ, "redrive", "--queue", queue)
	if code != 0 || strings.Count(out, "moving ") != 6 || !strings.Contains(errs, "6 moved") {
		t.Fatalf("redrive: exit %d\n%s%s", code, out, errs)
	}
	src := sqsqueue.New(c, url, sqsqueue.Options{WaitTime: time.Second})
	got := map[string][]string{}
	for n, deadline := 0, time.Now().Add(15*time.Second); n < 6 && time.Now().Before(deadline); {
		msgs, err := src.Receive(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got[m.GroupID] = append(got[m.GroupID], m.Body)
		}
		n += len(msgs)
		if _, err := src.Ack(ctx, msgs); err != nil {
			t.Fatal(err)
		}
	}
	for g, bodies := range want {
		if !slices.Equal(got[g], bodies) {
			t.Errorf("group %s back as %v, want %v", g, got[g], bodies)
		}
	}
}
