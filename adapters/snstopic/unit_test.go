package snstopic

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"eventproc/worker"
)

// fakeAPI answers PublishBatch: entries whose message starts with "busy" fail as
// throttled the first time, those starting with "bad" are refused, and err fails the
// whole call.
type fakeAPI struct {
	API
	calls [][]string
	busy  map[string]bool // messages that already failed once
	err   error
}

func (f *fakeAPI) PublishBatch(ctx context.Context, in *sns.PublishBatchInput, _ ...func(*sns.Options)) (*sns.PublishBatchOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	var msgs []string
	out := &sns.PublishBatchOutput{}
	for _, e := range in.PublishBatchRequestEntries {
		m := aws.ToString(e.Message)
		msgs = append(msgs, m)
		switch {
		case strings.HasPrefix(m, "bad"):
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InvalidParameter"), SenderFault: true})
		case strings.HasPrefix(m, "busy") && !f.busy[m]:
			f.busy[m] = true
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("Throttled")})
		default:
			out.Successful = append(out.Successful, types.PublishBatchResultEntry{Id: e.Id})
		}
	}
	f.calls = append(f.calls, msgs)
	return out, nil
}

func messages(bodies ...string) []Message {
	out := make([]Message, len(bodies))
	for i, b := range bodies {
		out[i] = Message{Body: b}
	}
	return out
}

func TestPublishChunksByTen(t *testing.T) {
	f := &fakeAPI{busy: map[string]bool{}}
	var bodies []string
	for range 23 {
		bodies = append(bodies, "m")
	}
	n, err := Publish(context.Background(), f, "arn:aws:sns:us-east-1:1:t", messages(bodies...), 0)
	if err != nil || n != 23 {
		t.Fatalf("publish = %d, %v", n, err)
	}
	if len(f.calls) != 3 || len(f.calls[0]) != 10 || len(f.calls[2]) != 3 {
		t.Errorf("calls = %v", f.calls)
	}
}

func TestPublishRetriesThrottledEntries(t *testing.T) {
	f := &fakeAPI{busy: map[string]bool{}}
	n, err := Publish(context.Background(), f, "arn", messages("a", "busy1", "b", "busy2"), 0)
	if err != nil || n != 4 {
		t.Fatalf("publish = %d, %v", n, err)
	}
	if len(f.calls) != 2 || strings.Join(f.calls[1], ",") != "busy1,busy2" {
		t.Errorf("calls = %v; want the throttled two again", f.calls)
	}
}

func TestPublishStopsAtRefusedEntry(t *testing.T) {
	f := &fakeAPI{busy: map[string]bool{}}
	var bodies []string
	for range 12 {
		bodies = append(bodies, "m")
	}
	bodies[11] = "bad"
	n, err := Publish(context.Background(), f, "arn", messages(bodies...), 0)
	var ee *EntryError
	if n != 11 || !errors.As(err, &ee) || ee.Code != "InvalidParameter" || !strings.Contains(err.Error(), "publish message 11") {
		t.Fatalf("publish = %d, %v; want 11 and message 11 refused", n, err)
	}
	if errors.As(err, new(*worker.RetryableError)) {
		t.Errorf("a refused entry is retryable: %v", err)
	}
}

func TestPublishClassifiesCallErrors(t *testing.T) {
	for code, fatal := range map[string]bool{"NotFound": true, "AuthorizationError": true, "Throttled": false, "InternalError": false} {
		f := &fakeAPI{err: &smithy.GenericAPIError{Code: code}}
		_, err := Publish(context.Background(), f, "arn", messages("a"), 0)
		if got := errors.As(err, new(*worker.FatalError)); got != fatal {
			t.Errorf("%s: fatal = %v, want %v (%v)", code, got, fatal, err)
		}
		if !fatal && len(f.calls) != 0 {
			t.Errorf("%s: calls = %v", code, f.calls)
		}
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{"arn:aws:sns:eu-west-1:123:orders.fifo": "orders.fifo", "orders": "orders"} {
		if got := Name(in); got != want {
			t.Errorf("Name(%s) = %s", in, got)
		}
	}
	if !IsFIFO("arn:aws:sns:eu-west-1:123:orders.fifo") || IsFIFO("orders") {
		t.Error("IsFIFO")
	}
}
