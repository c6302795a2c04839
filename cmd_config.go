package main

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
// where it came from. Exit 2 on usage or configuration errors, every problem listed.
func cmdConfig(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("config", env, "[--format text|json] [run's flags]\n\nPrint the configuration `eventproc run` would use with the same flags, file and\nEVENTPROC_* variables: each key's value (secrets redacted) and where it came from.")
	loadConfig := configFlags(fs)
	format := fs.String("format", "text", "output `format`: text (a table) or json")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "eventproc config: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(env.stderr, "eventproc config: --format must be text or json, not %q\n", *format)
		return 2
	}
	cfg, err := loadConfig(env)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc config: %v\n", err)
		var ce *config.Error
		if errors.As(err, &ce) {
			return 2
		}
		return 1
	}
	settings := cfg.Settings()
	if *format == "json" {
		type entry struct {
			Key    string `json:"key"`
			Value  string `json:"value"`
			Origin string `json:"origin"`
			Env    string `json:"env"`
			Flag   string `json:"flag"`
		}
		out := struct {
			File     string  `json:"file"`
			Settings []entry `json:"settings"`
		}{File: cfg.File, Settings: []entry{}}
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
