package config

import (
	"fmt"
	"strings"
	"time"

	"eventproc/limits"
)

// kind is the type of a configuration value, given by the Config field it is decoded
// into.
type kind int

const (
	kString   kind = iota // a string field
	kInt                  // an int field
	kDuration             // a time.Duration field
	kSources              // the []Source field
)

// field is one configuration key: everything about it is declared here, once. Load
// decodes its value into the Config field that at points to; Keys (the flags and the
// documentation), Settings (eventproc config) and the example file's check are driven
// from the same declaration.
type field struct {
	key   string
	at    func(c *Config) any // the Config field the key's value goes to: *string, *int, *time.Duration or *[]Source
	def   any                 // typed default; nil: none
	enum  []string
	min   int64  // ints and durations (nanoseconds): lowest allowed
	max   int64  // 0: no upper bound
	arg   string // what a value is, for usage lines; by kind when ""
	usage string
}

// kind is the type of the field's value, by the type of its Config field.
func (f field) kind() kind {
	switch f.at(&Config{}).(type) {
	case *int:
		return kInt
	case *time.Duration:
		return kDuration
	case *[]Source:
		return kSources
	}
	return kString
}

// transports are the values of transport (engine.Transports; config does not import
// the engine).
var transports = []string{"auto", "raw", "sns"}

// fields lists every key, in documentation order.
var fields = []field{
	{key: "queue_url", at: func(c *Config) any { return &c.queueURL }, arg: "url",
		usage: "the queue to consume (shorthand for one source)"},
	{key: "sources", at: func(c *Config) any { return &c.Sources },
		usage: "queues to consume: a list of {queue_url, concurrency, transport}; as a string, comma-separated URL[=CONCURRENCY] (the global transport)"},
	{key: "concurrency", at: func(c *Config) any { return &c.concurrency }, def: int64(4), min: 1, max: 100,
		usage: "long polls at once per source, unless the source says"},
	{key: "transport", at: func(c *Config) any { return &c.transport }, def: "auto", arg: "name", enum: transports,
		usage: "how message bodies carry the event, unless the source says: auto recognises an SNS notification and unwraps it, raw takes the body as it is, sns expects a notification"},
	{key: "rules", at: func(c *Config) any { return &c.Rules }, def: "events.d", arg: "dir",
		usage: "the events.d directory"},
	{key: "envelope", at: func(c *Config) any { return &c.Envelope }, arg: "name",
		usage: "the envelope to use when events.d declares several (default: the one marked default)"},
	{key: "persist.mode", at: func(c *Config) any { return &c.PersistMode }, def: "batch", arg: "mode", enum: []string{"batch", "conditional"},
		usage: "batch: BatchGetItem of the stored payload hashes, then BatchWriteItem; conditional: PutItem first-write-wins"},
	{key: "workers", at: func(c *Config) any { return &c.Workers }, def: int64(256), min: 1, max: 10000,
		usage: "messages evaluated and settled at once"},
	{key: "max_in_flight", at: func(c *Config) any { return &c.MaxInFlight }, def: int64(1000), min: 10, max: 100000,
		usage: "received messages not yet settled, over every source"},
	{key: "grace_period", at: func(c *Config) any { return &c.GracePeriod }, def: 30 * time.Second, min: int64(time.Millisecond),
		usage: "time in-flight work gets after SIGTERM"},
	{key: "visibility_timeout", at: func(c *Config) any { return &c.VisibilityTimeout }, def: 60 * time.Second, min: int64(time.Second), max: int64(limits.Visibility),
		usage: "the queues' visibility timeout; messages held longer than half of it are extended"},
	{key: "call_timeout", at: func(c *Config) any { return &c.CallTimeout }, def: 10 * time.Second, min: int64(time.Millisecond),
		usage: "bound on each AWS call (a long poll gets receive_wait more)"},
	{key: "receive_wait", at: func(c *Config) any { return &c.ReceiveWait }, def: 20 * time.Second, min: 0, max: int64(20 * time.Second),
		usage: "long-poll wait of a receive (SQS allows 0 to 20s)"},
	{key: "outage.window", at: func(c *Config) any { return &c.OutageWindow }, def: 10 * time.Second, min: int64(time.Second), max: int64(time.Hour),
		usage: "the window over which write results to each table and dead-letter queue are counted to tell an outage from a message's own failure"},
	{key: "outage.min_failures", at: func(c *Config) any { return &c.OutageMinFailures }, def: int64(20), min: 1, max: 1000000,
		usage: "retryable failures of one table or dead-letter queue within the window that make an outage (when they are failure_percent of its results)"},
	{key: "outage.failure_percent", at: func(c *Config) any { return &c.OutagePercent }, def: int64(80), min: 1, max: 100,
		usage: "the share of one table's or dead-letter queue's results within the window, in percent, that its retryable failures must make for an outage"},
	{key: "log.level", at: func(c *Config) any { return &c.LogLevel }, def: "info", arg: "level", enum: []string{"debug", "info", "warn", "error"},
		usage: "log level"},
	{key: "log.format", at: func(c *Config) any { return &c.LogFormat }, def: "auto", arg: "format", enum: []string{"auto", "json", "text"},
		usage: "log format; auto: text on a terminal, JSON otherwise"},
	{key: "http.addr", at: func(c *Config) any { return &c.HTTPAddr }, def: ":9090", arg: "addr",
		usage: "address of /healthz, /readyz and /metrics; empty: none"},
	{key: "http.probe_interval", at: func(c *Config) any { return &c.ProbeInterval }, def: 15 * time.Second, min: 0, max: int64(time.Hour),
		usage: "how often /readyz checks that every queue and table answers (GetQueueAttributes, DescribeTable); 0: never"},
}

func fieldByKey(key string) (field, bool) {
	for _, f := range fields {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

// EnvName is the environment variable of a key: EVENTPROC_ and the key in upper case,
// dots and underscores as underscores (persist.mode: EVENTPROC_PERSIST_MODE).
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// FlagName is the command-line flag of a key: dots and underscores as dashes
// (max_in_flight: --max-in-flight).
func FlagName(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

// EnvPrefix starts every eventproc environment variable.
const EnvPrefix = "EVENTPROC_"

// EnvConfigFile names the configuration file when --config is not given.
const EnvConfigFile = EnvPrefix + "CONFIG"

// DefaultFile is read from the working directory when present and no file is named.
const DefaultFile = "eventproc.yaml"

// Key describes one configuration key for flags and documentation.
type Key struct {
	Name    string // dotted key, as in the YAML file
	Env     string
	Flag    string
	Default string // "" when none
	Arg     string // what a value is, one lower-case word: url, list, count, dir, duration, …
	Usage   string
}

// Keys lists every configuration key, in documentation order.
func Keys() []Key {
	out := make([]Key, 0, len(fields))
	for _, f := range fields {
		def := ""
		if f.def != nil {
			def = fmt.Sprint(f.def)
		}
		usage := f.usage
		if len(f.enum) > 0 {
			usage += " (" + strings.Join(f.enum, " | ") + ")"
		}
		out = append(out, Key{Name: f.key, Env: EnvName(f.key), Flag: FlagName(f.key), Default: def, Arg: f.argName(), Usage: usage})
	}
	return out
}

// argName is the word for the field's value in usage lines.
func (f field) argName() string {
	switch {
	case f.arg != "":
		return f.arg
	case f.kind() == kInt:
		return "count"
	case f.kind() == kDuration:
		return "duration"
	case f.kind() == kSources:
		return "list"
	}
	return "value"
}
