package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"eventproc/engine"
)

// LoadDir and LoadEveryDir name each diagnostic's file as the caller names the
// directory, and say by an error (not a diagnostic) that it is not one.
func TestLoadDir(t *testing.T) {
	tmp := t.TempDir()
	broken := filepath.Join(tmp, "broken")
	empty := filepath.Join(tmp, "empty")
	for _, d := range []string{filepath.Join(broken, "sub"), empty} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(broken, "sub", "a.yaml"), []byte("envelope: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(tmp, "file.yaml")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	loaders := map[string]func(dir string) (bool, engine.Diagnostics, error){
		"LoadDir": func(dir string) (bool, engine.Diagnostics, error) {
			rs, diags, err := engine.LoadDir(dir)
			return rs != nil, diags, err
		},
		"LoadEveryDir": func(dir string) (bool, engine.Diagnostics, error) {
			sets, diags, err := engine.LoadEveryDir(dir)
			return len(sets) > 0 && sets[0].Rules != nil, diags, err
		},
	}
	cases := []struct {
		name, dir string
		loads     bool
		files     []string // each error's file, in order
		err       string
	}{
		{name: "shipped", dir: "../events.d", loads: true},
		{name: "file in a subdirectory", dir: broken, files: []string{broken, broken + "/sub/a.yaml"}},
		{name: "trailing slash", dir: broken + "/", files: []string{broken + "/", broken + "/sub/a.yaml"}},
		{name: "the whole tree", dir: empty, files: []string{empty, empty}},
		{name: "missing", dir: filepath.Join(tmp, "nope"), err: "rules: stat " + filepath.Join(tmp, "nope") + ": no such file or directory"},
		{name: "not a directory", dir: file, err: "rules: " + file + " is not a directory"},
	}
	for lname, load := range loaders {
		for _, c := range cases {
			t.Run(lname+"/"+c.name, func(t *testing.T) {
				loads, diags, err := load(c.dir)
				if c.err != "" {
					if err == nil || err.Error() != c.err {
						t.Fatalf("error %v, want %q", err, c.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if loads != c.loads {
					t.Errorf("loads: %v, want %v; diagnostics:\n%v", loads, c.loads, diags)
				}
				var files []string
				for _, d := range diags {
					if d.Severity == engine.Error {
						files = append(files, d.File)
					}
				}
				if strings.Join(files, "\n") != strings.Join(c.files, "\n") {
					t.Errorf("errors' files:\n%s\nwant:\n%s\ndiagnostics:\n%v", strings.Join(files, "\n"), strings.Join(c.files, "\n"), diags)
				}
			})
		}
	}
}

func TestDirPath(t *testing.T) {
	for _, c := range []struct{ dir, file, want string }{
		{"events.d", "orders.yaml", "events.d/orders.yaml"},
		{"events.d/", "a/b.yaml", "events.d/a/b.yaml"},
		{"/etc/eventproc/events.d", ".", "/etc/eventproc/events.d"},
		{"events.d", "", "events.d"},
	} {
		if got := engine.DirPath(c.dir, c.file); got != c.want {
			t.Errorf("DirPath(%q, %q) = %q, want %q", c.dir, c.file, got, c.want)
		}
	}
}
