package awsclient

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"eventproc/adapters/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadTakesEndpointsAndCredentialsFromEnv(t *testing.T) {
	e := awstest.Shared(t)
	cfg, err := Load(context.Background(), env(map[string]string{
		"AWS_REGION":                "eu-west-3",
		"AWS_ACCESS_KEY_ID":         "id",
		"AWS_SECRET_ACCESS_KEY":     "secret",
		"AWS_ENDPOINT_URL_SQS":      e.SQS.Endpoint,
		"AWS_ENDPOINT_URL_DYNAMODB": e.DynamoDB.Endpoint,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-3" {
		t.Errorf("region = %q", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "id" {
		t.Errorf("credentials = %+v, %v", creds, err)
	}
	var c Counter
	c.Instrument(&cfg)
	ctx := context.Background()
	if _, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Fatalf("SQS through the env endpoint: %v", err)
	}
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("DynamoDB through the env endpoint: %v", err)
	}
	_, err = dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("missing")})
	if err == nil {
		t.Fatalf("describe a missing table: no error")
	}
	got := c.Snapshot()
	want := map[Op]Count{
		{"SQS", "ListQueues"}:         {1, 0},
		{"DynamoDB", "ListTables"}:    {1, 0},
		{"DynamoDB", "DescribeTable"}: {1, 1},
	}
	for op, n := range want {
		if got[op] != n {
			t.Errorf("%v: %+v, want %+v (all: %v)", op, got[op], n, got)
		}
	}
	if tot := c.Total(); tot.Requests != 3 || tot.Errors != 1 {
		t.Errorf("Total = %+v", tot)
	}
	if ops := c.Ops(); len(ops) != 3 || ops[0].Service != "DynamoDB" {
		t.Errorf("Ops = %v", ops)
	}
}
