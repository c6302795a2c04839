package cli

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/adapters/awstest"
	"eventproc/engine"
	"eventproc/internal/fixture"
)

func TestSendAndProvisionFlagErrors(t *testing.T) {
	environ := []string{"AWS_REGION=us-east-1"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "--queue", "q", "--via-topic", "t", "--count", "1"}, "give one of --queue and --via-topic"},
		{[]string{"send", "--count", "1"}, "give one of --queue and --via-topic"},
		{[]string{"send", "--queue", "orders.fifo", "--count", "1"}, "orders.fifo is FIFO: every message needs a MessageGroupId"},
		{[]string{"send", "--via-topic", "arn:aws:sns:us-east-1:1:orders.fifo", "--count", "1"}, "--group-by KEY"},
		{[]string{"send", "--queue", "q", "--count", "1", "--attribute", "novalue"}, `--attribute "novalue" is not NAME=VALUE`},
		{[]string{"send", "--queue", "q", "--count", "1", "--group-by", "nope"}, "--group-by nope: no envelope variable or header field nope (header fields: event_id, "},
		{[]string{"provision", "--queue", "q", "--raw-delivery"}, "--raw-delivery needs --topic"},
		{[]string{"provision", "--queue", "q", "--topic", "t.fifo"}, "topic t.fifo cannot feed queue q"},
		{[]string{"provision", "--queue", "q.fifo", "--topic", "t"}, "topic t cannot feed queue q.fifo"},
	} {
		code, _, errs := runCmd(t, environ, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v = %d, %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
}

func TestMessageShape(t *testing.T) {
	load := func(opts ...engine.Option) engine.EnvelopeInfo {
		rs, diags := engine.Load(os.DirFS("events.d"), opts...)
		if rs == nil {
			t.Fatalf("load: %v", diags)
		}
		return rs.Envelope()
	}
	predecessor, cloudevents := load(), load(engine.WithEnvelope("cloudevents"))
	body := `{"event_id":"e-1","tenant_id":"t-7","tenantid":"ce-7","id":"ce-1","body":{"order_id":"o-1","total":12.50},"data":{"n":3}}`
	for _, c := range []struct {
		info         engine.EnvelopeInfo
		key          string
		fifo         bool
		body         string
		group, dedup string
	}{
		{predecessor, "tenant", true, body, "t-7", "e-1"},
		{predecessor, "tenant_id", false, body, "t-7", ""},
		{predecessor, "body.order_id", false, body, "o-1", ""},
		{predecessor, "body.total", false, body, "12.50", ""},
		{predecessor, "header.client_id", true, body, "none", "e-1"}, // missing: the group none
		{predecessor, "event_id", false, body, "e-1", ""},
		{predecessor, "", true, body, "", "e-1"},
		{cloudevents, "tenant", true, body, "ce-7", "ce-1"},
		{cloudevents, "data.n", false, body, "3", ""},
		{predecessor, "tenant", true, `{"tenant_id":"a tenant with spaces"}`, "h-", "h?"}, // hashed: spaces are not allowed
	} {
		s, err := newMessageShape(c.info, c.key, c.fifo, nil)
		if err != nil {
			t.Errorf("%s: %v", c.key, err)
			continue
		}
		m := s.message(c.body)
		if m.Body != c.body || m.Attributes != nil {
			t.Errorf("%s: message %+v", c.key, m)
		}
		if strings.HasSuffix(c.group, "-") {
			if !strings.HasPrefix(m.GroupID, c.group) || len(m.GroupID) != 34 || len(m.DeduplicationID) != 64 {
				t.Errorf("%s: group %q dedup %q; want hashes", c.key, m.GroupID, m.DeduplicationID)
			}
			continue
		}
		if m.GroupID != c.group || m.DeduplicationID != c.dedup {
			t.Errorf("%s on %s: group %q dedup %q; want %q %q", c.key, c.body, m.GroupID, m.DeduplicationID, c.group, c.dedup)
		}
	}
	if _, err := newMessageShape(engine.EnvelopeInfo{Variables: map[string]string{"tenant_id": `header.a + "/" + header.b`}}, "tenant", true, nil); err == nil ||
		!strings.Contains(err.Error(), "not a path of members") {
		t.Errorf("a computed tenant_id: %v", err)
	}
	if _, err := newMessageShape(engine.EnvelopeInfo{}, "tenant", true, nil); err == nil || !strings.Contains(err.Error(), "no tenant_id variable") {
		t.Errorf("no tenant_id variable: %v", err)
	}
}

// receiveAll receives n messages from the queue (failing after 15 s), with their
// attributes and group ids, deleting them.
func receiveAll(t *testing.T, e *awstest.Emulators, name string, n int) []sqstypes.Message {
	t.Helper()
	c := e.SQSClient()
	ctx := context.Background()
	url := aws.String(queueURL(t, e, name))
	var out []sqstypes.Message
	for deadline := time.Now().Add(15 * time.Second); len(out) < n && time.Now().Before(deadline); {
		r, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			out = append(out, m)
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(out) != n {
		t.Fatalf("queue %s: received %d messages, want %d", name, len(out), n)
	}
	return out
}

// generated is what generate prints for args: the bodies send sends.
func generated(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, errs := runCmd(t, nil, append([]string{"generate"}, args...)...)
	if code != 0 {
		t.Fatalf("generate = %d: %s", code, errs)
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// TestSendViaTopic provisions a topic with two queues, one wrapped and one with raw
// delivery, and sends through it: the wrapped queue gets SNS notifications whose
// Message is each event, the raw one the events themselves with the attributes as SQS
// message attributes.
func TestSendViaTopic(t *testing.T) {
	e := awstest.Shared(t)
	environ := fixture.AWSEnviron(e)
	topic, wrapped, raw := awstest.UniqueName("fanout"), awstest.UniqueName("wrapped"), awstest.UniqueName("raw")
	for _, args := range [][]string{
		{"provision", "--queue", wrapped, "--topic", topic},
		{"provision", "--queue", raw, "--topic", topic, "--raw-delivery"},
	} {
		code, out, errs := runCmd(t, environ, args...)
		if code != 0 || !strings.Contains(out, "topic "+topic+": arn:aws:sns:") || !strings.Contains(out, "): created\n") {
			t.Fatalf("%v = %d:\n%s%s", args, code, out, errs)
		}
	}
	code, out, errs := runCmd(t, environ, "provision", "--queue", raw, "--topic", topic, "--raw-delivery")
	if code != 0 || !strings.Contains(out, "subscription of queue "+raw+" to topic "+topic+": ") || !strings.Contains(out, "(raw delivery): exists\n") {
		t.Fatalf("provision again = %d:\n%s%s", code, out, errs)
	}
	code, out, errs = runCmd(t, environ, "send", "--via-topic", topic, "--count", "12", "--seed", "7", "--invalid", "0.25", "--attribute", "source=test", "--group-by", "tenant")
	if code != 0 || !strings.Contains(out, "sent 12 messages (9 valid, 3 invalid) of ") || !strings.Contains(out, " to topic arn:aws:sns:") {
		t.Fatalf("send --via-topic = %d:\n%s%s", code, out, errs)
	}
	want := generated(t, "--count", "12", "--seed", "7", "--invalid", "0.25")
	slices.Sort(want)

	var bodies []string
	for _, m := range receiveAll(t, e, raw, 12) {
		bodies = append(bodies, aws.ToString(m.Body))
		if v := m.MessageAttributes["source"]; aws.ToString(v.StringValue) != "test" {
			t.Errorf("raw delivery: attributes %v", m.MessageAttributes)
		}
	}
	slices.Sort(bodies)
	if !slices.Equal(bodies, want) {
		t.Errorf("raw delivery: the queue got other bodies than generate prints:\n%q\nwant\n%q", bodies, want)
	}

	bodies = nil
	for _, m := range receiveAll(t, e, wrapped, 12) {
		var n struct {
			Type, TopicArn, Message string
			MessageAttributes       map[string]struct{ Type, Value string }
		}
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &n); err != nil {
			t.Fatalf("wrapped delivery: %v: %s", err, aws.ToString(m.Body))
		}
		if n.Type != "Notification" || !strings.HasSuffix(n.TopicArn, ":"+topic) || n.MessageAttributes["source"].Value != "test" {
			t.Errorf("wrapped delivery: notification %+v", n)
		}
		bodies = append(bodies, n.Message)
	}
	slices.Sort(bodies)
	if !slices.Equal(bodies, want) {
		t.Errorf("wrapped delivery: the notifications carry other messages than generate prints")
	}
}

// TestSendGroupByFIFO sends to a FIFO queue grouped by tenant: each message's
// MessageGroupId is its tenant_id and its deduplication id its event_id.
func TestSendGroupByFIFO(t *testing.T) {
	e := awstest.Shared(t)
	environ := fixture.AWSEnviron(e)
	queue := awstest.UniqueName("ordered") + ".fifo"
	if code, out, errs := runCmd(t, environ, "provision", "--queue", queue); code != 0 {
		t.Fatalf("provision = %d:\n%s%s", code, out, errs)
	}
	code, out, errs := runCmd(t, environ, "send", "--queue", queue, "--count", "15", "--seed", "11", "--group-by", "tenant")
	if code != 0 {
		t.Fatalf("send = %d:\n%s%s", code, out, errs)
	}
	tenants := map[string]bool{}
	for _, m := range receiveAll(t, e, queue, 15) {
		id, tenant := fields(t, aws.ToString(m.Body))
		if m.Attributes["MessageGroupId"] != tenant || m.Attributes["MessageDeduplicationId"] != id {
			t.Errorf("event %s of tenant %s: group %q, deduplication id %q", id, tenant, m.Attributes["MessageGroupId"], m.Attributes["MessageDeduplicationId"])
		}
		tenants[tenant] = true
	}
	if len(tenants) < 2 {
		t.Errorf("tenants %v: the generated events should span several", tenants)
	}
}

func fields(t *testing.T, body string) (eventID, tenantID string) {
	t.Helper()
	var ev struct {
		EventID  string `json:"event_id"`
		TenantID string `json:"tenant_id"`
	}
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatal(err)
	}
	return ev.EventID, ev.TenantID
}

// TestSendGroupByFairQueue sends to a standard queue grouped by tenant, as to an SQS
// fair queue: SQS takes the messages with their group ids. (fauxqs does not return a
// standard queue's group ids; TestSendMessagesEntries checks what is sent.)
func TestSendGroupByFairQueue(t *testing.T) {
	e := awstest.Shared(t)
	environ := fixture.AWSEnviron(e)
	queue := awstest.UniqueName("fair")
	if code, out, errs := runCmd(t, environ, "provision", "--queue", queue); code != 0 {
		t.Fatalf("provision = %d:\n%s%s", code, out, errs)
	}
	if code, out, errs := runCmd(t, environ, "send", "--queue", queue, "--count", "5", "--seed", "11", "--group-by", "tenant_id"); code != 0 {
		t.Fatalf("send = %d:\n%s%s", code, out, errs)
	}
	for _, m := range receiveAll(t, e, queue, 5) {
		if m.Attributes["MessageDeduplicationId"] != "" {
			t.Errorf("a standard queue's message has a deduplication id: %v", m.Attributes)
		}
	}
}

// TestSendViaFIFOTopic provisions a FIFO topic feeding a FIFO queue and sends through
// it grouped by tenant: the queue gets each event with its tenant as group and its
// event id as deduplication id; sent again, none is delivered twice.
func TestSendViaFIFOTopic(t *testing.T) {
	e := awstest.Shared(t)
	environ := fixture.AWSEnviron(e)
	topic, queue := awstest.UniqueName("ordered")+".fifo", awstest.UniqueName("ordered")+".fifo"
	code, out, errs := runCmd(t, environ, "provision", "--queue", queue, "--topic", topic, "--raw-delivery")
	if code != 0 || !strings.Contains(out, "topic "+topic+": arn:aws:sns:us-east-1:000000000000:"+topic+" (FIFO)\n") {
		t.Fatalf("provision = %d:\n%s%s", code, out, errs)
	}
	for range 2 {
		if code, out, errs := runCmd(t, environ, "send", "--via-topic", topic, "--count", "9", "--seed", "3", "--group-by", "tenant"); code != 0 {
			t.Fatalf("send = %d:\n%s%s", code, out, errs)
		}
	}
	for _, m := range receiveAll(t, e, queue, 9) {
		id, tenant := fields(t, aws.ToString(m.Body))
		if m.Attributes["MessageGroupId"] != tenant || m.Attributes["MessageDeduplicationId"] != id {
			t.Errorf("event %s of tenant %s: group %q, deduplication id %q", id, tenant, m.Attributes["MessageGroupId"], m.Attributes["MessageDeduplicationId"])
		}
	}
	if extra, err := e.SQSClient().ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL(t, e, queue)), WaitTimeSeconds: 1}); err != nil || len(extra.Messages) != 0 {
		t.Errorf("after the 9 events: %v more messages, %v; want none (the second send deduplicated)", len(extra.Messages), err)
	}
}

func queueURL(t *testing.T, e *awstest.Emulators, name string) string {
	t.Helper()
	q, err := e.SQSClient().GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(q.QueueUrl)
}
