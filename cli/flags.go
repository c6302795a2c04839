package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"eventproc/config"
	"eventproc/engine"
)

// newFlagSet makes the flag set of command name. usage is what follows "usage:
// eventproc NAME" on -h: a synopsis that mentions every flag the command defines (a
// test holds each command to it), then optionally a blank line and a description.
// Every flag's usage names what its value is with a backquoted word (`dir`, `count`,
// `duration`, …), which -h prints after the flag's name.
func newFlagSet(name string, env *cmdEnv, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage: eventproc %s %s\n", name, usage)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(env.stderr, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args; it returns the exit code to use when parsing ends the command.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// unexpectedArg reports fs's first positional argument to a command that takes none,
// and returns the usage error's exit code, 2. When the argument looks like the value
// of one of the command's flags (a directory for --rules, a YAML file for --config),
// the message says which: eventproc check: unexpected argument "events.d"; did you
// mean --rules events.d?
func unexpectedArg(env *cmdEnv, fs *flag.FlagSet) int {
	arg := fs.Arg(0)
	fmt.Fprintf(env.stderr, "eventproc %s: unexpected argument %q%s\n", fs.Name(), arg, flagHint(fs, arg))
	return 2
}

// misplacedRules reports the first of files, the positional arguments of a command
// that reads files, that is a directory while the command takes --rules: eventproc
// validate: events.d is a directory; did you mean --rules events.d? It returns false
// when there is none.
func misplacedRules(env *cmdEnv, fs *flag.FlagSet, files []string) bool {
	if fs.Lookup("rules") == nil {
		return false
	}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.IsDir() {
			fmt.Fprintf(env.stderr, "eventproc %s: %s is a directory%s\n", fs.Name(), f, flagHint(fs, f))
			return true
		}
	}
	return false
}

// flagHint is "; did you mean --FLAG ARG?" when arg looks like the value of one of fs's
// flags, else "".
func flagHint(fs *flag.FlagSet, arg string) string {
	var name string
	if st, err := os.Stat(arg); err == nil && st.IsDir() && fs.Lookup("rules") != nil {
		name = "rules"
	} else if (strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml")) && fs.Lookup("config") != nil {
		name = "config"
	}
	if name == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean --%s %s?", name, arg)
}

// rulesFlag registers --rules, defaulting to $EVENTPROC_RULES or events.d.
func rulesFlag(fs *flag.FlagSet, env *cmdEnv) *string {
	def := env.getenv("EVENTPROC_RULES")
	if def == "" {
		def = "events.d"
	}
	return fs.String("rules", def, "events.d `directory`")
}

// envelopeFlag registers --envelope, defaulting to $EVENTPROC_ENVELOPE.
func envelopeFlag(fs *flag.FlagSet, env *cmdEnv) *string {
	return fs.String("envelope", env.getenv("EVENTPROC_ENVELOPE"), "the envelope `name` to use when events.d declares several (default: the one marked default)")
}

// transportValue is --transport: one of engine.Transports.
type transportValue engine.Transport

func (t *transportValue) String() string { return string(*t) }

func (t *transportValue) Set(v string) error {
	for _, x := range engine.Transports {
		if v == string(x) {
			*t = transportValue(x)
			return nil
		}
	}
	names := make([]string, len(engine.Transports))
	for i, x := range engine.Transports {
		names[i] = string(x)
	}
	return fmt.Errorf("must be one of %s", strings.Join(names, ", "))
}

// transportFlag registers --transport, how a message body carries its event (default
// auto: an SNS notification is unwrapped, anything else is read raw).
func transportFlag(fs *flag.FlagSet) *engine.Transport {
	t := transportValue(engine.TransportAuto)
	fs.Var(&t, "transport", "the `transport` that carries each body: auto (an SNS notification is unwrapped, anything else read raw), raw or sns")
	return (*engine.Transport)(&t)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// configSynopsis is the part of a usage line that lists the flags configFlags registers.
func configSynopsis() string {
	parts := []string{"[--config FILE]"}
	for _, k := range config.Keys() {
		parts = append(parts, "[--"+k.Flag+" "+strings.ToUpper(k.Arg)+"]")
	}
	return strings.Join(parts, " ")
}

// configFlags registers --config and one flag per configuration key (config.Keys) on fs,
// as `eventproc run` and `eventproc config` take them. After fs.Parse, load returns the
// configuration: defaults < file < EVENTPROC_* variables < the flags that were set;
// opts may adjust the input. Its error is a *config.Error for configuration problems,
// returned with the configuration as far as it could be read.
func configFlags(fs *flag.FlagSet) (load func(env *cmdEnv, opts ...func(*config.Input)) (*config.Config, error)) {
	file := fs.String("config", "", "configuration `file` (default: $"+config.EnvConfigFile+", else ./"+config.DefaultFile+" when present)")
	byFlag := map[string]string{}
	for _, k := range config.Keys() {
		usage := k.Usage + " [$" + k.Env + "=`" + k.Arg + "`]"
		if k.Default != "" {
			usage += " (default " + k.Default + ")"
		}
		fs.String(k.Flag, "", usage)
		byFlag[k.Flag] = k.Name
	}
	return func(env *cmdEnv, opts ...func(*config.Input)) (*config.Config, error) {
		set := map[string]string{}
		fs.Visit(func(f *flag.Flag) {
			if key, ok := byFlag[f.Name]; ok {
				set[key] = f.Value.String()
			}
		})
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		in := config.Input{File: *file, Dir: wd, Environ: env.environ, Flags: set}
		for _, o := range opts {
			o(&in)
		}
		return config.Load(in)
	}
}
