#!/usr/bin/env bash
# The demo's closing claim, checked rather than printed: every distinct event sent is
# one item, and the queue and its dead-letter queue are empty.
#
#   scripts/demo-check.sh items
#       prints how many items the rules' tables hold (all of them, summed), then how
#       many of them are failed ones (rejected events)
#   scripts/demo-check.sh claim QUEUE ITEMS_BEFORE DISTINCT_EVENTS [FAILED_BEFORE INVALID_EVENTS]
#       prints `eventproc stats` for the rules' tables and QUEUE, then checks that the
#       tables gained exactly DISTINCT_EVENTS items since ITEMS_BEFORE (and, when given,
#       exactly INVALID_EVENTS failed items since FAILED_BEFORE: every other event was
#       processed) and that QUEUE and QUEUE-dlq have nothing visible, in flight or
#       delayed; exits 1, saying what does not hold, when it does not.
#
# RULES, BIN_EVENTPROC and the AWS endpoints as in common.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# total_items: the sum of the `total` lines of stats output on stdin.
total_items() { awk '/^  total / { n += $2 } END { print n + 0 }'; }
# failed_items: the sum of the items of status failed in stats output on stdin.
failed_items() { awk '/^  / && NF == 4 && $3 == "failed" { n += $4 } END { print n + 0 }'; }

# depth_line LABEL: LABEL's line in stats output on stdin (empty when there is none).
depth_line() { grep -E "^$1 " || true; }
# empty LINE: true when a depth line says nothing is visible, in flight or delayed.
empty() { [[ $1 =~ visible\ 0\ +in\ flight\ 0\ +delayed\ 0$ ]]; }

case ${1:-} in
items)
	out=$("$bin" stats --rules "$RULES")
	total_items <<<"$out"
	failed_items <<<"$out"
	;;
claim)
	if (($# != 4 && $# != 6)); then
		echo "usage: $0 claim QUEUE ITEMS_BEFORE DISTINCT_EVENTS [FAILED_BEFORE INVALID_EVENTS]" >&2
		exit 2
	fi
	queue=$2 before=$3 want=$4 failed_before=${5:-} invalid=${6:-}
	out=$("$bin" stats --rules "$RULES" --queue "$queue")
	printf '%s\n' "$out"
	after=$(total_items <<<"$out")
	failed_after=$(failed_items <<<"$out")
	q=$(depth_line "queue ${queue//./\\.}" <<<"$out")
	dlq=$(depth_line "dead-letter queue ${queue//./\\.}-dlq" <<<"$out")
	problems=()
	if ((after - before != want)); then
		problems+=("$want distinct events were sent, but the tables gained $((after - before)) items ($before before, $after after)")
	fi
	if [[ -n $invalid ]] && ((failed_after - failed_before != invalid)); then
		problems+=("$invalid of the events were invalid, but the tables gained $((failed_after - failed_before)) failed items ($failed_before before, $failed_after after)")
	fi
	if ! empty "$q"; then
		problems+=("queue $queue is not empty: ${q:-no depth reported}")
	fi
	if ! empty "$dlq"; then
		problems+=("dead-letter queue $queue-dlq is not empty: ${dlq:-no depth reported}")
	fi
	echo
	if ((${#problems[@]} > 0)); then
		echo "demo: CLAIM FAILED:" >&2
		printf '  - %s\n' "${problems[@]}" >&2
		exit 1
	fi
	failed=""
	if [[ -n $invalid ]]; then
		failed=" ($invalid failed: the invalid ones)"
	fi
	echo "demo: claim holds: $want distinct events, $want new items$failed (duplicates added none); queue and dead-letter queue empty."
	;;
*)
	echo "usage: $0 items | claim QUEUE ITEMS_BEFORE DISTINCT_EVENTS [FAILED_BEFORE INVALID_EVENTS]" >&2
	exit 2
	;;
esac
