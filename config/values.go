package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agnivade/levenshtein"
	"github.com/knadh/koanf/v2"
	"gopkg.in/yaml.v3"
)

// yamlParser is a koanf.Parser on gopkg.in/yaml.v3 (the project's only YAML library).
type yamlParser struct{}

func (yamlParser) Unmarshal(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func (yamlParser) Marshal(m map[string]any) ([]byte, error) { return yaml.Marshal(m) }

// parseString converts an environment variable's or a flag's text to the key's type.
func parseString(key, s string) (any, error) {
	f, _ := fieldByKey(key)
	switch f.kind() {
	case kInt:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("not an integer")
		}
		return n, nil
	case kDuration:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("not a duration such as 30s")
		}
		return d, nil
	case kSources:
		var out []any
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			url, n, hasN := strings.Cut(part, "=")
			entry := map[string]any{"queue_url": url}
			if hasN {
				c, err := strconv.ParseInt(n, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("concurrency of %s is not an integer", url)
				}
				entry["concurrency"] = c
			}
			out = append(out, entry)
		}
		return out, nil
	}
	return s, nil
}

type addFunc func(format string, args ...any)

func getString(k *koanf.Koanf, f field, where func(string) string, add addFunc) string {
	key := f.key
	raw := k.Get(key)
	if raw == nil {
		return ""
	}
	s, ok := raw.(string)
	if !ok {
		add("%s (%s): %v is not a string", key, where(key), raw)
		return ""
	}
	if len(f.enum) > 0 && !slices.Contains(f.enum, s) {
		add("%s (%s): %q is not one of %s%s", key, where(key), s, strings.Join(f.enum, ", "), suggest(s, f.enum))
	}
	return s
}

func getInt(k *koanf.Koanf, f field, where func(string) string, add addFunc) int64 {
	key := f.key
	var n int64
	switch v := k.Get(key).(type) {
	case nil:
		return 0
	case int:
		n = int64(v)
	case int64:
		n = v
	case uint64:
		n = int64(v)
	default:
		add("%s (%s): %v is not an integer", key, where(key), v)
		return 0
	}
	if n < f.min || (f.max > 0 && n > f.max) {
		add("%s (%s): %d is out of range [%d, %d]", key, where(key), n, f.min, f.max)
	}
	return n
}

func getDuration(k *koanf.Koanf, f field, where func(string) string, add addFunc) time.Duration {
	key := f.key
	var d time.Duration
	switch v := k.Get(key).(type) {
	case nil:
		return 0
	case time.Duration:
		d = v
	case string:
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			add("%s (%s): %q is not a duration such as 30s", key, where(key), v)
			return 0
		}
	default:
		add("%s (%s): %v is not a duration such as 30s (give a unit)", key, where(key), v)
		return 0
	}
	if int64(d) < f.min || (f.max > 0 && int64(d) > f.max) {
		hi := "∞"
		if f.max > 0 {
			hi = time.Duration(f.max).String()
		}
		add("%s (%s): %v is out of range [%v, %s]", key, where(key), d, time.Duration(f.min), hi)
	}
	return d
}

// sourceKeys are the keys of a sources entry.
var sourceKeys = []string{"queue_url", "concurrency", "transport"}

// parseSources checks the sources list: each entry {queue_url, concurrency, transport},
// what it leaves out taken from def.
func parseSources(raw any, def Source, where string, add addFunc) []Source {
	list, ok := raw.([]any)
	if !ok {
		add("sources (%s): want a list of {queue_url, concurrency, transport}", where)
		return nil
	}
	var out []Source
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			if s, isStr := e.(string); isStr {
				m = map[string]any{"queue_url": s}
			} else {
				add("sources[%d] (%s): want {queue_url, concurrency, transport}", i, where)
				continue
			}
		}
		s := def
		keys := make([]string, 0, len(m))
		for key := range m {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		for _, key := range keys {
			v := m[key]
			switch key {
			case "queue_url":
				u, ok := v.(string)
				if !ok || strings.TrimSpace(u) == "" {
					add("sources[%d].queue_url (%s): want a non-empty string", i, where)
				}
				s.QueueURL = u
			case "concurrency":
				var n int64
				switch x := v.(type) {
				case int:
					n = int64(x)
				case int64:
					n = x
				default:
					add("sources[%d].concurrency (%s): %v is not an integer", i, where, v)
					continue
				}
				if n < 1 || n > 100 {
					add("sources[%d].concurrency (%s): %d is out of range [1, 100]", i, where, n)
				}
				s.Concurrency = int(n)
			case "transport":
				t, ok := v.(string)
				if !ok || !slices.Contains(transports, t) {
					add("sources[%d].transport (%s): %v is not one of %s", i, where, v, strings.Join(transports, ", "))
				}
				s.Transport = t
			default:
				add("sources[%d] (%s): unknown key %q%s", i, where, key, suggest(key, sourceKeys))
			}
		}
		if _, ok := m["queue_url"]; !ok {
			add("sources[%d] (%s): queue_url is required", i, where)
		}
		out = append(out, s)
	}
	return out
}

// suggest returns ` (did you mean "X"?)` for the candidate nearest to s, or "" when none
// is near enough.
func suggest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := levenshtein.ComputeDistance(strings.ToLower(s), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, len(s)/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
