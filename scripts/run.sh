#!/usr/bin/env bash
# make run: start the local emulators unless they are running, provision the queue
# ($QUEUE, default events) with its dead-letter queue and the rules' tables, then run the
# worker in the foreground (Ctrl-C drains and stops it). Extra arguments go to
# `eventproc run`. The emulators keep running afterwards: `make down` stops them.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

scripts/emulators.sh up
"$bin" provision --rules "$RULES" --queue "$QUEUE"
exec "$bin" run --rules "$RULES" --queue-url "$QUEUE" --log-format "${LOG_FORMAT:-auto}" "$@"
