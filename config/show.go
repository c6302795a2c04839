package config

import (
	"fmt"
	"strings"
	"time"
)

// Setting is one key's effective value, for display, with any secret it may hold
// redacted (see Redact), and where it came from.
type Setting struct {
	Key    string
	Value  string // "" when unset
	Origin string // "default", the file's path, an environment variable, "--flag"; "" when unset
}

// Settings lists every key's effective value, in documentation order, redacted.
//
// sources is the list of queues the worker consumes, whichever key named them (a
// source's transport shown when it is not the global one); its origin says
// "queue_url (…)" when it came from queue_url. A queue_url that sources
// overrode says so in its origin.
func (c *Config) Settings() []Setting {
	var out []Setting
	for _, f := range fields {
		s := Setting{Key: f.key, Origin: c.Origin[f.key]}
		switch f.key {
		case "queue_url":
			s.Value = c.value(f)
			if s.Origin != "" && c.fromList {
				s.Origin += " (overridden by sources)"
			}
		case "sources":
			parts := make([]string, len(c.Sources))
			for i, src := range c.Sources {
				// Each URL redacted on its own: a query's last value would swallow "=N".
				parts[i] = fmt.Sprintf("%s=%d", Redact("queue_url", src.QueueURL), src.Concurrency)
				if src.Transport != c.transport {
					parts[i] += " (transport " + src.Transport + ")"
				}
			}
			s.Value = strings.Join(parts, ",")
			if !c.fromList && len(c.Sources) > 0 {
				s.Origin = "queue_url (" + c.Origin["queue_url"] + ")"
			}
		default:
			s.Value = c.value(f)
		}
		if s.Origin == "" {
			s.Value = ""
		}
		if f.key != "sources" {
			s.Value = Redact(f.key, s.Value)
		}
		out = append(out, s)
	}
	return out
}

// value formats the effective value of a scalar key, from the Config field it declares.
func (c *Config) value(f field) string {
	switch p := f.at(c).(type) {
	case *string:
		return *p
	case *int:
		return fmt.Sprint(*p)
	case *time.Duration:
		return p.String()
	}
	panic(fmt.Sprintf("config: no value of key %s", f.key)) // TestFieldsBindConfig
}

// Redacted is what replaces a secret.
const Redacted = "REDACTED"

// secretWords mark a key whose value is a secret: its last part contains one of them.
var secretWords = []string{"secret", "token", "password", "passwd", "credential", "apikey", "api_key", "private"}

// Redact returns a key's value with any secret it may hold replaced by REDACTED:
//
//   - the whole value of a key whose last part is named like a secret (secret, token,
//     password, passwd, credential, apikey, api_key, private);
//   - in any URL (each comma-separated part that has "://"): the user information
//     (user:password@), every query parameter's value (a pre-signed URL's signature
//     and token), and the fragment.
//
// eventproc's keys hold no secret today — AWS credentials come from the SDK's own chain
// and are never part of the configuration — so this guards values that carry one by
// mistake, such as a queue URL with credentials in it.
func Redact(key, value string) string {
	if value == "" {
		return ""
	}
	last := strings.ToLower(key[strings.LastIndex(key, ".")+1:])
	for _, w := range secretWords {
		if strings.Contains(last, w) {
			return Redacted
		}
	}
	if !strings.Contains(value, "://") {
		return value
	}
	parts := strings.Split(value, ",")
	for i, p := range parts {
		parts[i] = redactURL(p)
	}
	return strings.Join(parts, ",")
}

// redactURL redacts a URL's user information, query values and fragment, by text (so
// that a URL that does not parse is redacted too).
func redactURL(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	head, rest := s[:i+3], s[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	auth, tail := rest[:end], rest[end:]
	if at := strings.LastIndex(auth, "@"); at >= 0 {
		auth = Redacted + "@" + auth[at+1:]
	}
	frag := ""
	if h := strings.Index(tail, "#"); h >= 0 {
		tail, frag = tail[:h], "#"+Redacted
	}
	if q := strings.Index(tail, "?"); q >= 0 {
		params := strings.Split(tail[q+1:], "&")
		for j, p := range params {
			if name, _, ok := strings.Cut(p, "="); ok {
				params[j] = name + "=" + Redacted
			}
		}
		tail = tail[:q+1] + strings.Join(params, "&")
	}
	return head + auth + tail + frag
}
