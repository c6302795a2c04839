#!/usr/bin/env bash
# Local AWS for eventproc: fauxqs (SQS) and dynalite (DynamoDB), from adapters/awstest/node_modules.
#
#   scripts/emulators.sh up      start both unless something already answers on their port
#   scripts/emulators.sh down [fauxqs|dynalite]
#                                stop only what `up` started (both, or the one named)
#   scripts/emulators.sh status  say what answers where
#
# Ports: FAUXQS_PORT (4566), DYNALITE_PORT (4567). DYNALITE_PATH=DIR keeps DynamoDB's data
# on disk (in memory by default). Pid and log files live in .run/ (NAME-PORT.pid, .log).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
modules="$root/adapters/awstest/node_modules" # beside the npm pins
run="$root/.run"
sqs_port=${FAUXQS_PORT:-4566}
ddb_port=${DYNALITE_PORT:-4567}

answers() { # port: true when something accepts TCP connections on 127.0.0.1:port
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

alive() { # pidfile: true when the process it names is running
	[[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

start() { # name port command...
	local name=$1 port=$2 id="$1-$2"
	shift 2
	if answers "$port"; then
		if alive "$run/$id.pid"; then
			echo "$name: already running on 127.0.0.1:$port (pid $(cat "$run/$id.pid"))"
		else
			echo "$name: something already answers on 127.0.0.1:$port; reusing it (not ours to stop)"
		fi
		return 0
	fi
	if [[ ! -d $modules/fauxqs || ! -d $modules/dynalite ]]; then
		echo "$name: adapters/awstest/node_modules is missing; run: npm ci --prefix adapters/awstest" >&2
		return 1
	fi
	mkdir -p "$run"
	# setsid: the emulator outlives this script and ignores the terminal's Ctrl-C.
	setsid "$@" >"$run/$id.log" 2>&1 </dev/null &
	echo $! >"$run/$id.pid"
	for _ in $(seq 1 150); do # 30 s
		if answers "$port"; then
			echo "$name: started on 127.0.0.1:$port (pid $(cat "$run/$id.pid"), log .run/$id.log)"
			return 0
		fi
		if ! alive "$run/$id.pid"; then
			echo "$name: exited while starting; its log:" >&2
			tail -n 30 "$run/$id.log" >&2
			rm -f "$run/$id.pid"
			return 1
		fi
		sleep 0.2
	done
	echo "$name: not answering on 127.0.0.1:$port after 30 s; see .run/$id.log" >&2
	return 1
}

stop() { # name port
	local name=$1 pidfile="$run/$1-$2.pid"
	if [[ ! -f $pidfile ]]; then
		echo "$name: not started by us; leaving it"
		return 0
	fi
	local pid
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do # 5 s
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
		echo "$name: stopped (pid $pid)"
	else
		echo "$name: was not running"
	fi
	rm -f "$pidfile"
}

case ${1:-} in
up)
	ddb_args=(--host 127.0.0.1 --port "$ddb_port" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0)
	if [[ -n ${DYNALITE_PATH:-} ]]; then
		mkdir -p "$DYNALITE_PATH"
		ddb_args+=(--path "$DYNALITE_PATH")
	fi
	start fauxqs "$sqs_port" env FAUXQS_PORT="$sqs_port" FAUXQS_LOGGER=false \
		node "$modules/fauxqs/dist/cli.js"
	start dynalite "$ddb_port" node "$modules/dynalite/cli.js" "${ddb_args[@]}"
	echo "export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$sqs_port AWS_ENDPOINT_URL_SNS=http://127.0.0.1:$sqs_port AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$ddb_port"
	;;
down)
	case ${2:-both} in
	fauxqs) stop fauxqs "$sqs_port" ;;
	dynalite) stop dynalite "$ddb_port" ;;
	both)
		stop fauxqs "$sqs_port"
		stop dynalite "$ddb_port"
		;;
	*)
		echo "usage: $0 down [fauxqs|dynalite]" >&2
		exit 2
		;;
	esac
	;;
status)
	for pair in "fauxqs:$sqs_port" "dynalite:$ddb_port"; do
		name=${pair%:*} port=${pair#*:}
		if answers "$port"; then echo "$name: answering on 127.0.0.1:$port"; else echo "$name: not answering on 127.0.0.1:$port"; fi
	done
	;;
*)
	echo "usage: $0 up|down [fauxqs|dynalite]|status" >&2
	exit 2
	;;
esac
