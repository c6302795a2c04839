package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/adapters/awstest"
	"eventproc/adapters/dynamotable"
	"eventproc/adapters/sqsqueue"
	"eventproc/config"
	"eventproc/engine"
	"eventproc/worker"
)

// flakySink fails the first write of the chosen events retryably and records, per
// message group, the sequence (seq, from the event id) of every write that succeeded,
// in the order they succeeded.
type flakySink struct {
	worker.Sink
	mu     sync.Mutex
	failOn map[string]bool // event ids whose next write fails
	order  map[string][]int
	failed int
}

func (s *flakySink) Put(ctx context.Context, items []worker.Item) []error {
	errs := make([]error, len(items))
	var pass []worker.Item
	var at []int
	s.mu.Lock()
	for i, it := range items {
		id, _ := it.Attrs["event_id"].(string)
		if s.failOn[id] {
			delete(s.failOn, id)
			s.failed++
			errs[i] = &worker.RetryableError{Err: errors.New("injected: ProvisionedThroughputExceededException")}
			continue
		}
		pass = append(pass, it)
		at = append(at, i)
	}
	s.mu.Unlock()
	got := s.Sink.Put(ctx, pass)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, i := range at {
		errs[i] = got[k]
		if got[k] == nil {
			g, seq := parseFIFOEvent(pass[k].Attrs["event_id"].(string))
			s.order[g] = append(s.order[g], seq)
		}
	}
	return errs
}

// shortRetry gives every verdict a retry policy of one-second delays.
type shortRetry struct{ worker.Engine }

func (e shortRetry) Evaluate(ctx context.Context, body string, opts ...engine.EvalOption) *engine.Verdict {
	v := e.Engine.Evaluate(ctx, body, opts...)
	v.Retry = engine.RetryPolicy{MaxAttempts: 5, InitialDelay: time.Second, Multiplier: 1, MaxDelay: time.Second}
	return v
}

func fifoEventID(g, seq int) string { return fmt.Sprintf("fifo-g%02d-%03d", g, seq) }

func parseFIFOEvent(id string) (group string, seq int) {
	var g int
	if _, err := fmt.Sscanf(id, "fifo-g%02d-%03d", &g, &seq); err != nil {
		panic(id)
	}
	return fmt.Sprintf("g%02d", g), seq
}

// TestFIFOOrder: 20 groups × 50 sequenced events on a FIFO queue (fauxqs) through the
// worker of `eventproc run` into dynalite, the first write of some events failing
// retryably: every group's items are written in sequence order, each stored item keeps
// the SQS SequenceNumber of its message, in the same order as the events' own
// sequence, nothing is lost or stored twice, and the queue and its dead-letter queue
// end empty.
func TestFIFOOrder(t *testing.T) {
	const groups, per = 20, 50
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
	q, err := sqsqueue.Provision(ctx, e.SQSClient(), awstest.UniqueName("order")+".fifo", sqsqueue.ProvisionOptions{
		MaxAttempts: rs.MaxAttempts(), VisibilityTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sink := &flakySink{failOn: map[string]bool{}, order: map[string][]int{}}
	for g := range groups {
		for seq := range per {
			if (g*per+seq)%37 == 5 {
				sink.failOn[fifoEventID(g, seq)] = true
			}
		}
	}
	injected := len(sink.failOn)
	sendFIFO(t, e.SQSClient(), q.URL, groups, per)

	cfg, err := config.Load(config.Input{Dir: t.TempDir(), Flags: map[string]string{
		"queue_url": q.URL, "receive_wait": "1s", "concurrency": "4", "workers": "32", "http.addr": ""}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWorker(ctx, cfg, shortRetry{worker.NewSwapEngine(rs)}, e.Config, slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(c *worker.Config) {
			sink.Sink = c.Sink
			c.Sink = sink
		})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	deadline := time.Now().Add(45 * time.Second)
	for w.Stats().Outcomes[worker.Processed] < groups*per && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.Outcomes[worker.Processed] != groups*per || st.Outcomes[worker.Retry] != int64(injected) {
		t.Fatalf("outcomes %v, want %d processed and %d retries", st.Outcomes, groups*per, injected)
	}
	for g := range groups {
		want := make([]int, per)
		for i := range want {
			want[i] = i
		}
		if got := sink.order[fmt.Sprintf("g%02d", g)]; !slices.Equal(got, want) {
			t.Errorf("group g%02d written in order %v", g, got)
		}
	}
	checkStoredOrder(t, e.DynamoDBClient(), groups, per)
	for _, url := range []string{q.URL, q.DeadLetterURL} {
		d, err := sqsqueue.QueueDepth(ctx, e.SQSClient(), url, 0)
		if err != nil {
			t.Fatal(err)
		}
		if d != (sqsqueue.Depth{}) {
			t.Errorf("%s: %+v, want empty", url, d)
		}
	}
}

// sendFIFO sends per events to each of groups message groups, in sequence order.
func sendFIFO(t *testing.T, api *sqs.Client, url string, groups, per int) {
	t.Helper()
	for seq := 0; seq < per; seq += 10 {
		for g := range groups {
			var entries []types.SendMessageBatchRequestEntry
			for s := seq; s < min(seq+10, per); s++ {
				id := fifoEventID(g, s)
				body := fmt.Sprintf(`{"event_id":%q,"event_type":"order.placed","tenant_id":"t-fifo","client_id":"c","schema_version":"v1",`+
					`"occurred_at":"2026-02-04T14:00:15Z","body":{"order_id":"g%02d","user_id":"u","total":1.5,"items_count":%d,"status":"confirmed"}}`, id, g, s+1)
				entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(s - seq)), MessageBody: aws.String(body),
					MessageGroupId: aws.String(fmt.Sprintf("g%02d", g)), MessageDeduplicationId: aws.String(id)})
			}
			out, err := api.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
			if err != nil || len(out.Failed) > 0 {
				t.Fatalf("send: %v %+v", err, out)
			}
		}
	}
}

// checkStoredOrder reads the stored items back: one per event, each with its group
// and its message's SequenceNumber, increasing with the event's own sequence.
func checkStoredOrder(t *testing.T, db *dynamodb.Client, groups, per int) {
	t.Helper()
	type stored struct {
		seq    int
		sqsSeq *big.Int
	}
	byGroup := map[string][]stored{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String("events")})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			id := it["event_id"].(*ddbtypes.AttributeValueMemberS).Value
			g, seq := parseFIFOEvent(id)
			mg, _ := it["message_group_id"].(*ddbtypes.AttributeValueMemberS)
			sn, _ := it["sequence_number"].(*ddbtypes.AttributeValueMemberS)
			if mg == nil || sn == nil || mg.Value != g {
				t.Fatalf("item %s: message_group_id %v, sequence_number %v", id, mg, sn)
			}
			n, ok := new(big.Int).SetString(sn.Value, 10)
			if !ok {
				t.Fatalf("item %s: sequence_number %q is not a number", id, sn.Value)
			}
			byGroup[g] = append(byGroup[g], stored{seq, n})
		}
	}
	total := 0
	for g, items := range byGroup {
		total += len(items)
		slices.SortFunc(items, func(a, b stored) int { return a.seq - b.seq })
		for i, it := range items {
			if it.seq != i {
				t.Fatalf("group %s: events %v stored, want 0..%d once each", g, items, per-1)
			}
			if i > 0 && it.sqsSeq.Cmp(items[i-1].sqsSeq) <= 0 {
				t.Errorf("group %s: event %d has SequenceNumber %v, not after event %d's %v", g, i, it.sqsSeq, i-1, items[i-1].sqsSeq)
			}
		}
	}
	if total != groups*per || len(byGroup) != groups {
		t.Errorf("%d items in %d groups, want %d in %d", total, len(byGroup), groups*per, groups)
	}
}
