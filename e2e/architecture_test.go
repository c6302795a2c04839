package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// listed is what `go list -json` says of one package of the module.
type listed struct {
	ImportPath string
	Imports    []string // direct, non-test
	Deps       []string // transitive, non-test
}

// modulePackages lists every package of the module. A failing `go list` fails the
// test: the architecture is never assumed.
func modulePackages(t *testing.T) map[string]listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "eventproc/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]listed{}
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// in reports whether path is dir or below it.
func in(path string, dirs ...string) bool {
	for _, d := range dirs {
		if path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

// TestArchitecture keeps the arrows pointing inward (main → cli → service, config,
// adapters, metrics, worker, engine; adapters → worker → engine; the leaves backoff
// and limits import nothing of ours) and each outside dependency behind the one
// package that owns it. Every rule must apply to at least one package, so a rule
// that a rename left matching nothing fails instead of passing.
func TestArchitecture(t *testing.T) {
	pkgs := modulePackages(t)
	const (
		mod      = "eventproc"
		cli      = mod + "/cli"
		service  = mod + "/service"
		config   = mod + "/config"
		engine   = mod + "/engine"
		worker   = mod + "/worker"
		adapters = mod + "/adapters"
		metrics  = mod + "/metrics"
		backoff  = mod + "/backoff"
		limits   = mod + "/limits"
		fixture  = mod + "/internal/fixture"
	)
	leaves := []string{backoff, limits}
	// Which packages of ours each package may import directly.
	arrows := []struct {
		pkg   func(string) bool
		name  string
		may   []string
		exact bool
	}{
		{func(p string) bool { return p == mod }, "main", []string{cli}, true},
		{func(p string) bool { return in(p, cli) }, "cli", []string{service, config, adapters, metrics, worker, engine, backoff, limits}, false},
		{func(p string) bool { return in(p, service) }, "service", []string{config, adapters, metrics, worker, engine, backoff, limits}, false},
		{func(p string) bool { return in(p, config) }, "config", leaves, false},
		{func(p string) bool { return in(p, metrics) }, "metrics", append([]string{worker, engine}, leaves...), false},
		{func(p string) bool { return in(p, adapters) }, "adapters", append([]string{adapters, worker}, leaves...), false},
		{func(p string) bool { return in(p, worker) }, "worker", append([]string{worker, engine}, leaves...), false},
		{func(p string) bool { return in(p, engine) }, "engine", leaves, false},
		{func(p string) bool { return in(p, backoff, limits) }, "backoff and limits", nil, false},
		{func(p string) bool { return in(p, fixture) }, "internal/fixture", []string{engine, adapters}, false},
	}
	for _, a := range arrows {
		t.Run("imports of "+a.name, func(t *testing.T) {
			applied := 0
			for path, p := range pkgs {
				if !a.pkg(path) {
					continue
				}
				applied++
				for _, imp := range p.Imports {
					if in(imp, mod) && !in(imp, path) && !slices.ContainsFunc(a.may, func(d string) bool { return in(imp, d) }) {
						t.Errorf("%s imports %s", path, imp)
					}
				}
			}
			if applied == 0 {
				t.Errorf("no package is %s", a.name)
			}
		})
	}

	// Who may import an outside dependency directly, and who must not depend on it at all.
	owners := []struct {
		dep     string
		owners  []string // the only packages that import it directly
		never   []string // packages that must not depend on it, even through another
		witness string   // an owner that does import it
	}{
		{"github.com/aws/aws-sdk-go-v2/service/", []string{adapters}, []string{engine, worker, config, metrics}, adapters + "/sqsqueue"},
		{"github.com/knadh/koanf", []string{config}, []string{engine, worker, adapters, metrics}, config},
		{"github.com/prometheus/", []string{metrics}, []string{engine, worker, adapters, config}, metrics},
		{"net/http", []string{service, adapters, cli, metrics}, []string{engine, worker}, service},
		{"github.com/google/cel-go", []string{engine}, []string{config}, engine},
	}
	for _, o := range owners {
		t.Run(o.dep, func(t *testing.T) {
			if !slices.ContainsFunc(pkgs[o.witness].Imports, func(i string) bool { return strings.HasPrefix(i, o.dep) }) {
				t.Errorf("witness %s does not import %s: the rule matches nothing", o.witness, o.dep)
			}
			for path, p := range pkgs {
				for _, imp := range p.Imports {
					if strings.HasPrefix(imp, o.dep) && !in(path, o.owners...) {
						t.Errorf("%s imports %s; only %v may", path, imp, o.owners)
					}
				}
				if in(path, o.never...) {
					for _, d := range p.Deps {
						if strings.HasPrefix(d, o.dep) {
							t.Errorf("%s depends on %s", path, d)
							break
						}
					}
				}
			}
		})
	}
	t.Run("one YAML library", func(t *testing.T) {
		for path, p := range pkgs {
			for _, imp := range p.Imports {
				if strings.Contains(imp, "yaml") && imp != "gopkg.in/yaml.v3" {
					t.Errorf("%s imports %s; events.d and the configuration are read with gopkg.in/yaml.v3", path, imp)
				}
			}
		}
	})
}
