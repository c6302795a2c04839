package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const q1 = "http://localhost:4566/000000000000/events"

func TestDefaults(t *testing.T) {
	c, err := Load(Input{Dir: t.TempDir(), Environ: []string{"EVENTPROC_QUEUE_URL=" + q1, "HOME=/root"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Sources: []Source{{QueueURL: q1, Concurrency: 4, Transport: "auto"}}, Rules: "events.d", Envelope: "", PersistMode: "batch",
		Workers: 256, MaxInFlight: 1000, GracePeriod: 30 * time.Second, VisibilityTimeout: 60 * time.Second,
		CallTimeout: 10 * time.Second, ReceiveWait: 20 * time.Second, LogLevel: "info", LogFormat: "auto", HTTPAddr: ":9090",
		ProbeInterval: 15 * time.Second, OutageWindow: 10 * time.Second, OutageMinFailures: 20, OutagePercent: 80,
	}
	if diff := cmp.Diff(want, c, cmpIgnoreOrigin); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if c.Origin["workers"] != "default" || c.Origin["queue_url"] != "EVENTPROC_QUEUE_URL" {
		t.Errorf("origins = %v", c.Origin)
	}
}

var cmpIgnoreOrigin = cmp.Options{cmp.FilterPath(func(p cmp.Path) bool {
	s := p.String()
	return s == "Origin" || s == "File"
}, cmp.Ignore()), cmpopts.IgnoreUnexported(Config{})}

// TestLayering: defaults < file < env < flags, key by key.
func TestLayering(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "eventproc.yaml"), `
sources:
  - queue_url: http://q/a
    concurrency: 2
  - queue_url: http://q/b
workers: 8
grace_period: 5s
log:
  level: debug
  format: json
persist:
  mode: conditional
`)
	tests := []struct {
		name    string
		environ []string
		flags   map[string]string
		check   func(t *testing.T, c *Config)
	}{
		{"file over defaults", nil, nil, func(t *testing.T, c *Config) {
			want := []Source{{"http://q/a", 2, "auto"}, {"http://q/b", 4, "auto"}}
			if diff := cmp.Diff(want, c.Sources); diff != "" {
				t.Errorf("sources (-want +got):\n%s", diff)
			}
			if c.Workers != 8 || c.GracePeriod != 5*time.Second || c.LogLevel != "debug" || c.PersistMode != "conditional" ||
				c.MaxInFlight != 1000 {
				t.Errorf("config = %+v", c)
			}
			if c.Origin["workers"] != filepath.Join(dir, "eventproc.yaml") {
				t.Errorf("origin of workers = %q", c.Origin["workers"])
			}
		}},
		{"env over file", []string{"EVENTPROC_WORKERS=16", "EVENTPROC_LOG_LEVEL=warn", "EVENTPROC_CONCURRENCY=3", "EVENTPROC_ENVELOPE=cloudevents"}, nil,
			func(t *testing.T, c *Config) {
				if c.Workers != 16 || c.LogLevel != "warn" || c.LogFormat != "json" || c.Sources[1].Concurrency != 3 || c.Envelope != "cloudevents" {
					t.Errorf("config = %+v", c)
				}
				if c.Origin["workers"] != "EVENTPROC_WORKERS" {
					t.Errorf("origin = %q", c.Origin["workers"])
				}
			}},
		{"flags over env", []string{"EVENTPROC_WORKERS=16"}, map[string]string{"workers": "32", "grace_period": "1m"},
			func(t *testing.T, c *Config) {
				if c.Workers != 32 || c.GracePeriod != time.Minute || c.Origin["workers"] != "--workers" {
					t.Errorf("config = %+v", c)
				}
			}},
		{"queue_url in a higher layer replaces the file's sources", []string{"EVENTPROC_QUEUE_URL=http://q/env"}, nil,
			func(t *testing.T, c *Config) {
				if diff := cmp.Diff([]Source{{"http://q/env", 4, "auto"}}, c.Sources); diff != "" {
					t.Errorf("sources (-want +got):\n%s", diff)
				}
			}},
		{"sources as a string", []string{"EVENTPROC_SOURCES=http://q/x=7, http://q/y"}, nil,
			func(t *testing.T, c *Config) {
				if diff := cmp.Diff([]Source{{"http://q/x", 7, "auto"}, {"http://q/y", 4, "auto"}}, c.Sources); diff != "" {
					t.Errorf("sources (-want +got):\n%s", diff)
				}
			}},
		{"the last of a repeated variable wins", []string{"EVENTPROC_WORKERS=2", "EVENTPROC_WORKERS=3"}, nil,
			func(t *testing.T, c *Config) {
				if c.Workers != 3 {
					t.Errorf("workers = %d, want 3", c.Workers)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Input{Dir: dir, Environ: tt.environ, Flags: tt.flags})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestConfigFileChoice(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "eventproc.yaml"), "queue_url: http://q/default\n")
	other := filepath.Join(dir, "other.yaml")
	writeFile(t, other, "queue_url: http://q/other\n")
	envFile := filepath.Join(dir, "env.yaml")
	writeFile(t, envFile, "queue_url: http://q/env\n")
	for _, tt := range []struct {
		name    string
		in      Input
		want    string
		wantErr string
	}{
		{"eventproc.yaml in the directory", Input{Dir: dir}, "http://q/default", ""},
		{"--config", Input{Dir: dir, File: other}, "http://q/other", ""},
		{"EVENTPROC_CONFIG", Input{Dir: dir, Environ: []string{"EVENTPROC_CONFIG=" + envFile}}, "http://q/env", ""},
		{"--config over EVENTPROC_CONFIG", Input{Dir: dir, File: other, Environ: []string{"EVENTPROC_CONFIG=" + envFile}}, "http://q/other", ""},
		{"a named file must exist", Input{Dir: dir, File: filepath.Join(dir, "missing.yaml")}, "", "missing.yaml: no such file"},
		{"no file at all is fine", Input{Dir: t.TempDir(), Flags: map[string]string{"queue_url": "http://q/flag"}}, "http://q/flag", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Sources[0].QueueURL != tt.want {
				t.Errorf("queue = %s, want %s", c.Sources[0].QueueURL, tt.want)
			}
		})
	}
}

// TestStrict: unknown keys name the nearest spelling, and every problem is reported.
func TestStrict(t *testing.T) {
	for _, tt := range []struct {
		name    string
		file    string
		environ []string
		flags   map[string]string
		want    []string // each must appear, and the count must match
	}{
		{"unknown file keys", "queue_url: http://q\nworkrs: 4\nlog:\n  levl: debug\npersist:\n  mode: batch\n  tabel: x\n", nil, nil, []string{
			`unknown key "log.levl" (did you mean "log.level"?)`,
			`unknown key "persist.tabel"`,
			`unknown key "workrs" (did you mean "workers"?)`,
		}},
		{"a scalar where a section is expected", "queue_url: http://q\nlog: debug\n", nil, nil, []string{
			`unknown key "log"`,
		}},
		{"every invalid value", "queue_url: http://q\nworkers: many\nmax_in_flight: 5\ngrace_period: 30\nvisibility_timeout: 13h\nreceive_wait: 25s\npersist:\n  mode: batched\nlog:\n  format: xml\n", nil, nil, []string{
			`workers (`, `many is not an integer`,
			`max_in_flight (`, `5 is out of range [10, 100000]`,
			`grace_period (`, `30 is not a duration such as 30s`,
			`visibility_timeout (`, `13h0m0s is out of range [1s, 12h0m0s]`,
			`receive_wait (`, `25s is out of range [0s, 20s]`,
			`persist.mode (`, `"batched" is not one of batch, conditional (did you mean "batch"?)`,
			`log.format (`, `"xml" is not one of auto, json, text`,
		}},
		{"unknown and invalid environment", "", []string{"EVENTPROC_QUEUE_URL=http://q", "EVENTPROC_WORKER=3", "EVENTPROC_GRACE_PERIOD=soon", "EVENTPROC_LOG_LEVEL=loud"}, nil, []string{
			`unknown environment variable EVENTPROC_WORKER (did you mean "EVENTPROC_WORKERS"?)`,
			`EVENTPROC_GRACE_PERIOD="soon": not a duration such as 30s`,
			`log.level (EVENTPROC_LOG_LEVEL): "loud" is not one of debug, info, warn, error`,
		}},
		{"invalid flags", "", nil, map[string]string{"queue_url": "http://q", "workers": "0", "call_timeout": "1"}, []string{
			`workers (--workers): 0 is out of range [1, 10000]`,
			`--call-timeout="1": not a duration such as 30s`,
		}},
		{"bad sources", "sources:\n  - queue_url: http://q/a\n    concurency: 3\n  - concurrency: 0\n  - http://q/a\n", nil, nil, []string{
			`sources[0] (`, `unknown key "concurency" (did you mean "concurrency"?)`,
			`sources[1].concurrency (`, `0 is out of range [1, 100]`,
			`sources[1] (`, `queue_url is required`,
			`queue http://q/a listed twice`,
		}},
		{"bad transports", "transport: sqs\nsources:\n  - queue_url: http://q/a\n    transport: SNS\n", nil, nil, []string{
			`transport (`, `"sqs" is not one of auto, raw, sns`,
			`sources[0].transport (`, `SNS is not one of auto, raw, sns`,
		}},
		{"no queue", "", nil, nil, []string{"no queue to consume: set queue_url (EVENTPROC_QUEUE_URL, --queue-url) or sources"}},
		{"both in one layer", "queue_url: http://q/a\nsources: [http://q/b]\n", nil, nil, []string{"set one, not both"}},
		{"yaml syntax", "queue_url: [\n", nil, nil, []string{"eventproc.yaml: yaml: line"}},
		{"duplicate yaml key", "workers: 1\nworkers: 2\n", nil, nil, []string{`already defined`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file != "" {
				writeFile(t, filepath.Join(dir, "eventproc.yaml"), tt.file)
			}
			_, err := Load(Input{Dir: dir, Environ: tt.environ, Flags: tt.flags})
			if err == nil {
				t.Fatal("Load accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// The problem count is exact: every invalid value once, nothing else.
func TestEveryProblemOnce(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "eventproc.yaml"), "queue_url: http://q\nworkers: x\ncall_timeout: y\nlog:\n  level: z\nbogus: 1\n")
	_, err := Load(Input{Dir: dir})
	ce, ok := err.(*Error)
	if !ok {
		t.Fatalf("err = %v (%T), want *Error", err, err)
	}
	if len(ce.Problems) != 4 {
		t.Errorf("%d problems, want 4:\n%v", len(ce.Problems), err)
	}
}

func TestKeysDocumented(t *testing.T) {
	for _, k := range Keys() {
		if k.Usage == "" || !strings.HasPrefix(k.Env, "EVENTPROC_") || strings.ContainsAny(k.Flag, "._") {
			t.Errorf("key %+v", k)
		}
	}
	if EnvName("persist.mode") != "EVENTPROC_PERSIST_MODE" || FlagName("max_in_flight") != "max-in-flight" {
		t.Error("names")
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPartialOnError: a configuration with problems is returned beside its *Error,
// every readable key set, so that `eventproc config` can show it; QueueOptional makes
// the lack of a queue no problem (healthcheck reads http.addr only).
func TestPartialOnError(t *testing.T) {
	in := Input{Dir: t.TempDir(), Environ: []string{"EVENTPROC_HTTP_ADDR=127.0.0.1:9191", "EVENTPROC_WORKERS=x"}}
	c, err := Load(in)
	if err == nil || !strings.Contains(err.Error(), "no queue to consume") || !strings.Contains(err.Error(), "not an integer") {
		t.Fatalf("err = %v, want no queue and a bad integer", err)
	}
	if c == nil || c.HTTPAddr != "127.0.0.1:9191" || c.Origin["http.addr"] != "EVENTPROC_HTTP_ADDR" || c.Workers != 256 {
		t.Fatalf("partial configuration = %+v", c)
	}
	in.Environ = in.Environ[:1]
	in.QueueOptional = true
	c, err = Load(in)
	if err != nil || c.HTTPAddr != "127.0.0.1:9191" || len(c.Sources) != 0 {
		t.Fatalf("queue optional: %+v, %v", c, err)
	}
}

// TestTransport: a source takes its own transport, else the global one, in every form
// of the sources key.
func TestTransport(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "eventproc.yaml"), `
transport: sns
sources:
  - queue_url: http://q/a
    transport: raw
  - queue_url: http://q/b
`)
	for _, tt := range []struct {
		name string
		in   Input
		want []Source
	}{
		{"file", Input{Dir: dir}, []Source{{"http://q/a", 4, "raw"}, {"http://q/b", 4, "sns"}}},
		{"string form takes the global one", Input{Dir: dir, Environ: []string{"EVENTPROC_SOURCES=http://q/c=2,http://q/d", "EVENTPROC_TRANSPORT=raw"}},
			[]Source{{"http://q/c", 2, "raw"}, {"http://q/d", 4, "raw"}}},
		{"queue_url", Input{Dir: t.TempDir(), Flags: map[string]string{"queue_url": "http://q/e"}}, []Source{{"http://q/e", 4, "auto"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.Sources); diff != "" {
				t.Errorf("sources (-want +got):\n%s", diff)
			}
		})
	}
}
