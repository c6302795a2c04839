package cli

import (
	"encoding/json"
	"testing"
)

func TestSchemaCommand(t *testing.T) {
	code, out, _ := runCLI(t, "", "schema")
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["$schema"] == nil {
		t.Fatalf("exit %d\n%.200s", code, out)
	}
}
