package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"eventproc/engine"
)

// TableDiagnostics checks that every table of rs exists, is active, and is keyed as the
// persistence mapping says (check --connect, and a SIGHUP reload before it switches).
func TableDiagnostics(ctx context.Context, db *dynamodb.Client, rs *engine.Ruleset, rulesDir string, timeout time.Duration) engine.Diagnostics {
	var ds engine.Diagnostics
	add := func(p engine.Pos, sev engine.Severity, code, format string, args ...any) {
		ds = append(ds, engine.Diagnostic{Pos: p, Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	for _, t := range rs.Tables() {
		p := t.Pos
		p.File = engine.DirPath(rulesDir, p.File)
		cctx, cancel := context.WithTimeout(ctx, timeout)
		out, err := db.DescribeTable(cctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
		cancel()
		var missing *ddbtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &missing):
			add(p, engine.Error, "table-missing", "table %s does not exist (eventproc provision creates it)", t.Name)
			continue
		case err != nil:
			add(p, engine.Error, "aws-unreachable", "table %s: %v", t.Name, err)
			continue
		}
		want := keyDescription(t.Key)
		if got := tableKeyDescription(out.Table); got != want {
			add(p, engine.Error, "table-key-mismatch", "table %s is keyed %s, but the persistence mapping needs %s", t.Name, got, want)
		}
		if out.Table.TableStatus != ddbtypes.TableStatusActive {
			add(p, engine.Warning, "table-not-active", "table %s is %s, not ACTIVE", t.Name, out.Table.TableStatus)
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

func tableKeyDescription(t *ddbtypes.TableDescription) string {
	types := map[string]string{}
	for _, d := range t.AttributeDefinitions {
		types[aws.ToString(d.AttributeName)] = string(d.AttributeType)
	}
	var parts []string
	for _, k := range t.KeySchema {
		parts = append(parts, aws.ToString(k.AttributeName)+" "+string(k.KeyType)+" "+types[aws.ToString(k.AttributeName)])
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
