package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"eventproc/engine"
	"eventproc/metrics"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

// TestReadyz: /readyz's status code and reason through a run's life — rules not
// loaded, worker not built, not started, the first probe pending, a probe failure,
// ready, draining — while /healthz answers 200 throughout.
func TestReadyz(t *testing.T) {
	rs, diags := engine.Load(os.DirFS("events.d"))
	if rs == nil {
		t.Fatal(diags)
	}
	h := &health{probing: true}
	handler := httpHandler(h, metrics.New())
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	expect := func(stage string, code int, reason string) {
		t.Helper()
		if c, _ := get("/healthz"); c != http.StatusOK {
			t.Errorf("%s: /healthz = %d", stage, c)
		}
		c, body := get("/readyz")
		if c != code || !strings.Contains(body, reason) {
			t.Errorf("%s: /readyz = %d %q, want %d %q", stage, c, body, code, reason)
		}
	}
	expect("rules not loaded", 503, "not ready: rules not loaded")
	h.rules.Store(true)
	expect("no worker yet", 503, "not ready: starting")
	w, err := worker.New(worker.Config{Engine: rs,
		Sources:    []worker.SourceConfig{{Source: workertest.NewQueue("q", workertest.QueueOptions{WaitTime: 10 * time.Millisecond})}},
		Sink:       workertest.NewTable(workertest.Upsert),
		DeadLetter: workertest.NewQueue("q-dlq", workertest.QueueOptions{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.worker.Store(w)
	expect("worker not started", 503, "not ready: not started")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for w.Ready() != nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	expect("first probe pending", 503, "not ready: checking the queues and tables")
	probeErr := errors.New("table events: ResourceNotFoundException")
	h.probe.Store(&probeErr)
	expect("probe failed", 503, "not ready: table events: ResourceNotFoundException")
	var ok error
	h.probe.Store(&ok)
	expect("running", 200, "ready")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	expect("stopped", 503, "not ready: draining")
	if c, body := get("/metrics"); c != 200 || !strings.Contains(body, "eventproc_rules_reloads_total") {
		t.Errorf("/metrics = %d", c)
	}
}

// sdkError is an error as the AWS SDK returns it for a call that got an API error:
// its message carries the request id.
func sdkError(service, op, code, requestID string) error {
	return &smithy.OperationError{ServiceID: service, OperationName: op, Err: &awshttp.ResponseError{RequestID: requestID,
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 400}},
			Err: &smithy.GenericAPIError{Code: code, Message: "Requested resource not found"}}}}
}

// TestErrorCause: the cause of a failed call is its operation and the SDK's error
// code, or the network error's kind — the same for two calls that differ by request id
// or port.
func TestErrorCause(t *testing.T) {
	refused := func(port string) error {
		return &smithy.OperationError{ServiceID: "SQS", OperationName: "GetQueueAttributes", Err: &url.Error{Op: "Post",
			URL: "http://127.0.0.1:" + port + "/", Err: &net.OpError{Op: "dial", Net: "tcp",
				Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}}
	}
	for _, tt := range []struct {
		a, b error
		want string
	}{
		{sdkError("DynamoDB", "DescribeTable", "ResourceNotFoundException", "R1"), sdkError("DynamoDB", "DescribeTable", "ResourceNotFoundException", "R2"),
			"DynamoDB DescribeTable: ResourceNotFoundException"},
		{refused("4566"), refused("4567"), "SQS GetQueueAttributes: connection refused"},
		{fmt.Errorf("attempt 1: %w", context.DeadlineExceeded), fmt.Errorf("attempt 2: %w", context.DeadlineExceeded), "timeout"},
	} {
		if tt.a.Error() == tt.b.Error() {
			t.Fatalf("the test's two errors are the same: %v", tt.a)
		}
		if ca, cb := errorCause(tt.a), errorCause(tt.b); ca != tt.want || cb != tt.want {
			t.Errorf("errorCause(%v) = %q and %q, want %q", tt.a, ca, cb, tt.want)
		}
	}
}

// TestProbeLogOncePerCause: a probe failure that repeats round after round, each with
// its own request id, is logged once; another cause is logged, and so is the recovery.
func TestProbeLogOncePerCause(t *testing.T) {
	var buf bytes.Buffer
	pl := &probeLog{log: slog.New(slog.NewJSONHandler(&buf, nil))}
	missing := func(rid string) error {
		return probeError{{"table events", sdkError("DynamoDB", "DescribeTable", "ResourceNotFoundException", rid)}}
	}
	denied := probeError{{"table events", sdkError("DynamoDB", "DescribeTable", "AccessDeniedException", "R9")},
		{"queue http://q/events", sdkError("SQS", "GetQueueAttributes", "AWS.SimpleQueueService.NonExistentQueue", "R10")}}
	for _, err := range []error{nil, missing("R1"), missing("R2"), missing("R3"), denied, denied, nil, nil, missing("R4")} {
		pl.observe(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec struct{ Msg, Cause string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		got = append(got, rec.Msg+" | "+rec.Cause)
	}
	want := []string{
		"reachability probe failed: not ready | table events: DynamoDB DescribeTable: ResourceNotFoundException",
		"reachability probe failed: not ready | table events: DynamoDB DescribeTable: AccessDeniedException; queue http://q/events: SQS GetQueueAttributes: AWS.SimpleQueueService.NonExistentQueue",
		"reachability probe: every queue and table answers again | ",
		"reachability probe failed: not ready | table events: DynamoDB DescribeTable: ResourceNotFoundException",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
