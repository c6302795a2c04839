package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestFaultProxy: the proxy's answers are errors the SDK parses as the AWS errors they
// mimic, and retries as AWS's (the SDK's defaults: 4 attempts a DynamoDB call, 3 an SQS
// call; the scenarios count on them); requests the rule does not match,
// and every request while it is off, reach the target.
func TestFaultProxy(t *testing.T) {
	var reached int
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte(`{}`))
	}))
	defer target.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}

	throttle := throttleWrites
	throttle.fraction = 1
	dp := newFaultProxy(t, target.URL, throttle)
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(dp.url) })
	put := func() error {
		_, err := ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("t"),
			Item: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}}})
		return err
	}
	if err := put(); err != nil || reached != 1 {
		t.Errorf("rule off: %v, %d requests reached the target, want nil, 1", err, reached)
	}
	dp.on.Store(true)
	var pte *ddbtypes.ProvisionedThroughputExceededException
	if err := put(); !errors.As(err, &pte) {
		t.Errorf("throttled write: %v, want ProvisionedThroughputExceededException", err)
	}
	if n := dp.faults.Load(); n != 4 {
		t.Errorf("the SDK made %d attempts at a throttled write, want 4 (the DynamoDB client's default)", n)
	}
	if _, err := ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}}}); err != nil || reached != 2 {
		t.Errorf("a read while writes are throttled: %v, %d requests reached the target, want nil, 2", err, reached)
	}

	internal := sqsInternalError
	internal.fraction = 1
	sp := newFaultProxy(t, target.URL, internal)
	sp.on.Store(true)
	sq := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(sp.url) })
	_, err := sq.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(sp.url + "/000000000000/q"), ReceiptHandle: aws.String("r")})
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusInternalServerError {
		t.Errorf("SQS call: %v, want an HTTP 500 response error", err)
	}
	if n := sp.faults.Load(); n != 3 {
		t.Errorf("the SDK made %d attempts at an SQS call answered 500, want 3", n)
	}
	t.Logf("DynamoDB proxy: %v; SQS proxy: %v; SQS error: %v", dp, sp, err)
}
