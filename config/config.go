// Package config is eventproc's process configuration: which queues to consume, where
// the rules are, how much concurrency, which timeouts, how to log.
//
// Values are layered with koanf, each layer overriding the one before: built-in
// defaults < a YAML file (--config FILE, else $EVENTPROC_CONFIG, else eventproc.yaml in
// the working directory when present) < EVENTPROC_* environment variables < flags.
// Loading is strict: an unknown key, in any layer, is an error naming it and the
// nearest valid spelling, and every invalid value is reported, not just the first.
//
// Load takes the environment and the flags as parameters; the package never reads
// the process's environment. It imports no other eventproc package but limits.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/knadh/koanf/v2"
)

// Source is one queue to consume.
type Source struct {
	QueueURL    string
	Concurrency int // long polls at once
}

// Config is the effective configuration.
type Config struct {
	Sources           []Source
	Rules             string
	Envelope          string // "" for events.d's default envelope
	PersistMode       string // "batch" or "conditional"
	Workers           int
	MaxInFlight       int
	GracePeriod       time.Duration
	VisibilityTimeout time.Duration
	CallTimeout       time.Duration
	ReceiveWait       time.Duration
	LogLevel          string
	LogFormat         string
	HTTPAddr          string
	ProbeInterval     time.Duration // 0: no reachability probe

	// File is the configuration file that was read ("" when none).
	File string
	// queueURL is queue_url's value, concurrency concurrency's; fromList says that the
	// sources key, not queue_url, named the queues. For Settings.
	queueURL    string
	concurrency int
	fromList    bool
	// Origin says where each key's value came from: "default", the file's path,
	// an environment variable's name, or "--flag".
	Origin map[string]string
}

// Input is everything Load reads.
type Input struct {
	// File is the --config flag's value ("" when not given).
	File string
	// Dir is the working directory, where DefaultFile is looked for.
	Dir string
	// Environ is the environment, as KEY=VALUE strings; only EVENTPROC_* are read.
	Environ []string
	// Flags holds the flags that were set, by key (see Keys), as given on the command line.
	Flags map[string]string
	// ReadFile reads a file; os.ReadFile when nil.
	ReadFile func(name string) ([]byte, error)
	// QueueOptional makes a configuration that names no queue valid: for the
	// commands that read only part of it (healthcheck wants http.addr).
	QueueOptional bool
}

// Error lists every problem found in the configuration.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "config: " + e.Problems[0]
	}
	return "config: " + fmt.Sprint(len(e.Problems)) + " problems:\n  " + strings.Join(e.Problems, "\n  ")
}

// layer is one source of values, with its name for messages and provenance.
type layer struct {
	name   func(key string) string
	values map[string]any // flat: dotted key → value
}

// Load builds the effective configuration. Every problem is reported in one *Error;
// the configuration is returned with it, every key that could be read set (a value
// that could not falls back to the layer below), so that it can still be shown.
func Load(in Input) (*Config, error) {
	if in.ReadFile == nil {
		in.ReadFile = os.ReadFile
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	defaults := layer{name: func(string) string { return "default" }, values: map[string]any{}}
	for _, f := range fields {
		if f.def != nil {
			defaults.values[f.key] = f.def
		}
	}
	layers := []layer{defaults}

	// The file.
	envFile := lookupEnv(in.Environ, EnvConfigFile)
	path, required := in.File, true
	if path == "" && envFile != "" {
		path = envFile
	}
	if path == "" {
		path, required = filepath.Join(in.Dir, DefaultFile), false
	}
	var file string
	data, err := in.ReadFile(path)
	switch {
	case err == nil:
		file = path
		vals, errs := fileValues(path, data)
		problems = append(problems, errs...)
		layers = append(layers, layer{name: func(string) string { return path }, values: vals})
	case required || !errors.Is(err, fs.ErrNotExist):
		add("read %s: %v", path, unwrapPath(err))
	}

	// The environment.
	env := layer{name: EnvName, values: map[string]any{}}
	for _, kv := range in.Environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || name == EnvConfigFile {
			continue
		}
		key := envKey(name)
		if key == "" {
			add("unknown environment variable %s%s", name, suggest(name, envNames()))
			continue
		}
		v, err := parseString(key, val)
		if err != nil {
			add("%s=%q: %v", name, val, err)
			continue
		}
		env.values[key] = v
	}
	layers = append(layers, env)

	// The flags.
	flags := layer{name: func(k string) string { return "--" + FlagName(k) }, values: map[string]any{}}
	for key, val := range in.Flags {
		if _, ok := fieldByKey(key); !ok {
			add("unknown flag key %q%s", key, suggest(key, keyNames()))
			continue
		}
		v, err := parseString(key, val)
		if err != nil {
			add("--%s=%q: %v", FlagName(key), val, err)
			continue
		}
		flags.values[key] = v
	}
	layers = append(layers, flags)

	// Merge with koanf, remembering which layer set each key.
	k := koanf.New(".")
	origin := map[string]string{}
	rank := map[string]int{}
	for i, l := range layers {
		nested := map[string]any{}
		for key, v := range l.values {
			setNested(nested, key, v)
			origin[key] = l.name(key)
			rank[key] = i
		}
		if err := k.Load(mapProvider(nested), nil); err != nil {
			add("merge %s: %v", l.name(""), err)
		}
	}

	c := &Config{File: file, Origin: origin}
	where := func(key string) string { return origin[key] }
	c.Rules = getString(k, "rules", where, add)
	c.Envelope = getString(k, "envelope", where, add)
	c.PersistMode = getString(k, "persist.mode", where, add)
	c.Workers = int(getInt(k, "workers", where, add))
	c.MaxInFlight = int(getInt(k, "max_in_flight", where, add))
	concurrency := int(getInt(k, "concurrency", where, add))
	c.GracePeriod = getDuration(k, "grace_period", where, add)
	c.VisibilityTimeout = getDuration(k, "visibility_timeout", where, add)
	c.CallTimeout = getDuration(k, "call_timeout", where, add)
	c.ReceiveWait = getDuration(k, "receive_wait", where, add)
	c.LogLevel = getString(k, "log.level", where, add)
	c.LogFormat = getString(k, "log.format", where, add)
	c.HTTPAddr = getString(k, "http.addr", where, add)
	c.ProbeInterval = getDuration(k, "http.probe_interval", where, add)
	if c.Rules == "" {
		add("rules (%s): must not be empty", where("rules"))
	}

	// Sources: queue_url and sources; the higher layer wins, the same layer may not set both.
	var fromList []Source
	if raw := k.Get("sources"); raw != nil {
		fromList = parseSources(raw, concurrency, where("sources"), add)
	}
	url := getString(k, "queue_url", where, add)
	c.queueURL, c.concurrency = url, concurrency
	_, hasURL := rank["queue_url"]
	_, hasList := rank["sources"]
	switch {
	case hasURL && hasList && rank["queue_url"] == rank["sources"]:
		add("queue_url (%s) and sources (%s): set one, not both", where("queue_url"), where("sources"))
	case hasURL && (!hasList || rank["queue_url"] > rank["sources"]):
		if url == "" {
			add("queue_url (%s): must not be empty", where("queue_url"))
		}
		c.Sources = []Source{{QueueURL: url, Concurrency: concurrency}}
	case hasList:
		c.Sources, c.fromList = fromList, true
		if len(fromList) == 0 {
			add("sources (%s): no queue listed", where("sources"))
		}
	case in.QueueOptional:
	default:
		add("no queue to consume: set queue_url (%s, --%s) or sources", EnvName("queue_url"), FlagName("queue_url"))
	}
	seen := map[string]bool{}
	for _, s := range c.Sources {
		if seen[s.QueueURL] {
			add("sources: queue %s listed twice", s.QueueURL)
		}
		seen[s.QueueURL] = true
	}
	if len(problems) > 0 {
		return c, &Error{Problems: problems}
	}
	return c, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func lookupEnv(environ []string, name string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], name+"="); ok {
			return v
		}
	}
	return ""
}

// envKey maps an environment variable to its key, "" when none.
func envKey(name string) string {
	for _, f := range fields {
		if EnvName(f.key) == name {
			return f.key
		}
	}
	return ""
}

func envNames() []string {
	out := []string{EnvConfigFile}
	for _, f := range fields {
		out = append(out, EnvName(f.key))
	}
	return out
}

func keyNames() []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.key
	}
	return out
}

func setNested(m map[string]any, key string, v any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// mapProvider is a koanf.Provider of an already nested map.
type mapProvider map[string]any

func (p mapProvider) ReadBytes() ([]byte, error) { return nil, errors.New("mapProvider: no bytes") }
func (p mapProvider) Read() (map[string]any, error) {
	return p, nil
}

// fileValues parses a YAML file into flat values, checking its keys.
func fileValues(path string, data []byte) (map[string]any, []string) {
	var problems []string
	fk := koanf.New(".")
	if err := fk.Load(bytesProvider(data), yamlParser{}); err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", path, err)}
	}
	vals := map[string]any{}
	keys := fk.Keys()
	sort.Strings(keys)
	for _, key := range keys {
		if _, ok := fieldByKey(key); !ok {
			problems = append(problems, fmt.Sprintf("%s: unknown key %q%s", path, key, suggest(key, keyNames())))
			continue
		}
		vals[key] = fk.Get(key)
	}
	return vals, problems
}

// bytesProvider is a koanf.Provider of raw bytes.
type bytesProvider []byte

func (p bytesProvider) ReadBytes() ([]byte, error) { return p, nil }
func (p bytesProvider) Read() (map[string]any, error) {
	return nil, errors.New("bytesProvider: needs a parser")
}
