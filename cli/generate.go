package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"

	"eventproc/engine"
)

// The generate command, and the generation flags it shares with send: one generator
// (engine.Generator), so that generate prints what send sends.

// genFlags say what to generate.
type genFlags struct {
	typ, version *string
	count        *int
	invalid      *float64
	seed         *uint64
}

func addGenFlags(fs *flag.FlagSet) *genFlags {
	return &genFlags{
		typ:     fs.String("type", "all", "event `type`, or all"),
		version: fs.String("version", "", "schema `version` (default: every version of the type)"),
		count:   fs.Int("count", 0, "the `number` of messages"),
		invalid: fs.Float64("invalid", 0, "`fraction` of the messages made invalid (0 to 1)"),
		seed:    fs.Uint64("seed", 0, "random `seed` (0: a fresh one; the same seed gives the same events, ids included)"),
	}
}

// check returns what is wrong with the flags, or "".
func (f *genFlags) check() string {
	switch {
	case *f.count <= 0:
		return "--count must be positive"
	case *f.invalid < 0 || *f.invalid > 1:
		return "--invalid must be within [0, 1]"
	}
	return ""
}

// generator returns the generator the flags describe and the kinds it goes round,
// drawing a seed when none was given (it is then set in the flags, to be printed).
func (f *genFlags) generator(rs *engine.Ruleset) (*engine.Generator, []engine.Kind, error) {
	kinds, err := generateKinds(rs, *f.typ, *f.version)
	if err != nil {
		return nil, nil, err
	}
	if *f.seed == 0 {
		*f.seed = rand.Uint64()
	}
	g, err := rs.NewGenerator(engine.GenerateOptions{Kinds: kinds, Invalid: *f.invalid, Seed: *f.seed})
	return g, kinds, err
}

// generateKinds lists the types and versions to generate: typ "all" is every type, an
// empty version every version of the type.
func generateKinds(rs *engine.Ruleset, typ, version string) ([]engine.Kind, error) {
	var out []engine.Kind
	var names []string
	for _, t := range rs.Types() {
		names = append(names, t.Name)
		if typ != "all" && typ != t.Name {
			continue
		}
		for _, v := range t.Versions {
			if c := rs.Envelope().Version; version == "" && c != "" && v != c {
				continue // the only version a constant-version envelope carries
			}
			if version == "" || version == v {
				out = append(out, engine.Kind{Type: t.Name, Version: v})
			}
		}
		if typ == t.Name && len(out) == 0 {
			return nil, fmt.Errorf("type %s has no version %q (it has %s)", typ, version, strings.Join(t.Versions, ", "))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no event type %q (known: all, %s)", typ, strings.Join(names, ", "))
	}
	return out, nil
}

func kindNames(kinds []engine.Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Type + " " + k.Version
	}
	return strings.Join(names, ", ")
}

func cmdGenerate(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("generate", env, "[--rules DIR] [--envelope NAME] --type T|all [--version V] --count N [--invalid FRACTION] [--seed S]\n\n"+
		"Writes events generated from the rules' declarations to stdout, one message body a\n"+
		"line (NDJSON): what send sends with the same flags and seed. Every event has a\n"+
		"persistence key of its own (see README.md); the seed is printed on stderr.")
	rules := rulesFlag(fs, env)
	envelope := envelopeFlag(fs, env)
	gf := addGenFlags(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "eventproc generate: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if msg := gf.check(); msg != "" {
		fmt.Fprintf(env.stderr, "eventproc generate: %s\n", msg)
		return 2
	}
	rs := awsRules(env, "generate", *rules, engine.WithEnvelope(*envelope))
	if rs == nil {
		return 1
	}
	g, kinds, err := gf.generator(rs)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc generate: %v\n", err)
		return 2
	}
	w := bufio.NewWriter(env.stdout)
	invalid := 0
	for i := 0; i < *gf.count; i++ {
		if i%1000 == 0 && ctx.Err() != nil {
			w.Flush()
			fmt.Fprintf(env.stderr, "eventproc generate: interrupted after %d of %d\n", i, *gf.count)
			return 1
		}
		e, err := g.Next()
		if err != nil {
			w.Flush()
			fmt.Fprintf(env.stderr, "eventproc generate: %v\n", err)
			return 1
		}
		if !e.Valid {
			invalid++
		}
		w.WriteString(e.Body)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(env.stderr, "eventproc generate: write: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.stderr, "generated %d messages (%d valid, %d invalid) of %s (seed %d)\n",
		*gf.count, *gf.count-invalid, invalid, kindNames(kinds), *gf.seed)
	return 0
}
