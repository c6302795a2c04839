package e2e

import (
	"context"
	"eventproc/cli"
	"eventproc/internal/fixture"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/adapters/awstest"
)

// TestCheckConnect runs `eventproc check --connect` against emulators provisioned by
// `eventproc provision` (no problem), then against a setup with every problem it
// knows: a queue without redrive, a redrive below max_attempts, a short visibility
// timeout, a table keyed the wrong way, a missing table.
func TestCheckConnect(t *testing.T) {
	e := awstest.Start(t)
	env := []string{
		"AWS_REGION=" + awstest.Region, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_SQS=" + e.SQS.Endpoint, "AWS_ENDPOINT_URL_DYNAMODB=" + e.DynamoDB.Endpoint,
	}
	cli := func(extra []string, args ...string) (int, string, string) {
		var out, errb strings.Builder
		code := cli.Run(context.Background(), args, append(append([]string{}, env...), extra...), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errs := cli(nil, "provision", "--queue", "events"); code != 0 {
		t.Fatalf("provision: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := cli([]string{"EVENTPROC_QUEUE_URL=events"}, "check", "--connect")
	if code != 0 || strings.Contains(out, "[queue-") || strings.Contains(out, "[table-") {
		t.Fatalf("a provisioned setup: exit %d\n%s%s", code, out, errs)
	}

	// A broken setup.
	ctx := context.Background()
	sq, db := e.SQSClient(), e.DynamoDBClient()
	if _, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bare"),
		Attributes: map[string]string{"VisibilityTimeout": "5"}}); err != nil {
		t.Fatal(err)
	}
	dlq, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("low-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	arn, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("low"), Attributes: map[string]string{
		"VisibilityTimeout": "60",
		"RedrivePolicy":     `{"deadLetterTargetArn":"` + arn.Attributes["QueueArn"] + `","maxReceiveCount":"3"}`,
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("wrongkey"),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
	}); err != nil {
		t.Fatal(err)
	}
	rules := fixture.BrokenRules(t, "defaults.yaml", `defaults:
  persist:
    table: wrongkey
    rejected_table: nowhere
    key: {pk: tenant_id + "#" + event_id}
`)
	cfg := filepath.Join(t.TempDir(), "eventproc.yaml")
	if err := os.WriteFile(cfg, []byte("sources:\n  - queue_url: bare\n  - queue_url: low\n  - queue_url: absent\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = cli(nil, "check", "--connect", "--rules", rules, "--config", cfg)
	if code != 1 {
		t.Fatalf("a broken setup: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		rules + "/defaults.yaml:3:5: table nowhere does not exist (eventproc provision creates it) [table-missing]",
		rules + "/defaults.yaml:3:5: table wrongkey is keyed [id HASH S], but the persistence mapping needs [pk HASH S] [table-key-mismatch]",
		cfg + ":1:1: queue bare has no redrive policy",
		cfg + ":1:1: queue bare: visibility timeout 5s is shorter than two AWS calls",
		cfg + ":1:1: queue low: redrive maxReceiveCount 3 must exceed the largest max_attempts in events.d (8)",
		cfg + ":1:1: queue absent: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}
