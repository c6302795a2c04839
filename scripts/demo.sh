#!/usr/bin/env bash
# make demo: the whole thing on a fresh clone. Starts the emulators (unless running),
# provisions a queue of its own and an SNS topic that feeds it (SNS notifications, not
# raw delivery), starts the worker, sends a mix of valid and invalid events of every
# type and version (and sends some of them again, to show that a duplicate never adds an
# item), publishes more through the topic (new events, and some of the first ones again:
# unwrapped, they are the same events, so they add no item), waits until the queue is
# drained, prints the summary, checks its claim (the tables gained one item per distinct
# event; the queue and its dead-letter queue are empty: scripts/demo-check.sh), failing
# when it does not hold, and stops what it started. COUNT (default 1000), INVALID (0.2)
# and SNS_COUNT (100, at most COUNT) set the mix.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

count=${COUNT:-1000}
invalid=${INVALID:-0.2}
sns_count=${SNS_COUNT:-100}
((sns_count <= count)) || sns_count=$count
queue=demo-$(date +%s)
topic=$queue-topic
seed=$((RANDOM * 32768 + RANDOM + 1))
sns_seed=$((seed + 1))
run=$root/.run
mkdir -p "$run"
worker_log=$run/demo-worker.log

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
started=()
answers "${FAUXQS_PORT:-4566}" || started+=(fauxqs)
answers "${DYNALITE_PORT:-4567}" || started+=(dynalite)
worker_pid=

cleanup() {
	local code=$?
	if [[ -n $worker_pid ]] && kill -0 "$worker_pid" 2>/dev/null; then
		kill -TERM "$worker_pid" 2>/dev/null || true
		wait "$worker_pid" 2>/dev/null || true
	fi
	for name in "${started[@]}"; do
		scripts/emulators.sh down "$name" >/dev/null || true
	done
	if ((code != 0)); then
		echo "demo: failed (exit $code); worker log: $worker_log" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }

step "emulators"
scripts/emulators.sh up

step "provision queue $queue, its dead-letter queue, the tables, and topic $topic feeding the queue"
"$bin" provision --rules "$RULES" --queue "$queue" --topic "$topic"
{
	read -r before
	read -r failed_before
} < <(scripts/demo-check.sh items)
echo "the tables hold $before items ($failed_before failed) before the demo sends anything"

step "worker (log: ${worker_log#"$root"/})"
"$bin" run --rules "$RULES" --queue-url "$queue" --receive-wait 1s --grace-period 10s \
	--http-addr "" --log-format json >"$worker_log" 2>&1 &
worker_pid=$!
echo "started (pid $worker_pid)"

step "send $count events of every type and version, a fraction $invalid of them invalid"
# invalid_of: how many invalid events the summary line of send (on stdin) counts.
invalid_of() { sed -nE 's/^sent .* valid, ([0-9]+) invalid\).*/\1/p'; }
out=$("$bin" send --rules "$RULES" --queue "$queue" --type all --count "$count" --invalid "$invalid" --seed "$seed")
echo "$out"
invalid_events=$(invalid_of <<<"$out")
dups=$((count / 10))
step "send the first $dups of them again (same seed: the same events and event ids)"
"$bin" send --rules "$RULES" --queue "$queue" --type all --count "$dups" --invalid "$invalid" --seed "$seed"
step "publish $sns_count new events through topic $topic (the queue gets SNS notifications; the worker unwraps them)"
out=$("$bin" send --rules "$RULES" --via-topic "$topic" --type all --count "$sns_count" --invalid "$invalid" --seed "$sns_seed" --attribute via=sns)
echo "$out"
invalid_events=$((invalid_events + $(invalid_of <<<"$out")))
step "publish the first $sns_count of the first events again through the topic (unwrapped: the same events, the same items)"
"$bin" send --rules "$RULES" --via-topic "$topic" --type all --count "$sns_count" --invalid "$invalid" --seed "$seed" --attribute via=sns

step "wait until the queue is drained"
deadline=$((SECONDS + ${DRAIN_TIMEOUT:-180}))
while :; do
	if ! kill -0 "$worker_pid" 2>/dev/null; then
		echo "the worker exited; the end of its log:" >&2
		tail -n 20 "$worker_log" >&2
		exit 1
	fi
	line=$("$bin" stats --tables=false --queue "$queue" 2>/dev/null | grep "^queue $queue " || true)
	if [[ $line =~ visible\ 0\ +in\ flight\ 0\ +delayed\ 0 ]]; then
		echo "drained"
		break
	fi
	if ((SECONDS > deadline)); then
		echo "not drained after ${DRAIN_TIMEOUT:-180}s: $line" >&2
		exit 1
	fi
	sleep 1
done

step "stop the worker (SIGTERM: it drains and exits 0)"
kill -TERM "$worker_pid"
worker_code=0
wait "$worker_pid" || worker_code=$?
worker_pid=
echo "worker exited $worker_code"
# The worker's last log line sums up what it did, AWS requests included.
grep -h '"msg":"stopped"' "$worker_log" | tail -n 1 || true

step "summary: items by type, version and status; queue and dead-letter depths"
echo "sent $((count + dups)) messages to the queue: $count distinct events and $dups duplicates of them;"
echo "published $((2 * sns_count)) through SNS: $sns_count new events and $sns_count of the first ones again."
echo "each distinct event must be one item, whichever way it came: processed, or failed with its reasons"
echo "(the $invalid_events invalid ones); no duplicate adds one."
echo
scripts/demo-check.sh claim "$queue" "$before" "$((count + sns_count))" "$failed_before" "$invalid_events"
if ((worker_code != 0)); then
	echo "demo: the worker exited $worker_code, not 0; see $worker_log" >&2
	exit 1
fi
