package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ key, in, want string }{
		{"queue_url", "https://sqs.eu-west-1.amazonaws.com/123456789012/events", "https://sqs.eu-west-1.amazonaws.com/123456789012/events"},
		{"queue_url", "https://AKIAEXAMPLE:s3cr3t@sqs.example/1/q", "https://REDACTED@sqs.example/1/q"},
		{"queue_url", "https://user@sqs.example/1/q", "https://REDACTED@sqs.example/1/q"},
		{"queue_url", "https://sqs.example/1/q?X-Amz-Signature=abc&X-Amz-Security-Token=tok&plain", "https://sqs.example/1/q?X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED&plain"},
		{"queue_url", "https://sqs.example/1/q#frag", "https://sqs.example/1/q#REDACTED"},
		{"queue_url", "https://u:p w@bad host/%zz", "https://REDACTED@bad host/%zz"},
		{"sources", "https://a:b@h/1/q=4,https://h/2/r=2", "https://REDACTED@h/1/q=4,https://h/2/r=2"},
		{"events", "events", "events"},
		{"aws.secret_key", "abc", Redacted},
		{"db.password", "abc", Redacted},
		{"auth_token", "abc", Redacted},
		{"auth_token", "", ""},
		{"http.addr", ":9090", ":9090"},
	} {
		if got := Redact(tt.key, tt.in); got != tt.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", tt.key, tt.in, got, tt.want)
		}
	}
}

// TestSettingsCoverEveryKey: every key has a value and an origin, redacted, and
// queue_url against sources says which one named the queues.
func TestSettingsCoverEveryKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "eventproc.yaml")
	if err := os.WriteFile(file, []byte("queue_url: https://k:v@sqs.example/1/file\nworkers: 9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Input{Dir: dir, Environ: []string{"EVENTPROC_LOG_LEVEL=debug"}, Flags: map[string]string{"sources": "https://sqs.example/1/a=2"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Setting{}
	for _, s := range c.Settings() {
		got[s.Key] = s
	}
	for _, k := range Keys() {
		s, ok := got[k.Name]
		if !ok {
			t.Errorf("no setting for %s", k.Name)
			continue
		}
		if k.Default != "" && s.Origin == "" {
			t.Errorf("%s: no origin", k.Name)
		}
	}
	want := map[string]Setting{
		"queue_url":    {"queue_url", "https://REDACTED@sqs.example/1/file", file + " (overridden by sources)"},
		"sources":      {"sources", "https://sqs.example/1/a=2", "--sources"},
		"workers":      {"workers", "9", file},
		"log.level":    {"log.level", "debug", "EVENTPROC_LOG_LEVEL"},
		"envelope":     {"envelope", "", ""},
		"grace_period": {"grace_period", "30s", "default"},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %+v, want %+v", k, got[k], w)
		}
	}
	c, err = Load(Input{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Settings() {
		if s.Key == "sources" && (s.Value != "https://REDACTED@sqs.example/1/file=4" || s.Origin != "queue_url ("+file+")") {
			t.Errorf("sources from queue_url = %+v", s)
		}
	}
}
