package sqsqueue

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"eventproc/adapters/awstest"
	"eventproc/worker"
)

// TestInspectQueue: QueueAttributes, VisibilityTimeout and Probe read a queue's
// settings from the emulator, and a deleted queue is fatal to each.
func TestInspectQueue(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := NewClient(e.Config)
	ctx := context.Background()
	dlq := e.CreateQueue(t, "inspect-dlq", nil)
	q := e.CreateQueue(t, "inspect", map[string]string{"VisibilityTimeout": "7",
		"RedrivePolicy": `{"deadLetterTargetArn":"` + dlq.ARN + `","maxReceiveCount":"5"}`})

	a, err := QueueAttributes(ctx, c, q.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !a.HasVisibility || a.VisibilityTimeout != 7*time.Second || a.RedrivePolicy == "" {
		t.Errorf("attributes = %+v, want a visibility of 7s and a redrive policy", a)
	}
	rp, err := a.Redrive()
	if err != nil || rp.DeadLetterTargetArn != dlq.ARN || rp.MaxReceiveCount != 5 {
		t.Errorf("redrive policy = %+v, %v; want %s after 5 receives", rp, err, dlq.ARN)
	}
	if vt, err := VisibilityTimeout(ctx, c, q.URL, time.Second); err != nil || vt != 7*time.Second {
		t.Errorf("VisibilityTimeout = %v, %v; want 7s", vt, err)
	}
	if err := Probe(ctx, c, q.URL, 0); err != nil {
		t.Errorf("Probe = %v", err)
	}
	if a, err := QueueAttributes(ctx, c, dlq.URL, 0); err != nil || a.RedrivePolicy != "" || !a.HasVisibility {
		t.Errorf("attributes of a queue without redrive = %+v, %v", a, err)
	}

	if _, err := c.(*sqs.Client).DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(q.URL)}); err != nil {
		t.Fatal(err)
	}
	_, err = QueueAttributes(ctx, c, q.URL, 0)
	checkFatal(t, "attributes of a deleted queue", err)
	_, err = VisibilityTimeout(ctx, c, q.URL, 0)
	checkFatal(t, "visibility timeout of a deleted queue", err)
	checkFatal(t, "probe of a deleted queue", Probe(ctx, c, q.URL, 0))
}

// attributesAPI answers GetQueueAttributes with attrs, or fails with err.
type attributesAPI struct {
	API
	attrs map[string]string
	err   error
}

func (f attributesAPI) GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &sqs.GetQueueAttributesOutput{Attributes: f.attrs}, nil
}

// TestInspectClassifies: the inspections' errors are classified as the Queue's are, and
// a visibility timeout that is not a number is told apart.
func TestInspectClassifies(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		code  string
		fatal bool
	}{
		{"AWS.SimpleQueueService.NonExistentQueue", true},
		{"AccessDenied", true},
		{"RequestThrottled", false},
		{"InternalError", false},
	} {
		api := attributesAPI{err: &smithy.GenericAPIError{Code: tc.code}}
		_, errA := QueueAttributes(ctx, api, "url", 0)
		_, errV := VisibilityTimeout(ctx, api, "url", 0)
		errP := Probe(ctx, api, "url", 0)
		for _, err := range []error{errA, errV, errP} {
			if tc.fatal {
				checkFatal(t, tc.code, err)
			} else {
				checkRetryable(t, tc.code, err)
			}
		}
	}
	api := attributesAPI{attrs: map[string]string{"VisibilityTimeout": "soon"}}
	if a, err := QueueAttributes(ctx, api, "url", 0); err != nil || a.HasVisibility {
		t.Errorf("attributes with an unreadable visibility timeout = %+v, %v; want HasVisibility false", a, err)
	}
	if _, err := VisibilityTimeout(ctx, api, "url", 0); err == nil || worker.IsFatal(err) {
		t.Errorf("VisibilityTimeout of %q = %v, want an error", "soon", err)
	}
}
