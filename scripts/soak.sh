#!/usr/bin/env bash
# soak.sh DURATION — runs the soak test (internal/soak) against `stepline serve` built from this
# checkout, on SQLite, for DURATION (a Go duration: 10m, 30m, 2h). The samples (every 10 s) are
# logged and written to soak-samples.csv in the current folder (or $STEPLINE_SOAK_CSV).
# STEPLINE_BIN=path uses a binary already built.
set -euo pipefail
dur=${1:?usage: scripts/soak.sh DURATION (e.g. 30m)}
root=$(cd "$(dirname "$0")/.." && pwd)
csv=${STEPLINE_SOAK_CSV:-$PWD/soak-samples.csv}
if [[ -z "${STEPLINE_BIN:-}" ]]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$root" && go build -o "$tmp/stepline" ./cmd/stepline)
	export STEPLINE_BIN=$tmp/stepline
fi
cd "$root"
STEPLINE_SOAK=$dur STEPLINE_SOAK_CSV=$csv go test ./internal/soak -run '^TestSoak$' -v -count=1 -timeout 0
