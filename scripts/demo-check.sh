#!/usr/bin/env bash
# The demo's closing claim, checked rather than printed: every distinct event sent is
# one item, and the queue and its dead-letter queue are empty.
#
#   scripts/demo-check.sh items
#       prints how many items the rules' tables hold (all of them, summed)
#   scripts/demo-check.sh claim QUEUE ITEMS_BEFORE DISTINCT_EVENTS
#       prints `eventproc stats` for the rules' tables and QUEUE, then checks that the
#       tables gained exactly DISTINCT_EVENTS items since ITEMS_BEFORE and that QUEUE and
#       QUEUE-dlq have nothing visible, in flight or delayed; exits 1, saying what does
#       not hold, when it does not.
#
# RULES, BIN_EVENTPROC and the AWS endpoints as in common.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# total_items: the sum of the `total` lines of stats output on stdin.
total_items() { awk '/^  total / { n += $2 } END { print n + 0 }'; }

# depth_line LABEL: LABEL's line in stats output on stdin (empty when there is none).
depth_line() { grep -E "^$1 " || true; }
# empty LINE: true when a depth line says nothing is visible, in flight or delayed.
empty() { [[ $1 =~ visible\ 0\ +in\ flight\ 0\ +delayed\ 0$ ]]; }

case ${1:-} in
items)
	"$bin" stats --rules "$RULES" | total_items
	;;
claim)
	if (($# != 4)); then
		echo "usage: $0 claim QUEUE ITEMS_BEFORE DISTINCT_EVENTS" >&2
		exit 2
	fi
	queue=$2 before=$3 want=$4
	out=$("$bin" stats --rules "$RULES" --queue "$queue")
	printf '%s\n' "$out"
	after=$(total_items <<<"$out")
	q=$(depth_line "queue ${queue//./\\.}" <<<"$out")
	dlq=$(depth_line "dead-letter queue ${queue//./\\.}-dlq" <<<"$out")
	problems=()
	if ((after - before != want)); then
		problems+=("$want distinct events were sent, but the tables gained $((after - before)) items ($before before, $after after)")
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
	echo "demo: claim holds: $want distinct events, $want new items (duplicates added none); queue and dead-letter queue empty."
	;;
*)
	echo "usage: $0 items | claim QUEUE ITEMS_BEFORE DISTINCT_EVENTS" >&2
	exit 2
	;;
esac
