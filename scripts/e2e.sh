#!/usr/bin/env bash
# End-to-end test with the real AWS clients (.ci/run runs it after the test suite): builds
# stepline, serves a fresh SQLite database on a free port and runs scripts/e2e.py, which drives
# the API with boto3 and the AWS CLI. Exits non-zero when a check fails or the server won't start.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d)
server=
cleanup() {
	if [[ -n $server ]]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

go build -o "$dir/stepline" ./cmd/stepline
"$dir/stepline" serve --addr 127.0.0.1:0 --db "$dir/e2e.db" >"$dir/out" 2>"$dir/log" &
server=$!

endpoint=
for _ in $(seq 100); do
	endpoint=$(sed -n 's/^listening on \(http:\/\/.*\)$/\1/p' "$dir/out")
	[[ -n $endpoint ]] && break
	if ! kill -0 "$server" 2>/dev/null; then
		break
	fi
	sleep 0.1
done
if [[ -z $endpoint ]]; then
	echo "e2e: the server did not start:" >&2
	cat "$dir/log" >&2
	exit 1
fi

# Fake credentials: without --auth the server accepts any, as local emulators do. The metadata
# lookup is disabled so that a missing credential can't stall a client on the network.
export AWS_ACCESS_KEY_ID=AKIDE2ETEST AWS_SECRET_ACCESS_KEY=e2e-secret AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN
status=0
STEPLINE_ENDPOINT=$endpoint python3 scripts/e2e.py || status=$?
if [[ $status -ne 0 ]]; then
	echo "e2e: server log:" >&2
	tail -n 50 "$dir/log" >&2
fi
exit $status
