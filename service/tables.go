package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"eventproc/adapters/dynamotable"
	"eventproc/engine"
)

// TableDiagnostics checks that every table of rs exists, is active, and is keyed as the
// persistence mapping says (check --connect, and a SIGHUP reload before it switches).
func TableDiagnostics(ctx context.Context, db dynamotable.API, rs *engine.Ruleset, rulesDir string, timeout time.Duration) engine.Diagnostics {
	var ds engine.Diagnostics
	add := func(p engine.Pos, sev engine.Severity, code, format string, args ...any) {
		ds = append(ds, engine.Diagnostic{Pos: p, Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	for _, t := range rs.Tables() {
		p := t.Pos
		p.File = engine.DirPath(rulesDir, p.File)
		desc, err := dynamotable.Describe(ctx, db, t.Name, timeout)
		switch {
		case dynamotable.IsMissing(err):
			add(p, engine.Error, "table-missing", "table %s does not exist (eventproc provision creates it)", t.Name)
			continue
		case err != nil:
			add(p, engine.Error, "aws-unreachable", "table %s: %v", t.Name, err)
			continue
		}
		want := keyDescription(t.Key)
		if got := tableKeyDescription(desc.Key); got != want {
			add(p, engine.Error, "table-key-mismatch", "table %s is keyed %s, but the persistence mapping needs %s", t.Name, got, want)
		}
		if !desc.Active() {
			add(p, engine.Warning, "table-not-active", "table %s is %s, not ACTIVE", t.Name, desc.Status)
		}
	}
	return ds
}

func keyDescription(key []string) string {
	parts := make([]string, len(key))
	for i, k := range key {
		kind := "HASH"
		if i == 1 {
			kind = "RANGE"
		}
		parts[i] = k + " " + kind + " S"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func tableKeyDescription(key []dynamotable.KeyElement) string {
	var parts []string
	for _, k := range key {
		parts = append(parts, k.Name+" "+k.KeyType+" "+k.Type)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
