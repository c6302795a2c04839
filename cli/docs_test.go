package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The documentation tests check README.md and docs/ against the program: docs/cli.md has
// a section per command that opens with its -h synopsis, every eventproc command line
// shown names a real command with real flags, and every make target and script named
// exists. The checks take the command names and a function returning a command's -h
// text, so they do not depend on where the command table lives.

// repoRoot is the repository's root: TestMain runs the tests there.
const repoRoot = "."

// TestCLIDocMatchesUsage: for every command of the command table, docs/cli.md has a
// section "## eventproc NAME" whose synopsis (the first line of its first code block) is
// the command's -h usage line, and which names every flag -h lists; and it has no
// section for a command that does not exist.
func TestCLIDocMatchesUsage(t *testing.T) {
	checkCLIDoc(t, readDoc(t, "docs/cli.md"), commandNames(), commandHelp)
}

// TestDocCommandsAreReal: every "eventproc NAME …" in the code of README.md and docs/
// names a command whose -h works, with flags it has.
func TestDocCommandsAreReal(t *testing.T) {
	checkDocCommands(t, docFiles(t), commandHelp)
}

// TestDocMakeTargetsAndScripts: every "make TARGET" in the code of README.md and docs/
// is a target of the Makefile, and every scripts/… they name exists.
func TestDocMakeTargetsAndScripts(t *testing.T) {
	checkMakeAndScripts(t, docFiles(t), readDoc(t, "Makefile"))
}

// commandNames lists the command table's names, sorted.
func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// commandHelp returns what "eventproc NAME -h" prints, or an error when it does not
// exit 0.
func commandHelp(name string) (string, error) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{name, "-h"}, []string{"PATH=/usr/bin"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		return "", fmt.Errorf("eventproc %s -h: exit %d: %s", name, code, errb.String())
	}
	return out.String() + errb.String(), nil
}

// readDoc reads a file relative to the repository's root.
func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docFiles maps README.md and every docs/*.md (as repository paths) to their text.
func docFiles(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	files := map[string]string{"README.md": readDoc(t, "README.md")}
	for _, p := range paths {
		rel, _ := filepath.Rel(repoRoot, p)
		files[filepath.ToSlash(rel)] = readDoc(t, rel)
	}
	return files
}

// usageFlags parses -h text into its synopsis (the usage line without "usage: ") and
// the names of the flags it lists.
func usageFlags(help string) (synopsis string, flags []string) {
	lines := strings.Split(help, "\n")
	synopsis = strings.TrimPrefix(lines[0], "usage: ")
	for _, l := range lines[1:] {
		if m := flagLine.FindStringSubmatch(l); m != nil {
			flags = append(flags, m[1])
		}
	}
	return synopsis, flags
}

// mdSection is a "## " section of a markdown file: its heading and its lines after it.
type mdSection struct {
	heading string
	line    int
	body    []string
}

// sections splits markdown into its "## " sections; headings inside code blocks do not
// count.
func sections(doc string) []mdSection {
	var out []mdSection
	fence := false
	for i, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fence = !fence
		}
		if !fence && strings.HasPrefix(l, "## ") {
			out = append(out, mdSection{heading: strings.TrimPrefix(l, "## "), line: i + 1})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].body = append(out[len(out)-1].body, l)
		}
	}
	return out
}

// firstCodeLine is the first line of a section's first fenced code block.
func firstCodeLine(body []string) (string, bool) {
	for i, l := range body {
		if strings.HasPrefix(strings.TrimSpace(l), "```") && i+1 < len(body) {
			return body[i+1], true
		}
	}
	return "", false
}

// mentionsFlag reports whether text names the flag as -name or --name.
func mentionsFlag(text, flag string) bool {
	return regexp.MustCompile(`(^|[^\w-])--?` + regexp.QuoteMeta(flag) + `($|[^\w-])`).MatchString(text)
}

// checkCLIDoc checks a CLI reference against the commands: names are the commands,
// help returns a command's -h text.
func checkCLIDoc(t *testing.T, doc string, names []string, help func(name string) (string, error)) {
	t.Helper()
	byName := map[string]mdSection{}
	for _, s := range sections(doc) {
		name, ok := strings.CutPrefix(s.heading, "eventproc ")
		if !ok {
			continue
		}
		if _, dup := byName[name]; dup {
			t.Errorf("line %d: a second section for eventproc %s", s.line, name)
		}
		byName[name] = s
	}
	known := map[string]bool{}
	for _, name := range names {
		known[name] = true
		s, ok := byName[name]
		if !ok {
			t.Errorf("no section \"## eventproc %s\"", name)
			continue
		}
		h, err := help(name)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		want, flags := usageFlags(h)
		got, ok := firstCodeLine(s.body)
		if !ok {
			t.Errorf("line %d: eventproc %s: no synopsis (a code block with the usage line)", s.line, name)
		} else if got != want {
			t.Errorf("line %d: eventproc %s: synopsis\n\t%s\n-h prints\n\t%s", s.line, name, got, want)
		}
		text := strings.Join(s.body, "\n")
		text = strings.Replace(text, got, "", 1) // the synopsis names them all: look beyond it
		for _, f := range flags {
			if !mentionsFlag(text, f) {
				t.Errorf("line %d: eventproc %s: the section says nothing of --%s", s.line, name, f)
			}
		}
	}
	for name, s := range byName {
		if !known[name] {
			t.Errorf("line %d: a section for eventproc %s, which is no command", s.line, name)
		}
	}
}

var (
	fencedCode = regexp.MustCompile("(?s)```[^\n]*\n(.*?)```")
	inlineCode = regexp.MustCompile("`([^`\n]+)`")
	// shownCommand starts an eventproc command line: "eventproc NAME" (or bin/eventproc);
	// its arguments run to the end of the line, a shell operator, a comment, a
	// redirection or the next eventproc command.
	shownCommand = regexp.MustCompile(`(?:^|[\s$(])(?:bin/)?eventproc ([a-z][\w-]*)`)
	argsEnd      = regexp.MustCompile(`[#;&<>\n]|(?:^|\s)(?:bin/)?eventproc\b`)
	shownFlag    = regexp.MustCompile(`(?:^|[\s\[(])--?([a-zA-Z][\w-]*)`)
	shownMake    = regexp.MustCompile(`(?:^|\s)make ([a-z][\w-]*)`)
	namedScript  = regexp.MustCompile(`scripts/[\w.-]+`)
	makeTarget   = regexp.MustCompile(`(?m)^([a-z][\w-]*):`)
)

// codeOf returns the code of a markdown file: its fenced blocks and inline code spans,
// one string each.
func codeOf(doc string) []string {
	var code []string
	for _, m := range fencedCode.FindAllStringSubmatch(doc, -1) {
		code = append(code, m[1])
	}
	prose := fencedCode.ReplaceAllString(doc, "")
	for _, m := range inlineCode.FindAllStringSubmatch(prose, -1) {
		code = append(code, m[1])
	}
	return code
}

// checkDocCommands checks every eventproc command line in the files' code: the command
// exists (help succeeds) and has every flag the line gives it.
func checkDocCommands(t *testing.T, files map[string]string, help func(name string) (string, error)) {
	t.Helper()
	flagsOf := map[string]map[string]bool{}
	seen := 0
	for _, file := range sortedKeys(files) {
		for _, code := range codeOf(files[file]) {
			for _, loc := range shownCommand.FindAllStringSubmatchIndex(code, -1) {
				seen++
				name, rest := code[loc[2]:loc[3]], code[loc[3]:]
				if end := argsEnd.FindStringIndex(rest); end != nil {
					rest = rest[:end[0]]
				}
				flags, ok := flagsOf[name]
				if !ok {
					h, err := help(name)
					if err != nil {
						t.Errorf("%s: eventproc %s%s: no such command (%v)", file, name, rest, err)
						flagsOf[name] = nil
						continue
					}
					_, fs := usageFlags(h)
					flags = map[string]bool{"h": true, "help": true}
					for _, f := range fs {
						flags[f] = true
					}
					flagsOf[name] = flags
				}
				if flags == nil {
					continue
				}
				for _, f := range shownFlag.FindAllStringSubmatch(rest, -1) {
					if !flags[f[1]] {
						t.Errorf("%s: eventproc %s%s: %s has no flag --%s", file, name, rest, name, f[1])
					}
				}
			}
		}
	}
	if seen == 0 {
		t.Error("no eventproc command line found in the documentation")
	}
}

// checkMakeAndScripts checks that every make target the files' code runs is a target
// of makefile, and every scripts/… the files name exists.
func checkMakeAndScripts(t *testing.T, files map[string]string, makefile string) {
	t.Helper()
	targets := map[string]bool{}
	for _, m := range makeTarget.FindAllStringSubmatch(makefile, -1) {
		targets[m[1]] = true
	}
	made := 0
	for _, file := range sortedKeys(files) {
		for _, code := range codeOf(files[file]) {
			for _, m := range shownMake.FindAllStringSubmatch(code, -1) {
				made++
				if !targets[m[1]] {
					t.Errorf("%s: make %s: the Makefile has no such target", file, m[1])
				}
			}
		}
		for _, s := range namedScript.FindAllString(files[file], -1) {
			s = strings.TrimRight(s, ".")
			if _, err := os.Stat(filepath.Join(repoRoot, s)); err != nil {
				t.Errorf("%s: names %s: %v", file, s, err)
			}
		}
	}
	if made == 0 {
		t.Error("no make command found in the documentation")
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
