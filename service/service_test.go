package service

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"eventproc/adapters/awstest"
	"eventproc/adapters/dynamotable"
	"eventproc/adapters/sqsqueue"
	"eventproc/config"
	"eventproc/engine"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRun starts the run process without the binary: it stores a message from the queue,
// reloads the rules when asked, and returns nil once its context ends and it has drained.
func TestRun(t *testing.T) {
	e := awstest.Start(t)
	ctx := context.Background()
	rs, _, err := engine.LoadDir("events.d")
	if err != nil || rs == nil {
		t.Fatalf("events.d does not load: %v", err)
	}
	for _, tbl := range rs.Tables() {
		if _, err := dynamotable.Provision(ctx, e.DynamoDBClient(), dynamotable.Spec{Name: tbl.Name, Key: tbl.Key}); err != nil {
			t.Fatal(err)
		}
	}
	q, err := sqsqueue.Provision(ctx, e.SQSClient(), awstest.UniqueName("service"), sqsqueue.ProvisionOptions{
		MaxAttempts: rs.MaxAttempts(), VisibilityTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Input{Flags: map[string]string{
		"queue_url": q.URL, "rules": "events.d", "receive_wait": "1s", "http.addr": "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AWS_REGION": awstest.Region, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL_SQS": e.SQS.Endpoint, "AWS_ENDPOINT_URL_DYNAMODB": e.DynamoDB.Endpoint,
	}
	body := `{"event_id":"svc-1","event_type":"order.placed","tenant_id":"t7","client_id":"c42","schema_version":"v1","occurred_at":"2026-02-04T14:00:15Z","body":{"order_id":"ord-1","user_id":"u-1","total":100.50,"items_count":2,"status":"confirmed"}}`
	if _, err := e.SQSClient().SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}

	var logs syncBuffer
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	reload := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(runCtx, cfg, slog.New(slog.NewJSONHandler(&logs, nil)), Options{Getenv: func(k string) string { return env[k] }, Reload: reload})
	}()
	waitFor(t, "the item to be stored", &logs, func() bool {
		out, err := e.DynamoDBClient().Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(rs.Tables()[0].Name)})
		return err == nil && out.Count == 1
	})
	reload <- syscall.SIGHUP
	waitFor(t, "the rules to be reloaded", &logs, func() bool {
		return strings.Contains(logs.String(), "rules reloaded: new messages use them")
	})
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Run did not return after its context ended\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no summary logged:\n%s", logs.String())
	}
}

// TestRunRulesDoNotLoad: Run returns an error, logged, when events.d does not load.
func TestRunRulesDoNotLoad(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load(config.Input{Flags: map[string]string{"queue_url": "http://127.0.0.1:1/q", "rules": dir, "http.addr": ""}})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	if err := Run(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)), Options{}); err == nil {
		t.Fatalf("Run: nil error\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"rules do not load"`) {
		t.Errorf("not logged:\n%s", logs.String())
	}
}

func waitFor(t *testing.T, what string, logs *syncBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
