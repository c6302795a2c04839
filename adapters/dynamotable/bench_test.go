package dynamotable

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/awstest"
	"eventproc/worker"
)

// BenchmarkBatchUpsert measures items written per second to dynalite, 25 per request,
// from 8 writers at once, and the requests each item costs. Each item carries a payload
// hash, as the worker's do, so each write is preceded by its read of the stored hashes.
func BenchmarkBatchUpsert(b *testing.B) {
	e := awstest.Shared(b)
	cfg := e.Config.Copy()
	var counter awsclient.Counter
	counter.Instrument(&cfg)
	cfg.HTTPClient = awsclient.HTTPClient()
	name := e.CreateTable(b, "bench", "pk")
	tbl := New(newClient(cfg), Options{})
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				start := int(next.Add(25)) - 25
				if start >= b.N {
					return
				}
				items := make([]worker.Item, 0, 25)
				for i := start; i < min(start+25, b.N); i++ {
					items = append(items, worker.Item{Table: name, Key: map[string]string{"pk": fmt.Sprint("k", i)},
						Attrs: map[string]any{worker.HashAttribute: fmt.Sprint("h", i), "status": "processed", "body": map[string]any{"order_id": "o-1", "total": 100.5, "items_count": int64(2)}}})
				}
				for _, err := range tbl.Put(context.Background(), items) {
					if err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(counter.Total().Requests)/float64(b.N), "requests/item")
}

// BenchmarkBatchUpsertLatency measures items per second through a fake DynamoDB whose
// every call takes 5 ms, from 8 writers at once, each of distinct keys: the key locks
// (keylock.go) must not make them wait for each other (about 16,000 items/s, as without
// locks; 256 striped locks would give about 5,000).
func BenchmarkBatchUpsertLatency(b *testing.B) {
	tbl := New(&slowAPI{hashAPI{stored: map[string]string{}}}, Options{})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				start := int(next.Add(25)) - 25
				if start >= b.N {
					return
				}
				items := make([]worker.Item, 0, 25)
				for i := start; i < min(start+25, b.N); i++ {
					items = append(items, hashedItem(fmt.Sprint("k", i), "h"))
				}
				for _, err := range tbl.Put(context.Background(), items) {
					if err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

// slowAPI is hashAPI with 5 ms calls.
type slowAPI struct{ hashAPI }

func (f *slowAPI) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	time.Sleep(5 * time.Millisecond)
	return f.hashAPI.BatchGetItem(ctx, in, o...)
}

func (f *slowAPI) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	time.Sleep(5 * time.Millisecond)
	return f.hashAPI.BatchWriteItem(ctx, in, o...)
}

func newClient(cfg aws.Config) *dynamodb.Client { return dynamodb.NewFromConfig(cfg) }
