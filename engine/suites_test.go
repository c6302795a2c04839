package engine

import (
	"context"
	"os"
	"testing"
)

func TestSmoke(t *testing.T) {
	rs, ds := Load(os.DirFS("../events.d"))
	for _, d := range ds {
		t.Log(d)
	}
	if rs == nil {
		t.Fatal("no ruleset")
	}
	for _, r := range rs.Test(context.Background()) {
		if !r.Passed {
			t.Errorf("%s %s: %s", r.Pos, r.Case, r.Message)
		}
	}
}
