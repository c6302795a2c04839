package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"eventproc/config"
)

// TestExampleConfig: the repository's eventproc.yaml loads; it names every key config
// knows (sources as a commented alternative to queue_url, which loads too), each with its
// default, variable and flag in its comment; and it sets every key to its default, so
// that the file, read from the working directory, changes nothing but the queue.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile(config.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	cfg, err := config.Load(config.Input{File: config.DefaultFile})
	if err != nil {
		t.Fatalf("%s does not load: %v", config.DefaultFile, err)
	}
	settings := map[string]config.Setting{}
	for _, s := range cfg.Settings() {
		settings[s.Key] = s
	}
	for _, k := range config.Keys() {
		last := k.Name[strings.LastIndex(k.Name, ".")+1:]
		// The key's line, set or commented, and the comment above it.
		re := regexp.MustCompile(`(?m)((?:^ *# .*\n)+)^ *(# )?` + regexp.QuoteMeta(last) + `:`)
		m := re.FindStringSubmatch(text)
		if m == nil {
			t.Errorf("%s: key %s not in the file", config.DefaultFile, k.Name)
			continue
		}
		def := k.Default
		if def == "" {
			def = "none"
		}
		for _, w := range []string{"default: " + def + " ", "env: " + k.Env + " ", "flag: --" + k.Flag + "\n"} {
			if !strings.Contains(m[1], w) {
				t.Errorf("%s: the comment of %s lacks %q:\n%s", config.DefaultFile, k.Name, strings.TrimSpace(w), m[1])
			}
		}
		s := settings[k.Name]
		switch {
		case k.Name == "queue_url" || k.Name == "sources":
		case s.Origin != config.DefaultFile:
			t.Errorf("%s: %s is not set (origin %q)", config.DefaultFile, k.Name, s.Origin)
		case s.Value != k.Default:
			t.Errorf("%s: %s = %q, its default is %q", config.DefaultFile, k.Name, s.Value, k.Default)
		}
	}

	// The alternative: sources instead of queue_url.
	var alt []string
	inSources := false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "queue_url:"):
			line = "# " + line
		case strings.HasPrefix(line, "# sources:"):
			inSources, line = true, strings.TrimPrefix(line, "# ")
		case inSources && strings.HasPrefix(line, "#   "):
			line = strings.TrimPrefix(line, "# ")
		default:
			inSources = false
		}
		alt = append(alt, line)
	}
	path := filepath.Join(t.TempDir(), "alt.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(alt, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err = config.Load(config.Input{File: path})
	if err != nil {
		t.Fatalf("with sources uncommented: %v", err)
	}
	if len(cfg.Sources) != 2 || cfg.Sources[0].Concurrency != 8 || cfg.Sources[0].Transport != "auto" ||
		cfg.Sources[1].QueueURL != "payments.fifo" || cfg.Sources[1].Transport != "sns" {
		t.Errorf("sources = %+v", cfg.Sources)
	}
}
