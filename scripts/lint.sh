#!/usr/bin/env bash
# make lint: formatting, vet, staticcheck, dead code, the import rule and a cyclomatic
# ceiling. Every check runs; the script fails if any finds something. The tools run at
# pinned versions through `go run`, so they do not enter the module's requirements.
set -uo pipefail
cd "$(dirname "$0")/.."

STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEADCODE=golang.org/x/tools/cmd/deadcode@v0.52.0
GOCYCLO=github.com/fzipp/gocyclo/cmd/gocyclo@v0.6.0
# The ceiling for a function's cyclomatic complexity. Above it a function is a set of
# named phases waiting to be split. Scanner loops, whose one switch is the clearest
# form (as in encoding/json), are the exceptions, listed by name.
CEILING=25
SCANNERS='^[0-9]+ engine \((\*yamlScanner\)\.scanText|\*decoder\)\.field|\*decoder\)\.num) '

failed=0
step() { echo "== $1"; }
fail() { echo "$1"; failed=1; }

step "gofmt"
out=$(gofmt -l $(git ls-files '*.go'))
[ -z "$out" ] || fail "gofmt would change:
$out"

step "go vet"
go vet ./... || failed=1

step "staticcheck"
go run "$STATICCHECK" ./... || failed=1

step "deadcode (reachable from main or a test)"
out=$(go run "$DEADCODE" -test ./... 2>&1)
[ -z "$out" ] || fail "$out"

step "cyclomatic complexity over $CEILING"
# gocyclo exits 1 when it lists a function: the scanners are always listed, so an
# empty list means the tool itself did not run.
report=$(go run "$GOCYCLO" -over "$CEILING" -ignore '_test\.go$' . 2>&1)
if ! grep -Eq "$SCANNERS" <<<"$report"; then
  fail "gocyclo did not run: $report"
elif out=$(grep -Ev "$SCANNERS|^exit status 1$" <<<"$report"); then
  fail "$out"
fi

step "import rules"
go test -count=1 -run '^TestArchitecture$' ./e2e || failed=1

if [ "$failed" -ne 0 ]; then
  echo "lint: FAILED"
  exit 1
fi
echo "lint: ok"
