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
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/knadh/koanf/v2"
)

// Source is one queue to consume.
type Source struct {
	QueueURL    string
	Concurrency int    // long polls at once
	Transport   string // how its bodies carry the event: auto, raw or sns
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
	OutageWindow      time.Duration // the outage detector's sliding window
	OutageMinFailures int           // retryable failures in the window that may make an outage
	OutagePercent     int           // the share of the window's results they must make, in percent

	// File is the configuration file that was read ("" when none).
	File string
	// queueURL is queue_url's value, concurrency concurrency's (the default of every
	// source); fromList says that the sources key, not queue_url, named the queues.
	queueURL    string
	concurrency int
	transport   string
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
//
// It goes in phases: the layers are read (defaults, file, environment, flags), merged
// with koanf, decoded into the Config field each key declares, and the queues are
// resolved from queue_url and sources.
func Load(in Input) (*Config, error) {
	if in.ReadFile == nil {
		in.ReadFile = os.ReadFile
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	layers := []layer{defaultLayer()}
	file, fileLayer := readFile(in, add)
	if file != "" {
		layers = append(layers, fileLayer)
	}
	layers = append(layers, envLayer(in.Environ, add), flagLayer(in.Flags, add))
	m := merge(layers, add)

	c := &Config{File: file, Origin: m.origin}
	c.decode(m, add)
	c.resolveSources(m, in.QueueOptional, add)
	if len(problems) > 0 {
		return c, &Error{Problems: problems}
	}
	return c, nil
}

// defaultLayer holds every key's declared default.
func defaultLayer() layer {
	l := layer{name: func(string) string { return "default" }, values: map[string]any{}}
	for _, f := range fields {
		if f.def != nil {
			l.values[f.key] = f.def
		}
	}
	return l
}

// readFile reads the configuration file: --config, else $EVENTPROC_CONFIG, else
// DefaultFile in the working directory when there is one. file is "" when none was read.
func readFile(in Input, add addFunc) (file string, l layer) {
	path, required := in.File, true
	if path == "" {
		path = lookupEnv(in.Environ, EnvConfigFile)
	}
	if path == "" {
		path, required = filepath.Join(in.Dir, DefaultFile), false
	}
	data, err := in.ReadFile(path)
	if err != nil {
		if required || !errors.Is(err, fs.ErrNotExist) {
			add("read %s: %v", path, unwrapPath(err))
		}
		return "", layer{}
	}
	vals, errs := fileValues(path, data)
	for _, e := range errs {
		add("%s", e)
	}
	return path, layer{name: func(string) string { return path }, values: vals}
}

// envLayer holds the EVENTPROC_* variables' values, EVENTPROC_CONFIG aside.
func envLayer(environ []string, add addFunc) layer {
	l := layer{name: EnvName, values: map[string]any{}}
	for _, kv := range environ {
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
		l.values[key] = v
	}
	return l
}

// flagLayer holds the values of the flags that were set.
func flagLayer(flags map[string]string, add addFunc) layer {
	l := layer{name: func(k string) string { return "--" + FlagName(k) }, values: map[string]any{}}
	for _, key := range slices.Sorted(maps.Keys(flags)) { // problems in a stable order
		val := flags[key]
		if _, ok := fieldByKey(key); !ok {
			add("unknown flag key %q%s", key, suggest(key, keyNames()))
			continue
		}
		v, err := parseString(key, val)
		if err != nil {
			add("--%s=%q: %v", FlagName(key), val, err)
			continue
		}
		l.values[key] = v
	}
	return l
}

// merged is the layers merged: each key's value from the highest layer that sets it.
type merged struct {
	k      *koanf.Koanf
	origin map[string]string // key → the name of the layer that set it
	rank   map[string]int    // key → the index of that layer
}

func (m merged) where(key string) string { return m.origin[key] }

// merge loads the layers into koanf in order, remembering which layer set each key.
func merge(layers []layer, add addFunc) merged {
	m := merged{k: koanf.New("."), origin: map[string]string{}, rank: map[string]int{}}
	for i, l := range layers {
		nested := map[string]any{}
		for key, v := range l.values {
			setNested(nested, key, v)
			m.origin[key] = l.name(key)
			m.rank[key] = i
		}
		if err := m.k.Load(mapProvider(nested), nil); err != nil {
			add("merge %s: %v", l.name(""), err)
		}
	}
	return m
}

// decode sets the Config field of every key but the queues' (see resolveSources),
// checking each value against its declaration.
func (c *Config) decode(m merged, add addFunc) {
	for _, f := range fields {
		if f.key == "queue_url" || f.key == "sources" {
			continue
		}
		switch p := f.at(c).(type) {
		case *string:
			*p = getString(m.k, f, m.where, add)
		case *int:
			*p = int(getInt(m.k, f, m.where, add))
		case *time.Duration:
			*p = getDuration(m.k, f, m.where, add)
		default:
			panic(fmt.Sprintf("config: key %s decodes into a %T", f.key, p)) // TestFieldsBindConfig
		}
	}
	if c.Rules == "" {
		add("rules (%s): must not be empty", m.where("rules"))
	}
}

// resolveSources sets Sources from queue_url and sources: the higher layer wins, the
// same layer may not set both; a queue may be listed once.
func (c *Config) resolveSources(m merged, queueOptional bool, add addFunc) {
	var fromList []Source
	if raw := m.k.Get("sources"); raw != nil {
		fromList = parseSources(raw, Source{Concurrency: c.concurrency, Transport: c.transport}, m.where("sources"), add)
	}
	queueURL, _ := fieldByKey("queue_url")
	c.queueURL = getString(m.k, queueURL, m.where, add)
	urlRank, hasURL := m.rank["queue_url"]
	listRank, hasList := m.rank["sources"]
	switch {
	case hasURL && hasList && urlRank == listRank:
		add("queue_url (%s) and sources (%s): set one, not both", m.where("queue_url"), m.where("sources"))
	case hasURL && (!hasList || urlRank > listRank):
		if c.queueURL == "" {
			add("queue_url (%s): must not be empty", m.where("queue_url"))
		}
		c.Sources = []Source{{QueueURL: c.queueURL, Concurrency: c.concurrency, Transport: c.transport}}
	case hasList:
		c.Sources, c.fromList = fromList, true
		if len(fromList) == 0 {
			add("sources (%s): no queue listed", m.where("sources"))
		}
	case queueOptional:
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
