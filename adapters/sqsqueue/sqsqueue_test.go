package sqsqueue

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/adapters/awstest"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

func TestMain(m *testing.M) { awstest.Main(m) }

const visibility = time.Second

func sourceHarness() workertest.SourceHarness {
	return workertest.SourceHarness{New: func(t *testing.T) workertest.SourceFixture {
		e := awstest.Shared(t)
		c := e.SQSClient()
		q := e.CreateQueue(t, "source", map[string]string{"VisibilityTimeout": strconv.Itoa(int(visibility / time.Second))})
		return workertest.SourceFixture{
			Source:            New(c, q.URL, Options{WaitTime: time.Second, MessageAttributeNames: allAttributes}),
			Send:              func(t *testing.T, body string, attrs map[string]string) { send(t, c, q.URL, body, attrs) },
			VisibilityTimeout: visibility,
			Sleep:             time.Sleep,
			Drained:           func(t *testing.T) bool { return depth(t, c, q.URL) == 0 },
		}
	}}
}

func send(t *testing.T, c *sqs.Client, url, body string, attrs map[string]string) {
	t.Helper()
	_, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body), MessageAttributes: messageAttributes(attrs)})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
}

// depth returns the queue's visible plus in-flight messages.
func depth(t *testing.T, c *sqs.Client, url string) int {
	t.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	a, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	b, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return a + b
}

func TestQueueConforms(t *testing.T) { workertest.TestSource(t, sourceHarness()) }

func TestDeadLetterConforms(t *testing.T) {
	workertest.TestDeadLetter(t, workertest.DeadLetterHarness{New: func(t *testing.T) workertest.DeadLetterFixture {
		e := awstest.Shared(t)
		c := e.SQSClient()
		p := provision(t, c, ProvisionOptions{MaxAttempts: 5})
		return workertest.DeadLetterFixture{
			DeadLetter: NewDeadLetter(c, DeadLetterOptions{}),
			Source:     p.URL,
			Read: func(t *testing.T, n int) []worker.Message {
				return receiveAll(t, New(c, p.DeadLetterURL, Options{WaitTime: time.Second, MessageAttributeNames: allAttributes}), n)
			},
			UnknownSource: p.URL + "-missing",
		}
	}})
}

func provision(t *testing.T, c *sqs.Client, opts ProvisionOptions) Provisioned {
	t.Helper()
	p, err := Provision(context.Background(), c, awstest.UniqueName("prov"), opts)
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	t.Cleanup(func() {
		c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(p.URL)})
		c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(p.DeadLetterURL)})
	})
	return p
}

func receiveAll(t *testing.T, q *Queue, n int) []worker.Message {
	t.Helper()
	var out []worker.Message
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		got, err := q.Receive(context.Background(), 10)
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		out = append(out, got...)
	}
	if len(out) != n {
		t.Fatalf("received %d messages, want %d", len(out), n)
	}
	return out
}

func TestProvisionIsIdempotentAndRedrives(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := e.SQSClient()
	ctx := context.Background()
	if _, err := Provision(ctx, c, "x", ProvisionOptions{MaxAttempts: 5, MaxReceiveCount: 5}); err == nil {
		t.Errorf("max receive count equal to max attempts accepted")
	}
	p := provision(t, c, ProvisionOptions{MaxAttempts: 1, MaxReceiveCount: 2, VisibilityTimeout: 45 * time.Second})
	again, err := Provision(ctx, c, p.Name, ProvisionOptions{MaxAttempts: 1, MaxReceiveCount: 2, VisibilityTimeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("provision again: %v", err)
	}
	if again.URL != p.URL || again.DeadLetterURL != p.DeadLetterURL || again.DeadLetterARN != p.DeadLetterARN {
		t.Errorf("provision again = %+v, first %+v", again, p)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.URL), AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if v := attrs.Attributes["VisibilityTimeout"]; v != "30" {
		t.Errorf("VisibilityTimeout = %s, want 30 (set by the second run)", v)
	}
	dlq, err := RedriveTarget(ctx, c, p.URL, 0)
	if err != nil || dlq != p.DeadLetterURL {
		t.Errorf("RedriveTarget = %q, %v; want %q", dlq, err, p.DeadLetterURL)
	}
	// The queue's own redrive: the third receive moves the message to the DLQ.
	send(t, c, p.URL, "poison", nil)
	q := New(c, p.URL, Options{WaitTime: time.Second, MessageAttributeNames: allAttributes})
	for i := 1; i <= 2; i++ {
		m := receiveAll(t, q, 1)[0]
		if m.ReceiveCount != i {
			t.Errorf("receive %d: ReceiveCount %d", i, m.ReceiveCount)
		}
		if _, err := q.SetVisibility(ctx, []worker.Visibility{{Message: m}}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := q.Receive(ctx, 10); err != nil || len(got) != 0 {
		t.Errorf("third receive = %d messages, %v; want the message redriven", len(got), err)
	}
	if m := receiveAll(t, New(c, p.DeadLetterURL, Options{WaitTime: time.Second, MessageAttributeNames: allAttributes}), 1)[0]; m.Body != "poison" {
		t.Errorf("dead-letter queue holds %q", m.Body)
	}
}

func TestMissingQueueIsFatal(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := e.SQSClient()
	q := e.CreateQueue(t, "gone", nil)
	if _, err := c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(q.URL)}); err != nil {
		t.Fatal(err)
	}
	src := New(c, q.URL, Options{WaitTime: -1})
	m := worker.Message{ID: "m", ReceiptHandle: "rh"}
	for _, tc := range []struct {
		name string
		call func(t *testing.T) error
	}{
		{"Receive", func(*testing.T) error { _, err := src.Receive(context.Background(), 10); return err }},
		{"Ack", func(t *testing.T) error {
			failed, err := src.Ack(context.Background(), []worker.Message{m})
			if len(failed) != 1 {
				t.Errorf("ack: %d failed, want 1", len(failed))
			}
			return err
		}},
		{"SetVisibility", func(*testing.T) error {
			_, err := src.SetVisibility(context.Background(), []worker.Visibility{{Message: m}})
			return err
		}},
		{"ResolveURL", func(*testing.T) error { _, err := ResolveURL(context.Background(), c, q.Name, 0); return err }},
		{"DeadLetter", func(*testing.T) error {
			return NewDeadLetter(c, DeadLetterOptions{}).Send(context.Background(), q.URL, m, nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkFatal(t, tc.name, tc.call(t)) })
	}
}

func TestDeadLetterExplicitTarget(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := e.SQSClient()
	src := e.CreateQueue(t, "plain-src", nil)
	dlq := e.CreateQueue(t, "plain-dlq", nil)
	dl := NewDeadLetter(c, DeadLetterOptions{Targets: map[string]string{src.URL: dlq.URL}})
	if err := dl.Send(context.Background(), src.URL, worker.Message{ID: "m", Body: "parked"}, map[string]string{"outcome": "rule_failed"}); err != nil {
		t.Fatal(err)
	}
	m := receiveAll(t, New(c, dlq.URL, Options{WaitTime: time.Second, MessageAttributeNames: allAttributes}), 1)[0]
	if m.Body != "parked" || m.Attributes["outcome"] != "rule_failed" {
		t.Errorf("dead letter = %q %v", m.Body, m.Attributes)
	}
}

func TestQueueWithoutRedriveCannotDeadLetter(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	q := e.CreateQueue(t, "plain", nil)
	err := NewDeadLetter(e.SQSClient(), DeadLetterOptions{}).Send(context.Background(), q.URL, worker.Message{Body: "x"}, nil)
	checkFatal(t, "dead-letter", err)
	if !errors.Is(err, ErrNoDeadLetterQueue) {
		t.Errorf("err = %v, want ErrNoDeadLetterQueue", err)
	}
}

func checkFatal(t *testing.T, what string, err error) {
	t.Helper()
	if !worker.IsFatal(err) {
		t.Errorf("%s: %v, want a *worker.FatalError", what, err)
	}
}

func checkRetryable(t *testing.T, what string, err error) {
	t.Helper()
	var re *worker.RetryableError
	if !errors.As(err, &re) {
		t.Errorf("%s: %v, want a *worker.RetryableError", what, err)
	}
}

func TestOutagesAreRetryable(t *testing.T) {
	t.Parallel()
	e := awstest.Start(t)
	c := e.SQSClient()
	q := e.CreateQueue(t, "outage", nil)
	src := New(c, q.URL, Options{WaitTime: -1, CallTimeout: 700 * time.Millisecond})
	m := worker.Message{ID: "m", ReceiptHandle: "rh"}
	dl := NewDeadLetter(c, DeadLetterOptions{Targets: map[string]string{q.URL: q.URL}, CallTimeout: 700 * time.Millisecond})

	// In turn: the queue hangs, then it is stopped.
	t.Run("Hung", func(t *testing.T) {
		if err := e.SQS.Pause(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err := src.Receive(context.Background(), 10)
		checkRetryable(t, "receive from a hung queue", err)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("receive from a hung queue took %v; the call timeout is 700ms", d)
		}
		_, err = src.Ack(context.Background(), []worker.Message{m})
		checkRetryable(t, "ack on a hung queue", err)
		checkRetryable(t, "dead-letter to a hung queue", dl.Send(context.Background(), q.URL, m, nil))
		if err := e.SQS.Resume(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Stopped", func(t *testing.T) {
		if err := e.SQS.Stop(); err != nil {
			t.Fatal(err)
		}
		_, err := src.Receive(context.Background(), 10)
		checkRetryable(t, "receive from a stopped queue", err)
		_, err = src.SetVisibility(context.Background(), []worker.Visibility{{Message: m}})
		checkRetryable(t, "set visibility on a stopped queue", err)
		checkRetryable(t, "probe of a stopped queue", Probe(context.Background(), c, q.URL, 700*time.Millisecond))
		_, err = VisibilityTimeout(context.Background(), c, q.URL, 700*time.Millisecond)
		checkRetryable(t, "visibility timeout of a stopped queue", err)
	})
}

// allAttributes asks for every message attribute, as the worker does for rules that
// read one by a name known only at run time.
func allAttributes() []string { return []string{"All"} }
