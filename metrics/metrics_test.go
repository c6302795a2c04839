package metrics_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"eventproc/engine"
	"eventproc/metrics"
	"eventproc/worker"
)

// TestExposition: settlements, rules, worker counters and AWS counts as text, with
// bounded labels.
func TestExposition(t *testing.T) {
	m := metrics.New()
	m.SetRules([]engine.TypeInfo{{Name: "order.placed", Versions: []string{"v1", "v2"}}}, time.Unix(1700000000, 0))
	m.WatchWorker(func() worker.Stats {
		return worker.Stats{Received: 10, Outcomes: map[worker.Outcome]int64{worker.Processed: 6, worker.Rejected: 1}, ReceiveErrors: 2}
	})
	m.WatchAWS(func() []metrics.AWSCount {
		return []metrics.AWSCount{{Service: "SQS", Operation: "ReceiveMessage", Requests: 5, Errors: 1}}
	})
	ok := &engine.Verdict{Outcome: engine.Valid, EventType: "order.placed", Version: "v2"}
	bad := &engine.Verdict{Outcome: engine.Invalid, EventType: "order.placed", Version: "v1",
		Violations: []engine.Violation{{Rule: "body.total.gt"}, {Rule: "body.status.required"}}}
	stranger := &engine.Verdict{Outcome: engine.Invalid, EventType: "made.up", Version: "v9"}
	m.Settled(worker.Settlement{Outcome: worker.Processed, Verdict: ok, Took: 3 * time.Millisecond})
	m.Settled(worker.Settlement{Outcome: worker.Processed, Verdict: ok, Took: 4 * time.Millisecond})
	m.Settled(worker.Settlement{Outcome: worker.Rejected, Verdict: bad, Took: time.Millisecond})
	m.Settled(worker.Settlement{Outcome: worker.Rejected, Verdict: stranger})
	m.Settled(worker.Settlement{Outcome: worker.Retry, Verdict: ok, Delay: 30 * time.Second})
	m.Settled(worker.Settlement{Outcome: worker.Exhausted, Verdict: ok, DeadLetter: worker.Exhausted})
	m.Settled(worker.Settlement{Outcome: worker.Retry, Verdict: ok, DeadLetter: worker.RuleFailed, DeadLetterErr: errors.New("throttled"), Delay: time.Second})
	m.Settled(worker.Settlement{Outcome: worker.Released})
	m.Settled(worker.Settlement{Outcome: worker.Outage, Verdict: ok})
	m.Settled(worker.Settlement{Outcome: worker.Conflict, Verdict: ok, DeadLetter: worker.Conflict})
	m.Reloaded(false)
	m.IntakeChanged(worker.Fatal)
	m.IntakeChanged(worker.Outage) // the latest cause only

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`eventproc_events_total{event_type="order.placed",outcome="processed",schema_version="v2"} 2`,
		`eventproc_events_total{event_type="order.placed",outcome="rejected",schema_version="v1"} 1`,
		`eventproc_events_total{event_type="unknown",outcome="rejected",schema_version="unknown"} 1`,
		`eventproc_events_total{event_type="unknown",outcome="released",schema_version="unknown"} 1`,
		`eventproc_violations_total{event_type="order.placed",rule="body.total.gt",schema_version="v1"} 1`,
		`eventproc_violations_total{event_type="order.placed",rule="body.status.required",schema_version="v1"} 1`,
		`eventproc_processing_seconds_count{outcome="processed"} 2`,
		`eventproc_processing_seconds_bucket{outcome="processed",le="0.005"} 2`,
		`eventproc_retry_delay_seconds_count{event_type="order.placed"} 2`,
		`eventproc_retry_delay_seconds_bucket{event_type="order.placed",le="30"} 2`,
		`eventproc_retry_delay_seconds_bucket{event_type="order.placed",le="15"} 1`,
		`eventproc_dead_letters_total{outcome="exhausted",result="sent"} 1`,
		`eventproc_dead_letters_total{outcome="rule_failed",result="failed"} 1`,
		`eventproc_events_total{event_type="order.placed",outcome="outage",schema_version="v2"} 1`,
		`eventproc_intake_paused{cause="outage"} 1`,
		`eventproc_intake_paused{cause="fatal"} 0`,
		`eventproc_events_total{event_type="order.placed",outcome="conflict",schema_version="v2"} 1`,
		`eventproc_dead_letters_total{outcome="conflict",result="sent"} 1`,
		`eventproc_dead_letters_total{outcome="conflict",result="failed"} 0`,
		`eventproc_rules_types 1`,
		`eventproc_rules_versions 2`,
		`eventproc_rules_loaded_timestamp_seconds 1.7e+09`,
		`eventproc_rules_reloads_total{result="failed"} 1`,
		`eventproc_rules_reloads_total{result="ok"} 0`,
		`eventproc_messages_received_total 10`,
		`eventproc_in_flight_messages 3`,
		`eventproc_receive_errors_total 2`,
		`eventproc_aws_requests_total{operation="ReceiveMessage",service="SQS"} 5`,
		`eventproc_aws_request_errors_total{operation="ReceiveMessage",service="SQS"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(body, "made.up") || strings.Contains(body, "v9") {
		t.Errorf("an undeclared type became a label value")
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", body)
	}
}

// TestIntakePausedResumes: intake resuming sets every cause of the pause gauge to 0.
func TestIntakePausedResumes(t *testing.T) {
	m := metrics.New()
	m.IntakeChanged(worker.Outage)
	m.IntakeChanged("")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`eventproc_intake_paused{cause="fatal"} 0`, `eventproc_intake_paused{cause="outage"} 0`} {
		if !strings.Contains(rec.Body.String(), want+"\n") {
			t.Errorf("missing %q", want)
		}
	}
}

// BenchmarkSettled: the cost the metrics add to each message.
func BenchmarkSettled(b *testing.B) {
	m := metrics.New()
	m.SetRules([]engine.TypeInfo{{Name: "order.placed", Versions: []string{"v1", "v2"}}}, time.Now())
	s := worker.Settlement{Outcome: worker.Processed, Verdict: &engine.Verdict{EventType: "order.placed", Version: "v1"}, Took: 3 * time.Millisecond}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Settled(s)
		}
	})
}
