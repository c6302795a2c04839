package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"eventproc/adapters/awstest"
	"eventproc/engine"
	"eventproc/internal/fixture"
)

// TestEndToEndSNS runs the real binary end to end through fauxqs's SNS: `provision
// --topic` subscribes one queue with SNS's notifications (wrapped) and one with raw
// delivery, `send --via-topic` publishes events to the topic, `send --queue` sends the
// same events (same seed) straight to a third queue, and an `eventproc run` on each
// queue stores them in a table of its own. The three give the same items: the same
// keys, and for each the same status, type, version, event id, body and reason.
func TestEndToEndSNS(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	bin := binary(t)
	e := awstest.Start(t)
	env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_EC2_METADATA_DISABLED=true"}, fixture.AWSEnviron(e)...)
	exe := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		var out, errb bytes.Buffer
		cmd.Env, cmd.Stdout, cmd.Stderr, cmd.Dir = env, &out, &errb, t.TempDir()
		if err := cmd.Run(); err != nil {
			t.Fatalf("eventproc %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String()
	}
	const count, seed = "60", "5"
	setups := map[string]*e2eSetup{}
	for _, name := range []string{"direct", "wrapped", "rawsns"} {
		rules := rulesWithTable(t, "events_"+name)
		args := []string{"provision", "--rules", rules, "--queue", name, "--visibility", "30s"}
		switch name {
		case "wrapped":
			args = append(args, "--topic", "fanout")
		case "rawsns":
			args = append(args, "--topic", "fanout", "--raw-delivery")
		}
		out := exe(args...)
		if name != "direct" && !strings.Contains(out, "subscription of queue "+name+" to topic fanout: ") {
			t.Fatalf("provision printed:\n%s", out)
		}
		rs, diags := engine.Load(os.DirFS(rules))
		if rs == nil {
			t.Fatalf("rules: %v", diags)
		}
		if tables := rs.Tables(); len(tables) != 1 || tables[0].Name != "events_"+name {
			t.Fatalf("the rules of %s write to %v, want only events_%s", name, tables, name)
		}
		q, err := e.SQSClient().GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		setups[name] = &e2eSetup{emu: e, rs: rs, rules: rules, queueURL: aws.ToString(q.QueueUrl), env: env}
	}
	shipped, err := filepath.Abs("events.d")
	if err != nil {
		t.Fatal(err)
	}
	sendArgs := []string{"send", "--rules", shipped, "--count", count, "--invalid", "0.2", "--seed", seed, "--attribute", "via=e2e"}
	exe(append(sendArgs, "--via-topic", "fanout")...)
	exe(append(sendArgs, "--queue", "direct")...)

	items := map[string]map[string]map[string]ddbtypes.AttributeValue{}
	procs := map[string]*proc{}
	for name, s := range setups {
		procs[name] = s.run(t, bin, env)
	}
	for name, s := range setups {
		waitUntil(t, name+": every event stored", 90*time.Second, procs[name], func() bool {
			return len(s.items(t)) >= 60 && s.queueCount(t, s.queueURL) == 0
		})
		if code := procs[name].stop(t, 20*time.Second); code != 0 {
			t.Errorf("%s: exit %d after SIGTERM", name, code)
		}
		items[name] = map[string]map[string]ddbtypes.AttributeValue{}
		for _, it := range s.items(t) {
			items[name][str(it["pk"])] = it
		}
	}
	want := items["direct"]
	statuses := map[string]int{}
	for _, it := range want {
		statuses[str(it["status"])]++
	}
	if len(want) != 60 || statuses["processed"] != 48 || statuses["failed"] != 12 {
		t.Fatalf("sent straight to a queue: %d items, statuses %v; want 60: 48 processed, 12 failed", len(want), statuses)
	}
	for _, name := range []string{"rawsns", "wrapped"} {
		got := items[name]
		if len(got) != len(want) {
			t.Errorf("%s: %d items, want %d; by status and reason: %v", name, len(got), len(want), byReason(got))
		}
		var missing []string
		for pk, x := range want {
			y, ok := got[pk]
			if !ok {
				missing = append(missing, pk)
				continue
			}
			for _, attr := range []string{"status", "event_type", "schema_version", "event_id", "body", "reason"} {
				if !reflect.DeepEqual(x[attr], y[attr]) {
					t.Errorf("%s: item %s: %s differs: %#v, want %#v", name, pk, attr, y[attr], x[attr])
				}
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			t.Errorf("%s: %d of the %d items are missing, such as %s; its items by status and reason: %v",
				name, len(missing), len(want), strings.Join(missing[:min(3, len(missing))], ", "), byReason(got))
		}
	}
}

// byReason counts items by status and reason.
func byReason(items map[string]map[string]ddbtypes.AttributeValue) map[string]int {
	out := map[string]int{}
	for _, it := range items {
		out[str(it["status"])+": "+str(it["reason"])]++
	}
	return out
}

// rulesWithTable is a copy of events.d that writes valid and rejected events to the
// table named table.
func rulesWithTable(t *testing.T, table string) string {
	t.Helper()
	dir := fixture.CopyEventsD(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out := regexp.MustCompile(`(?m)(table: )events\b`).ReplaceAllString(string(data), "${1}"+table)
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
