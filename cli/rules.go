package cli

import (
	"fmt"

	"eventproc/engine"
)

// awsRules loads the rules for an AWS command (with opts, such as the envelope),
// printing the errors; nil when there are any. Warnings are `eventproc check`'s to
// list: one line says how many there are.
func awsRules(env *cmdEnv, name, dir string, opts ...engine.Option) *engine.Ruleset {
	rs, diags, err := engine.LoadDir(dir, opts...)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc %s: %v\n", name, err)
		return nil
	}
	if rs == nil || diags.HasErrors() {
		for _, d := range diags {
			if d.Severity == engine.Error {
				fmt.Fprintln(env.stderr, d)
			}
		}
		fmt.Fprintf(env.stderr, "eventproc %s: %s has errors\n", name, dir)
		return nil
	}
	if _, n := diags.Count(); n > 0 {
		fmt.Fprintf(env.stderr, "eventproc %s: %s\n", name, warningsLine(dir, n))
	}
	return rs
}

// warningsLine is the one line that says the rules have warnings, for the commands that
// do not list them (run, provision, send, stats).
func warningsLine(dir string, n int) string {
	s := "s"
	if n == 1 {
		s = ""
	}
	return fmt.Sprintf("%s has %d warning%s; eventproc check --rules %s lists them", dir, n, s, dir)
}
