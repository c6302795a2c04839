package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"eventproc/config"
)

// cmdConfig prints the effective configuration of `eventproc run` given the same flags,
// file and environment: every key's value (secrets redacted, see config.Redact) and
// where it came from. Exit 2 on usage or configuration errors: the configuration is
// printed all the same, as far as it could be read, and every problem under it.
func cmdConfig(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("config", env, "[--format text|json] "+configSynopsis()+"\n\nPrint the configuration `eventproc run` would use with the same flags, file and\nEVENTPROC_* variables: each key's value (secrets redacted) and where it came from.")
	loadConfig := configFlags(fs)
	format := fs.String("format", "text", "output `format`: text (a table) or json")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return unexpectedArg(env, fs)
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(env.stderr, "eventproc config: --format must be text or json, not %q\n", *format)
		return 2
	}
	cfg, err := loadConfig(env)
	var ce *config.Error
	if err != nil && (cfg == nil || !errors.As(err, &ce)) {
		fmt.Fprintf(env.stderr, "eventproc config: %v\n", err)
		return 1
	}
	if code := printConfig(env, cfg, ce, *format); code != 0 {
		return code
	}
	if ce != nil {
		fmt.Fprintf(env.stderr, "eventproc config: %v\n", ce)
		return 2
	}
	return 0
}

// printConfig writes cfg as a table or (format json) a JSON document, which lists the
// problems of ce too.
func printConfig(env *cmdEnv, cfg *config.Config, ce *config.Error, format string) int {
	settings := cfg.Settings()
	if format == "json" {
		type entry struct {
			Key    string `json:"key"`
			Value  string `json:"value"`
			Origin string `json:"origin"`
			Env    string `json:"env"`
			Flag   string `json:"flag"`
		}
		out := struct {
			File     string   `json:"file"`
			Settings []entry  `json:"settings"`
			Problems []string `json:"problems"`
		}{File: cfg.File, Settings: []entry{}, Problems: []string{}}
		if ce != nil {
			out.Problems = ce.Problems
		}
		for i, k := range config.Keys() {
			s := settings[i]
			out.Settings = append(out.Settings, entry{s.Key, s.Value, s.Origin, k.Env, "--" + k.Flag})
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(env.stderr, "eventproc config: %v\n", err)
			return 1
		}
		return 0
	}
	file := cfg.File
	if file == "" {
		file = "none"
	}
	fmt.Fprintf(env.stdout, "# configuration file: %s\n", file)
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tFROM")
	for _, s := range settings {
		val, from := s.Value, s.Origin
		switch {
		case from == "":
			val, from = "-", "unset"
		case val == "":
			val = `""`
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, val, from)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(env.stderr, "eventproc config: %v\n", err)
		return 1
	}
	return 0
}
