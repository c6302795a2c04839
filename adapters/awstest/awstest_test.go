package awstest

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func TestMain(m *testing.M) { Main(m) }

func TestSharedReachesBoth(t *testing.T) {
	e := Shared(t)
	q := e.CreateQueue(t, "awstest", nil)
	ctx := context.Background()
	if _, err := e.SQSClient().SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("x")}); err != nil {
		t.Fatalf("send: %v", err)
	}
	if q.ARN == "" {
		t.Errorf("queue has no ARN")
	}
	tbl := e.CreateTable(t, "awstest", "pk", "sk")
	out, err := e.DynamoDBClient().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tbl)})
	if err != nil || len(out.Table.KeySchema) != 2 {
		t.Fatalf("describe table: %v", err)
	}
}

func TestStopStartKeepsTables(t *testing.T) {
	t.Parallel()
	e := Start(t)
	tbl := e.CreateTable(t, "persist", "pk")
	if err := e.DynamoDB.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := e.DynamoDBClient().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tbl)}, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("describe table on a stopped dynalite: %v, want a network error", err)
	}
	if err := e.DynamoDB.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DynamoDBClient().DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(tbl)}); err != nil {
		t.Errorf("table lost across a restart: %v", err)
	}
}

func TestPauseResume(t *testing.T) {
	t.Parallel()
	e := Start(t)
	if err := e.SQS.Pause(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := e.SQSClient().ListQueues(ctx, &sqs.ListQueuesInput{})
	if err == nil {
		t.Errorf("a paused fauxqs answered")
	}
	if err := e.SQS.Resume(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SQSClient().ListQueues(context.Background(), &sqs.ListQueuesInput{}); err != nil {
		t.Errorf("after resume: %v", err)
	}
}

// The emulators are found from any package of the module (tests run in their package's
// directory), not only from the one holding the npm pins.
func TestStartFromAnotherPackage(t *testing.T) {
	t.Setenv("CI", "true") // fail, not skip, when they are not found
	t.Chdir(filepath.Join("..", "..", "worker"))
	e := Start(t)
	if q := e.CreateQueue(t, "elsewhere", nil); q.URL == "" {
		t.Errorf("queue has no URL")
	}
}
