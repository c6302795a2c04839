// Package metrics exposes what eventproc does as Prometheus metrics, all named
// eventproc_*: message outcomes by event type and version, violations by rule, the
// processing latency, retry delays, dead letters, messages in flight, AWS requests by
// operation and the loaded rules. README.md lists them.
//
// Metrics implements worker.Observer; the worker itself does not import Prometheus.
// Labels are bounded: an event type or version that the loaded rules do not declare is
// counted as "unknown", so a producer cannot add label values.
package metrics

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"eventproc/engine"
	"eventproc/worker"
)

// Unknown is the label value of an event type or version the loaded rules do not declare
// (or that a message did not say).
const Unknown = "unknown"

// Metrics holds eventproc's metrics in a registry of its own. Safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	events      *prometheus.CounterVec
	violations  *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	retryDelay  *prometheus.HistogramVec
	deadLetters *prometheus.CounterVec
	reloads     *prometheus.CounterVec
	ruleTypes   prometheus.Gauge
	ruleVers    prometheus.Gauge
	rulesLoaded prometheus.Gauge
	paused      *prometheus.GaugeVec

	known atomic.Pointer[map[[2]string]bool] // declared (type, version); (type, "") for a type
}

var (
	_ worker.Observer       = (*Metrics)(nil)
	_ worker.IntakeObserver = (*Metrics)(nil)
)

// pauseCauses are the label values of eventproc_intake_paused.
var pauseCauses = []worker.Outcome{worker.Fatal, worker.Outage}

// LatencyBuckets are the processing latency histogram's upper bounds, in seconds.
var LatencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// RetryDelayBuckets are the retry delay histogram's upper bounds, in seconds: around the
// delays a retry policy produces (initial_delay × multiplier^n, capped at max_delay,
// at most 12 h), jitter only shortening them.
var RetryDelayBuckets = []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600}

// New returns the metrics, with the Go runtime's and the process's collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eventproc_events_total",
		Help: "Messages settled, by event type, schema version and outcome (processed, rejected, rule_failed, retry, exhausted, unwritable, conflict, fatal, outage, panic, released, broken)."},
		[]string{"event_type", "schema_version", "outcome"})
	m.violations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eventproc_violations_total",
		Help: "Failed error-severity rules of rejected events, by event type, schema version and rule id."},
		[]string{"event_type", "schema_version", "rule"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "eventproc_processing_seconds",
		Help: "Time from a message's receipt to its outcome (evaluation, write, dead-letter send), by outcome.", Buckets: LatencyBuckets},
		[]string{"outcome"})
	m.retryDelay = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "eventproc_retry_delay_seconds",
		Help: "Delay before a retried message is delivered again, by event type; the count is the number of retries.", Buckets: RetryDelayBuckets},
		[]string{"event_type"})
	m.deadLetters = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eventproc_dead_letters_total",
		Help: "Dead-letter sends, by the outcome they were sent under and their result (sent, failed)."},
		[]string{"outcome", "result"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eventproc_rules_reloads_total",
		Help: "SIGHUP reloads of events.d, by result (ok: the new rules are in use; failed: the old ones are kept)."},
		[]string{"result"})
	m.ruleTypes = prometheus.NewGauge(prometheus.GaugeOpts{Name: "eventproc_rules_types", Help: "Event types of the rules in use."})
	m.ruleVers = prometheus.NewGauge(prometheus.GaugeOpts{Name: "eventproc_rules_versions", Help: "Event type versions of the rules in use."})
	m.rulesLoaded = prometheus.NewGauge(prometheus.GaugeOpts{Name: "eventproc_rules_loaded_timestamp_seconds",
		Help: "When the rules in use were loaded (Unix time)."})
	m.paused = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "eventproc_intake_paused",
		Help: "1 while intake is paused, by cause: fatal (a deployment error) or outage (a table or dead-letter queue failing most writes); 0 otherwise."},
		[]string{"cause"})
	m.reg.MustRegister(m.events, m.violations, m.latency, m.retryDelay, m.deadLetters, m.reloads,
		m.ruleTypes, m.ruleVers, m.rulesLoaded, m.paused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series that exist from the start, so that rates and alerts see zeros, not gaps.
	for _, r := range []string{"ok", "failed"} {
		m.reloads.WithLabelValues(r)
	}
	for _, c := range pauseCauses {
		m.paused.WithLabelValues(string(c))
	}
	for _, o := range []worker.Outcome{worker.RuleFailed, worker.Exhausted, worker.Panicked, worker.Broken, worker.Unwritable, worker.Conflict} {
		for _, r := range []string{"sent", "failed"} {
			m.deadLetters.WithLabelValues(string(o), r)
		}
	}
	empty := map[[2]string]bool{}
	m.known.Store(&empty)
	return m
}

// Registry is where the metrics are registered.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// SetRules records the rules in use (at start and after every successful reload): their
// types and versions, which also become the label values events are counted under.
func (m *Metrics) SetRules(types []engine.TypeInfo, loaded time.Time) {
	known := map[[2]string]bool{}
	versions := 0
	for _, t := range types {
		known[[2]string{t.Name, ""}] = true
		for _, v := range t.Versions {
			known[[2]string{t.Name, v}] = true
			versions++
		}
	}
	m.known.Store(&known)
	m.ruleTypes.Set(float64(len(types)))
	m.ruleVers.Set(float64(versions))
	m.rulesLoaded.Set(float64(loaded.UnixNano()) / 1e9)
}

// Reloaded counts a reload: ok when the new rules are in use, not when the old ones
// were kept.
func (m *Metrics) Reloaded(ok bool) {
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
	} else {
		m.reloads.WithLabelValues("failed").Inc()
	}
}

// labels returns the bounded type and version labels of a verdict.
func (m *Metrics) labels(v *engine.Verdict) (typ, ver string) {
	if v == nil {
		return Unknown, Unknown
	}
	known := *m.known.Load()
	typ, ver = Unknown, Unknown
	if known[[2]string{v.EventType, ""}] {
		typ = v.EventType
		if known[[2]string{v.EventType, v.Version}] {
			ver = v.Version
		}
	}
	return typ, ver
}

// IntakeChanged records a pause of intake and its cause, or its resumption (cause "")
// (worker.IntakeObserver).
func (m *Metrics) IntakeChanged(cause worker.Outcome) {
	for _, c := range pauseCauses {
		v := 0.0
		if c == cause {
			v = 1
		}
		m.paused.WithLabelValues(string(c)).Set(v)
	}
}

// Settled counts one settled message (worker.Observer).
func (m *Metrics) Settled(s worker.Settlement) {
	typ, ver := m.labels(s.Verdict)
	out := string(s.Outcome)
	m.events.WithLabelValues(typ, ver, out).Inc()
	m.latency.WithLabelValues(out).Observe(s.Took.Seconds())
	if s.Outcome == worker.Rejected && s.Verdict != nil {
		for _, v := range s.Verdict.Violations {
			m.violations.WithLabelValues(typ, ver, v.Rule).Inc()
		}
	}
	if s.Outcome == worker.Retry {
		m.retryDelay.WithLabelValues(typ).Observe(s.Delay.Seconds())
	}
	if s.DeadLetter != "" {
		result := "sent"
		if s.DeadLetterErr != nil {
			result = "failed"
		}
		m.deadLetters.WithLabelValues(string(s.DeadLetter), result).Inc()
	}
}
