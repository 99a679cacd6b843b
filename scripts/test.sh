#!/usr/bin/env bash
# The project's test command (README.md; .ci/run calls it). It runs go vet and every test, then
# prints the reports of the reference suites (conformance corpus, JSONata suite), which
# `go test ./...` would otherwise hide for passing packages.
set -uo pipefail
cd "$(dirname "$0")/.."
report=$(mktemp)
trap 'rm -f "$report"' EXIT
go vet ./... || exit 1
STEPLINE_REPORT="$report" go test -count=1 ./...
status=$?
echo
cat "$report"
exit $status
