# shellcheck shell=bash
# Sourced by the local scripts: the repository root, and an environment that reaches the
# local emulators (unless the caller set its own endpoints or credentials).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
export AWS_ENDPOINT_URL_SQS=${AWS_ENDPOINT_URL_SQS:-http://127.0.0.1:${FAUXQS_PORT:-4566}}
export AWS_ENDPOINT_URL_SNS=${AWS_ENDPOINT_URL_SNS:-$AWS_ENDPOINT_URL_SQS} # fauxqs serves both
export AWS_ENDPOINT_URL_DYNAMODB=${AWS_ENDPOINT_URL_DYNAMODB:-http://127.0.0.1:${DYNALITE_PORT:-4567}}
export AWS_REGION=${AWS_REGION:-us-east-1}
if [[ -z ${AWS_ACCESS_KEY_ID:-} && -z ${AWS_PROFILE:-} ]]; then
	# The emulators accept any credentials; these keep the SDK from looking further.
	export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
fi
RULES=${RULES:-events.d}
QUEUE=${QUEUE:-events}
bin=${BIN_EVENTPROC:-$root/bin/eventproc} # BIN_EVENTPROC: another build (EVENTPROC_* is the config's)
if [[ ! -x $bin ]]; then
	echo "$bin is missing; run: make build" >&2
	exit 1
fi
