package e2e

import (
	"bytes"
	"context"
	"errors"
	"eventproc/internal/fixture"
	"os"
	"os/exec"
	"strings"
	"testing"

	"eventproc/adapters/awstest"
	"eventproc/adapters/dynamotable"
	"eventproc/adapters/sqsqueue"
	"eventproc/worker"
)

// TestDemoCheck runs the demo's closing check (scripts/demo-check.sh) against the
// emulators: it holds on a balanced state, and fails, saying why, when the tables
// gained more or fewer items than the events sent, or when the queue or its dead-letter
// queue still holds a message.
func TestDemoCheck(t *testing.T) {
	e := awstest.Start(t)
	environ := fixture.AWSEnviron(e)
	queue := awstest.UniqueName("demo")
	if code, _, errs := runCmd(t, environ, "provision", "--queue", queue); code != 0 {
		t.Fatalf("provision = %d: %s", code, errs)
	}
	bin := binary(t)
	script := func(args ...string) (code int, stdout, stderr string) {
		t.Helper()
		cmd := exec.Command("bash", append([]string{"scripts/demo-check.sh"}, args...)...)
		cmd.Env = append(environ, "BIN_EVENTPROC="+bin, "PATH="+os.Getenv("PATH"))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}

	if code, out, errs := script("items"); code != 0 || out != "0\n0\n" {
		t.Fatalf("items on empty tables = %d %q: %s", code, out, errs)
	}
	items := []worker.Item{
		{Table: "events", Key: map[string]string{"pk": "a"}, Attrs: map[string]any{"status": "processed"}},
		{Table: "events", Key: map[string]string{"pk": "b"}, Attrs: map[string]any{"status": "failed"}},
	}
	for _, err := range dynamotable.New(e.DynamoDBClient(), dynamotable.Options{}).Put(context.Background(), items) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if code, out, errs := script("items"); code != 0 || out != "2\n1\n" {
		t.Fatalf("items = %d %q: %s", code, out, errs)
	}
	if code, out, errs := script("claim", queue, "0", "2"); code != 0 || !strings.Contains(out, "demo: claim holds: 2 distinct events, 2 new items") {
		t.Errorf("a balanced state = %d:\n%s%s", code, out, errs)
	}
	if code, out, errs := script("claim", queue, "0", "2", "0", "1"); code != 0 || !strings.Contains(out, "demo: claim holds: 2 distinct events, 2 new items (1 failed: the invalid ones)") {
		t.Errorf("a balanced state, failed items counted = %d:\n%s%s", code, out, errs)
	}
	if code, _, errs := script("claim", queue, "0", "2", "0", "2"); code != 1 || !strings.Contains(errs, "2 of the events were invalid, but the tables gained 1 failed items (0 before, 1 after)") {
		t.Errorf("more invalid events than failed items: claim = %d, want 1:\n%s", code, errs)
	}
	// Unbalanced: more events than items, then items before that were not counted.
	for _, c := range []struct{ before, events, want string }{
		{"0", "3", "3 distinct events were sent, but the tables gained 2 items (0 before, 2 after)"},
		{"1", "2", "2 distinct events were sent, but the tables gained 1 items (1 before, 2 after)"},
	} {
		code, _, errs := script("claim", queue, c.before, c.events)
		if code != 1 || !strings.Contains(errs, "demo: CLAIM FAILED:") || !strings.Contains(errs, c.want) {
			t.Errorf("claim %s %s = %d, want 1 and %q:\n%s", c.before, c.events, code, c.want, errs)
		}
	}

	// A message left in the queue, then one in its dead-letter queue.
	api := e.SQSClient()
	for _, name := range []string{queue, sqsqueue.DeadLetterName(queue)} {
		url, err := sqsqueue.ResolveURL(context.Background(), api, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sqsqueue.SendBatch(context.Background(), api, url, []string{"left over"}, 0); err != nil {
			t.Fatal(err)
		}
		code, _, errs := script("claim", queue, "0", "2")
		want := "queue " + queue + " is not empty: queue " + queue + " "
		if name != queue {
			want = "dead-letter queue " + name + " is not empty: dead-letter queue " + name + " "
		}
		if code != 1 || !strings.Contains(errs, want) || !strings.Contains(errs, "visible 1") {
			t.Errorf("a message in %s: claim = %d, want 1 and %q:\n%s", name, code, want, errs)
		}
	}
	if code, _, errs := script("claim", queue); code != 2 {
		t.Errorf("claim without its arguments = %d, want 2: %s", code, errs)
	}
}
