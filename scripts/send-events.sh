#!/usr/bin/env bash
# make send-events: send generated events to the local queue. Settings (make variables
# or environment): TYPE (all), VERSION (every version), COUNT (100), INVALID (0.1),
# RATE (0: as fast as possible), QUEUE (events). Starts the emulators and provisions the
# queue when needed.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

scripts/emulators.sh up >/dev/null
"$bin" provision --rules "$RULES" --queue "$QUEUE" >/dev/null
args=(--rules "$RULES" --queue "$QUEUE" --type "${TYPE:-all}" --count "${COUNT:-100}"
	--invalid "${INVALID:-0.1}" --rate "${RATE:-0}")
if [[ -n ${VERSION:-} ]]; then
	args+=(--version "$VERSION")
fi
exec "$bin" send "${args[@]}"
