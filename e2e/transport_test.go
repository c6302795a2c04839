package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"eventproc/adapters/awstest"
	"eventproc/internal/fixture"
)

// snsCall makes one SNS Query API call on fauxqs (SNS and SQS share its port) and
// returns the response's XML.
func snsCall(t *testing.T, e *awstest.Emulators, form url.Values) string {
	t.Helper()
	resp, err := http.PostForm(e.SQS.Endpoint+"/", form)
	if err != nil {
		t.Fatalf("sns %s: %v", form.Get("Action"), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sns %s: %s: %s", form.Get("Action"), resp.Status, b)
	}
	return string(b)
}

// drain receives n messages from q and returns their bodies.
func drain(t *testing.T, e *awstest.Emulators, q awstest.Queue, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var bodies []string
	for len(bodies) < n {
		out, err := e.SQSClient().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatalf("receive from %s: %v (%d of %d)", q.Name, err, len(bodies), n)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
	return bodies
}

// validateBinary runs the real binary's validate on bodies (one a line) and returns its
// verdicts by event id, without their line number and topic, and the topics it named.
func validateBinary(t *testing.T, bodies []string, args ...string) (verdicts map[string]string, topics []string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "queue.ndjson")
	if err := os.WriteFile(file, []byte(strings.Join(bodies, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), append(append([]string{"validate"}, args...), file)...)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("validate %v: %v, want exit 1 (one event is invalid)\n%s", args, err, out)
	}
	verdicts = map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if topic, ok := v["topic_arn"].(string); ok {
			topics = append(topics, topic)
		}
		delete(v, "line")
		delete(v, "topic_arn")
		b, _ := json.Marshal(v)
		id, _ := v["event_id"].(string)
		verdicts[id] = string(b)
	}
	return verdicts, topics
}

// TestValidateSNSFromFauxqs: events published to a fauxqs SNS topic reach one queue
// wrapped in notifications and another with raw message delivery; the real binary's
// validate, reading the first under --transport sns and under the default auto and the
// second as is, gives each event the verdict and key it gets sent raw.
func TestValidateSNSFromFauxqs(t *testing.T) {
	e := awstest.Shared(t)
	wrappedQ, rawQ := e.CreateQueue(t, "sns-wrapped", nil), e.CreateQueue(t, "sns-raw", nil)
	created := snsCall(t, e, url.Values{"Action": {"CreateTopic"}, "Name": {awstest.UniqueName("orders")}})
	m := regexp.MustCompile(`<TopicArn>([^<]+)</TopicArn>`).FindStringSubmatch(created)
	if m == nil {
		t.Fatalf("no TopicArn in %s", created)
	}
	topic := m[1]
	snsCall(t, e, url.Values{"Action": {"Subscribe"}, "TopicArn": {topic}, "Protocol": {"sqs"}, "Endpoint": {wrappedQ.ARN}})
	snsCall(t, e, url.Values{"Action": {"Subscribe"}, "TopicArn": {topic}, "Protocol": {"sqs"}, "Endpoint": {rawQ.ARN},
		"Attributes.entry.1.key": {"RawMessageDelivery"}, "Attributes.entry.1.value": {"true"}})
	events := []string{
		strings.ReplaceAll(fixture.ValidLine, "6f1c", "sns-1"),
		strings.ReplaceAll(strings.Replace(fixture.ValidLine, `"total":100.50`, `"total":-1`, 1), "6f1c", "sns-2"),
		strings.ReplaceAll(fixture.ValidLine, "6f1c", `sns-3 \"quoted\" é`),
	}
	for _, ev := range events {
		snsCall(t, e, url.Values{"Action": {"Publish"}, "TopicArn": {topic}, "Message": {ev}, "Subject": {"order"},
			"MessageAttributes.entry.1.Name": {"tier"}, "MessageAttributes.entry.1.Value.DataType": {"String"},
			"MessageAttributes.entry.1.Value.StringValue": {"gold"}})
	}
	wrapped, raw := drain(t, e, wrappedQ, len(events)), drain(t, e, rawQ, len(events))
	if !strings.Contains(wrapped[0], `"Type":"Notification"`) || strings.Contains(raw[0], `"Type":"Notification"`) {
		t.Fatalf("deliveries are not what the subscriptions ask for:\nwrapped: %s\nraw: %s", wrapped[0], raw[0])
	}

	want, _ := validateBinary(t, events, "--transport", "raw")
	for _, c := range []struct {
		name   string
		bodies []string
		args   []string
		topics int
	}{
		{"wrapped under sns", wrapped, []string{"--transport", "sns"}, len(events)},
		{"wrapped under auto", wrapped, nil, len(events)},
		{"raw delivery under auto", raw, nil, 0},
	} {
		got, topics := validateBinary(t, c.bodies, c.args...)
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%s: event %s\n got %s\nwant %s", c.name, id, got[id], w)
			}
		}
		sort.Strings(topics)
		if len(topics) != c.topics || (c.topics > 0 && topics[0] != topic) {
			t.Errorf("%s: topics %v, want %d times %s", c.name, topics, c.topics, topic)
		}
	}
}
