package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/adapters/awstest"
	"eventproc/limits"
	"eventproc/worker"
)

// deadLettered puts n messages on p's dead-letter queue the way the worker does, with
// event_type t-0, t-1, t-2, … (mod 3) and outcome "exhausted" (rule_failed for every
// fourth), plus a producer's own attribute.
func deadLettered(t *testing.T, c *sqs.Client, p Provisioned, n int) {
	t.Helper()
	dl := NewDeadLetter(c, DeadLetterOptions{})
	for i := range n {
		outcome := "exhausted"
		if i%4 == 3 {
			outcome = "rule_failed"
		}
		attrs := map[string]string{"outcome": outcome, "event_type": fmt.Sprintf("t-%d", i%3), "error": fmt.Sprintf("retryable: boom %d", i),
			"attempts": "3", "event_id": fmt.Sprintf("e-%d", i), "last_failure": "2026-01-01T00:00:00Z"}
		if err := dl.Send(context.Background(), p.URL, worker.Message{ID: fmt.Sprint(i), Body: fmt.Sprintf(`{"n":%d}`, i)}, attrs); err != nil {
			t.Fatal(err)
		}
	}
	// A producer attribute survives the round trip.
	if _, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(p.DeadLetterURL), MessageBody: aws.String(`{"n":"own"}`),
		MessageAttributes: map[string]types.MessageAttributeValue{"trace": {DataType: aws.String("String"), StringValue: aws.String("abc")},
			"outcome": {DataType: aws.String("String"), StringValue: aws.String("exhausted")}, "event_type": {DataType: aws.String("String"), StringValue: aws.String("t-own")}}}); err != nil {
		t.Fatal(err)
	}
}

func TestRedrive(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := e.SQSClient()
	ctx := context.Background()
	p := provision(t, c, ProvisionOptions{MaxAttempts: 3, VisibilityTimeout: 30 * time.Second})
	deadLettered(t, c, p, 12)

	// A dry run lists every match with its reasons and moves nothing.
	var listed []DeadLetterMessage
	res, err := Redrive(ctx, c, p.DeadLetterURL, p.URL, RedriveOptions{DryRun: true, OnMessage: func(m DeadLetterMessage) { listed = append(listed, m) }})
	if err != nil || res.Received != 13 || res.Matched != 13 || res.Moved != 0 || len(listed) != 13 {
		t.Fatalf("dry run: %+v, %v, %d listed", res, err, len(listed))
	}
	if a := listed[0].Attributes; a["outcome"] == "" || a["error"] == "" || a["event_type"] == "" {
		t.Errorf("dry run shows %v", a)
	}
	if n := depth(t, c, p.URL); n != 0 {
		t.Errorf("dry run moved %d messages", n)
	}
	if n := depth(t, c, p.DeadLetterURL); n != 13 {
		t.Errorf("after a dry run the dead-letter queue holds %d visible or in flight, want 13", n)
	}

	// By type, with a limit: exactly that many of that type move.
	res, err = Redrive(ctx, c, p.DeadLetterURL, p.URL, RedriveOptions{Limit: 2,
		Match: func(m DeadLetterMessage) bool { return m.Attributes["event_type"] == "t-1" }})
	if err != nil || res.Moved != 2 || res.Matched != 2 {
		t.Fatalf("type t-1, limit 2: %+v, %v", res, err)
	}
	moved := receiveAll(t, New(c, p.URL, Options{WaitTime: time.Second, MessageAttributeNames: allAttributes}), 2)
	for _, m := range moved {
		if m.Attributes["outcome"] != "" || m.Attributes["error"] != "" || m.Attributes["event_type"] != "" {
			t.Errorf("moved message keeps its dead-letter attributes: %v", m.Attributes)
		}
		if m.Attributes[RedriveCountAttribute] != "1" {
			t.Errorf("redrive_count = %q, want 1", m.Attributes[RedriveCountAttribute])
		}
		if !slices.Contains([]string{`{"n":1}`, `{"n":4}`, `{"n":7}`, `{"n":10}`}, m.Body) {
			t.Errorf("moved %s, not of type t-1", m.Body)
		}
	}

	// Everything else: 11 move, the producer's attribute stays, the DLQ ends empty.
	var progress []RedriveResult
	res, err = Redrive(ctx, c, p.DeadLetterURL, p.URL, RedriveOptions{OnProgress: func(r RedriveResult) { progress = append(progress, r) }})
	if err != nil || res.Moved != 11 || res.Failed != 0 || len(progress) == 0 {
		t.Fatalf("the rest: %+v, %v, progress %v", res, err, progress)
	}
	if n := depth(t, c, p.DeadLetterURL); n != 0 {
		t.Errorf("%d messages left in the dead-letter queue", n)
	}
	rest := receiveAll(t, New(c, p.URL, Options{WaitTime: time.Second, MessageAttributeNames: allAttributes}), 11)
	found := false
	for _, m := range rest {
		if m.Body == `{"n":"own"}` {
			found = true
			if m.Attributes["trace"] != "abc" || m.Attributes["event_type"] != "" {
				t.Errorf("producer attributes after redrive: %v", m.Attributes)
			}
		}
	}
	if !found {
		t.Errorf("the producer's message did not move")
	}
}

// failingAPI fails SendMessageBatch entries whose body contains fail, and every
// SendMessage of such a body.
type failingAPI struct {
	API
	fail string
}

func (f failingAPI) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	keep := &sqs.SendMessageBatchInput{QueueUrl: in.QueueUrl}
	var failed []types.BatchResultErrorEntry
	for _, e := range in.Entries {
		if strings.Contains(aws.ToString(e.MessageBody), f.fail) {
			failed = append(failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("injected")})
			continue
		}
		keep.Entries = append(keep.Entries, e)
	}
	out := &sqs.SendMessageBatchOutput{}
	if len(keep.Entries) > 0 {
		var err error
		if out, err = f.API.SendMessageBatch(ctx, keep, opts...); err != nil {
			return nil, err
		}
	}
	out.Failed = append(out.Failed, failed...)
	return out, nil
}

func (f failingAPI) SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	if strings.Contains(aws.ToString(in.MessageBody), f.fail) {
		return nil, errors.New("injected")
	}
	return f.API.SendMessage(ctx, in, opts...)
}

// TestRedriveNeverDeletesUnsent: a message whose send fails stays in the dead-letter
// queue (visible again at once); one whose target is missing too.
func TestRedriveNeverDeletesUnsent(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := e.SQSClient()
	ctx := context.Background()
	p := provision(t, c, ProvisionOptions{MaxAttempts: 3, VisibilityTimeout: 30 * time.Second})
	deadLettered(t, c, p, 6)
	res, err := Redrive(ctx, failingAPI{API: c, fail: `"n":2`}, p.DeadLetterURL, p.URL, RedriveOptions{})
	if err == nil || res.Moved != 6 || res.Failed != 1 {
		t.Fatalf("one send failing: %+v, %v", res, err)
	}
	left := receiveAll(t, New(c, p.DeadLetterURL, Options{WaitTime: time.Second, MessageAttributeNames: allAttributes}), 1)
	if left[0].Body != `{"n":2}` || left[0].Attributes["outcome"] == "" {
		t.Errorf("left in the dead-letter queue: %q %v", left[0].Body, left[0].Attributes)
	}
	if n := depth(t, c, p.URL); n != 6 {
		t.Errorf("%d messages in the queue, want 6", n)
	}

	// A target that does not exist: nothing leaves the dead-letter queue.
	q := provision(t, c, ProvisionOptions{MaxAttempts: 3})
	deadLettered(t, c, q, 3)
	res, err = Redrive(ctx, c, q.DeadLetterURL, q.URL+"-missing", RedriveOptions{})
	if err == nil || res.Moved != 0 || res.Failed != 4 {
		t.Fatalf("missing target: %+v, %v", res, err)
	}
	if !worker.IsFatal(err) {
		t.Errorf("missing target: %v, want a fatal error", err)
	}
	if n := depth(t, c, q.DeadLetterURL); n != 4 {
		t.Errorf("%d messages in the dead-letter queue after a failed redrive, want 4", n)
	}
}

// TestDeadLetterLargeMessage: a message near SQS's size limit is dead-lettered with as
// many of its reason attributes as fit (the error cut first), and one at the limit
// without any, rather than being refused for ever.
func TestDeadLetterLargeMessage(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := e.SQSClient()
	p := provision(t, c, ProvisionOptions{MaxAttempts: 3})
	dl := NewDeadLetter(c, DeadLetterOptions{})
	attrs := map[string]string{"outcome": "exhausted", "error": strings.Repeat("e", 1000), "attempts": "3",
		"event_id": "id-1", "event_type": "t", "last_failure": "2026-01-01T00:00:00Z", "first_failure": "2026-01-01T00:00:00Z"}
	for _, tc := range []struct {
		size      int
		wantAttrs []string
	}{
		{limits.MessageBytes - 400, []string{"outcome", "error", "attempts", "event_id", "event_type", "last_failure", "first_failure"}},
		{limits.MessageBytes - 60, []string{"outcome", "attempts", "event_id"}},
		{limits.MessageBytes - 1, nil},
	} {
		body := strings.Repeat("b", tc.size)
		if err := dl.Send(context.Background(), p.URL, worker.Message{ID: "m", Body: body}, maps.Clone(attrs)); err != nil {
			t.Fatalf("dead-letter %d bytes: %v", tc.size, err)
		}
		got := receiveAll(t, New(c, p.DeadLetterURL, Options{WaitTime: time.Second, MessageAttributeNames: allAttributes}), 1)[0]
		if len(got.Body) != tc.size {
			t.Errorf("body of %d bytes came back as %d", tc.size, len(got.Body))
		}
		names := slices.Sorted(maps.Keys(got.Attributes))
		want := slices.Sorted(slices.Values(tc.wantAttrs))
		if !slices.Equal(names, want) {
			t.Errorf("%d bytes: attributes %v, want %v", tc.size, names, want)
		}
		if e := got.Attributes["error"]; tc.size == limits.MessageBytes-400 && (len(e) >= 1000 || len(e) < 64) {
			t.Errorf("error attribute of %d bytes, want it cut to fit", len(e))
		}
		if _, err := New(c, p.DeadLetterURL, Options{}).Ack(context.Background(), []worker.Message{got}); err != nil {
			t.Fatal(err)
		}
	}
}
