package dynamotable

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"eventproc/adapters/awstest"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

func TestMain(m *testing.M) { awstest.Main(m) }

func harness(mode Mode) workertest.SinkHarness {
	return workertest.SinkHarness{FirstWriteWins: mode == ConditionalPut, New: func(t *testing.T, key []string) workertest.SinkFixture {
		e := awstest.Shared(t)
		c := e.DynamoDBClient()
		name := e.CreateTable(t, "sink", key...)
		return workertest.SinkFixture{
			Sink:  New(c, Options{Mode: mode}),
			Table: name,
			Get: func(t *testing.T, key map[string]string) (map[string]any, bool) {
				k := map[string]types.AttributeValue{}
				for n, v := range key {
					k[n] = &types.AttributeValueMemberS{Value: v}
				}
				out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(name), Key: k, ConsistentRead: aws.Bool(true)})
				if err != nil {
					t.Fatalf("get item: %v", err)
				}
				if out.Item == nil {
					return nil, false
				}
				return Values(out.Item), true
			},
			Count:        func(t *testing.T) int { return count(t, c, name) },
			MissingTable: awstest.UniqueName("missing"),
		}
	}}
}

func count(t *testing.T, c *dynamodb.Client, table string) int {
	t.Helper()
	out, err := c.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table), Select: types.SelectCount})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return int(out.Count)
}

func TestBatchUpsertConforms(t *testing.T)    { workertest.TestSink(t, harness(BatchUpsert)) }
func TestConditionalPutConforms(t *testing.T) { workertest.TestSink(t, harness(ConditionalPut)) }

func TestProvision(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := e.DynamoDBClient()
	ctx := context.Background()
	tbl := Spec{Name: awstest.UniqueName("prov"), Key: []string{"pk", "sk"}}
	t.Cleanup(func() { c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(tbl.Name)}) })
	created, err := Provision(ctx, c, tbl)
	if err != nil || !created {
		t.Fatalf("Provision = %v, %v; want created", created, err)
	}
	created, err = Provision(ctx, c, tbl)
	if err != nil || created {
		t.Fatalf("Provision again = %v, %v; want existing, no error", created, err)
	}
	out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tbl.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Table.TableStatus != types.TableStatusActive || out.Table.BillingModeSummary == nil ||
		out.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("table = %s, billing %+v", out.Table.TableStatus, out.Table.BillingModeSummary)
	}
	_, err = Provision(ctx, c, Spec{Name: tbl.Name, Key: []string{"pk"}})
	if err == nil || !strings.Contains(err.Error(), "pk (HASH, S), sk (RANGE, S)") || !strings.Contains(err.Error(), "needs pk (HASH, S)") {
		t.Errorf("Provision with another key schema: %v", err)
	}
	if _, err := Provision(ctx, c, Spec{Name: "x"}); err == nil {
		t.Errorf("Provision without a key: no error")
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := e.DynamoDBClient()
	name := e.CreateTable(t, "count", "pk")
	var items []worker.Item
	for i, s := range []string{"processed", "processed", "failed"} {
		items = append(items, worker.Item{Table: name, Key: map[string]string{"pk": string(rune('a' + i))},
			Attrs: map[string]any{"status": s, "event_type": "order.placed"}})
	}
	for _, err := range New(c, Options{}).Put(context.Background(), items) {
		if err != nil {
			t.Fatal(err)
		}
	}
	groups, err := Count(context.Background(), c, name, []string{"event_type", "status"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Group{{[]string{"order.placed", "failed"}, 1}, {[]string{"order.placed", "processed"}, 2}}
	if len(groups) != 2 || groups[0].Items != 1 || groups[1].Items != 2 || groups[1].Values[1] != "processed" {
		t.Errorf("Count = %v, want %v", groups, want)
	}
}

func TestOutagesAreRetryable(t *testing.T) {
	t.Parallel()
	e := awstest.Start(t)
	c := e.DynamoDBClient()
	name := e.CreateTable(t, "outage", "pk")
	items := []worker.Item{{Table: name, Key: map[string]string{"pk": "a"}, Attrs: map[string]any{}}}
	// The modes run in turn: each pauses and stops the one emulator.
	for _, mode := range []Mode{BatchUpsert, ConditionalPut} {
		t.Run(mode.String(), func(t *testing.T) {
			checkOutages(t, e, New(c, Options{Mode: mode, CallTimeout: 700 * time.Millisecond}), mode, items)
		})
	}
}

// checkOutages puts items through tbl while DynamoDB hangs, then while it is stopped,
// then after it restarts.
func checkOutages(t *testing.T, e *awstest.Emulators, tbl *Table, mode Mode, items []worker.Item) {
	if err := e.DynamoDB.Pause(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	checkRetryable(t, mode.String()+" on a hung table", tbl.Put(context.Background(), items)[0])
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("%s on a hung table took %v; the call timeout is 700ms", mode, d)
	}
	if err := e.DynamoDB.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := e.DynamoDB.Stop(); err != nil {
		t.Fatal(err)
	}
	checkRetryable(t, mode.String()+" on a stopped table", tbl.Put(context.Background(), items)[0])
	checkRetryable(t, "probe of a stopped table", Probe(context.Background(), e.DynamoDBClient(), items[0].Table, 700*time.Millisecond))
	if err := e.DynamoDB.Start(); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Put(context.Background(), items)[0]; err != nil {
		t.Errorf("%s after restart: %v", mode, err)
	}
}

func checkRetryable(t *testing.T, what string, err error) {
	t.Helper()
	var re *worker.RetryableError
	if !errors.As(err, &re) {
		t.Errorf("%s: %v, want a *worker.RetryableError", what, err)
	}
}
