package engine

import (
	"fmt"
	"os"
	"strings"
)

// LoadDir is Load of the directory dir on disk, with every diagnostic's file named as
// the caller names the directory: "events.d/orders.yaml" for dir "events.d", dir
// itself for a diagnostic of the whole tree. The error, not a diagnostic, says that
// dir is missing or is not a directory.
func LoadDir(dir string, opts ...Option) (*Ruleset, Diagnostics, error) {
	if err := isDir(dir); err != nil {
		return nil, nil, err
	}
	rs, diags := Load(os.DirFS(dir), opts...)
	return rs, diags.In(dir), nil
}

// LoadEveryDir is LoadEvery of the directory dir on disk, with diagnostics named as
// LoadDir names them.
func LoadEveryDir(dir string, opts ...Option) ([]EnvelopeRules, Diagnostics, error) {
	if err := isDir(dir); err != nil {
		return nil, nil, err
	}
	sets, diags := LoadEvery(os.DirFS(dir), opts...)
	return sets, diags.In(dir), nil
}

func isDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("rules: %s is not a directory", dir)
	}
	return nil
}

// DirPath names file, relative to the rules directory dir, as LoadDir names a
// diagnostic's file: dir/file, or dir itself for "." (the whole tree). Use it for the
// positions a ruleset from LoadDir(dir) returns elsewhere: test results, tables.
func DirPath(dir, file string) string {
	if file == "." || file == "" {
		return dir
	}
	return strings.TrimSuffix(dir, "/") + "/" + file
}

// In rewrites, in place, each diagnostic's file, relative to the rules directory dir,
// as DirPath names it, and returns ds.
func (ds Diagnostics) In(dir string) Diagnostics {
	for i := range ds {
		ds[i].File = DirPath(dir, ds[i].File)
	}
	return ds
}
