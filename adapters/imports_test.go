package adapters

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

// goPackage is the part of `go list -json`'s output that the import rules read.
type goPackage struct {
	ImportPath string
	Imports    []string
}

// listPackages lists every package of the module with its direct (non-test) imports.
func listPackages(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = ".." // the module root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list: %v", err)
		}
		pkgs[p.ImportPath] = p.Imports
	}
	return pkgs
}

func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

// TestImports: the adapters are the only door to AWS, and they do not depend on the
// engine. Each rule names a package it does not apply to that has the import it
// forbids (its witness), so that the rule is seen to match something.
func TestImports(t *testing.T) {
	pkgs := listPackages(t)
	for _, rule := range []struct {
		name      string
		applies   func(pkg string) bool
		forbidden func(imp string) bool
		witness   string
	}{
		{
			name:      "only adapters import an AWS SDK service package",
			applies:   func(pkg string) bool { return !under(pkg, "eventproc/adapters") },
			forbidden: func(imp string) bool { return strings.HasPrefix(imp, "github.com/aws/aws-sdk-go-v2/service/") },
			witness:   "eventproc/adapters/sqsqueue",
		},
		{
			name:      "adapters do not import the engine",
			applies:   func(pkg string) bool { return under(pkg, "eventproc/adapters") },
			forbidden: func(imp string) bool { return under(imp, "eventproc/engine") },
			witness:   "eventproc/worker",
		},
	} {
		t.Run(rule.name, func(t *testing.T) {
			if rule.applies(rule.witness) || !slices.ContainsFunc(pkgs[rule.witness], rule.forbidden) {
				t.Fatalf("witness %s: the rule applies to it or it has no forbidden import (imports %v)", rule.witness, pkgs[rule.witness])
			}
			checked := 0
			for pkg, imports := range pkgs {
				if !rule.applies(pkg) {
					continue
				}
				checked++
				for _, imp := range imports {
					if rule.forbidden(imp) {
						t.Errorf("%s imports %s", pkg, imp)
					}
				}
			}
			if checked == 0 {
				t.Errorf("no package to check among %d", len(pkgs))
			}
		})
	}
}
