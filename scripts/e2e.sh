#!/usr/bin/env bash
# End-to-end test with the real AWS clients (.ci/run runs it after the test suite): builds
# stepline, serves fresh SQLite databases on free ports (one open, one with --auth) and runs
# scripts/e2e.py (Step Functions), scripts/e2e_lambda.py (Lambda), scripts/e2e_s3.py (S3),
# scripts/e2e_glue.py (Glue), scripts/e2e_mock.py (Step Functions Local's mocks, on a third
# server), scripts/e2e_http.py (EventBridge connections, HTTP Tasks), scripts/e2e_console.py
# (the web console's pages and hooks) and scripts/e2e_logs.py (CloudWatch Logs: execution,
# Lambda and Glue logs), which drive them with
# boto3 and the AWS CLI, scripts/e2e_scheduler.py (EventBridge Scheduler: at() and rate() firing, groups,
# tags; its rate check on the --wait-scale 0.01 server), scripts/e2e_events.py (EventBridge rules, PutEvents,
# status-change events, events:putEvents, S3 events of a dropped file), then `aws s3 cp` to a bucket bound to a
# moto_server. Exits non-zero when a
# check fails or a server won't start.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d)
servers=()
cleanup() {
	for pid in "${servers[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT

# serve NAME [FLAGS…] starts a server and sets $endpoint to its URL.
serve() {
	local name=$1
	shift
	"$dir/stepline" serve --addr 127.0.0.1:0 --db "$dir/$name.db" "$@" >"$dir/$name.out" 2>"$dir/$name.log" &
	local pid=$!
	servers+=("$pid")
	endpoint=
	for _ in $(seq 100); do
		endpoint=$(sed -n 's/^listening on \(http:\/\/.*\)$/\1/p' "$dir/$name.out")
		if [[ -n $endpoint ]] || ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	if [[ -z $endpoint ]]; then
		echo "e2e: the $name server did not start:" >&2
		cat "$dir/$name.log" >&2
		exit 1
	fi
}

go build -o "$dir/stepline" ./cmd/stepline
# The Parquet file the Glue checks crawl: Python here has no Parquet writer.
go run ./internal/glue/testdata/mkparquet "$dir/orders.parquet"
serve open --data "$dir/open-data"
open=$endpoint
printf '# e2e keys\nAKIDE2ETEST e2e-secret\n' >"$dir/keys"
serve auth --auth "$dir/keys"
auth=$endpoint
# Step Functions Local's mocks, named as its users name them (SFN_MOCK_CONFIG); short retries.
SFN_MOCK_CONFIG=internal/mock/testdata/MockConfigFile.json serve mock --wait-scale 0.01
mock=$endpoint

# Credentials as a user of the auth server would have them; the open server accepts any. The
# metadata lookup is disabled so that a missing credential can't stall a client on the network.
export AWS_ACCESS_KEY_ID=AKIDE2ETEST AWS_SECRET_ACCESS_KEY=e2e-secret AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN
status=0
for checks in scripts/e2e.py scripts/e2e_lambda.py scripts/e2e_s3.py scripts/e2e_glue.py scripts/e2e_mock.py scripts/e2e_http.py scripts/e2e_console.py scripts/e2e_logs.py scripts/e2e_scheduler.py scripts/e2e_events.py; do
	STEPLINE_ENDPOINT=$open STEPLINE_AUTH_ENDPOINT=$auth STEPLINE_MOCK_ENDPOINT=$mock STEPLINE_S3_DIR="$dir/open-data/s3" \
		STEPLINE_E2E_PARQUET="$dir/orders.parquet" python3 "$checks" || status=$?
done

# A bucket bound by the project file to an external S3 endpoint, moto_server: `aws s3 cp`
# through Stepline (20 MB, a multipart upload) lands in moto byte for byte.
bound_bucket() {
	moto_server -H 127.0.0.1 -p 0 >"$dir/moto.out" 2>"$dir/moto.log" &
	servers+=("$!")
	local moto=
	for _ in $(seq 300); do
		moto=$(sed -n 's/.*Running on \(http:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p' "$dir/moto.log" 2>/dev/null)
		[[ -n $moto ]] && break
		sleep 0.1
	done
	[[ -n $moto ]] || { echo "moto_server did not start:" && cat "$dir/moto.log"; return 1; }
	mkdir -p "$dir/bound"
	printf 'buckets:\n  e2e-bound:\n    endpoint: %s\n    bucketName: e2e-remote\n' "$moto" >"$dir/bound/stepline.yaml"
	serve bound --project "$dir/bound" --data "$dir/bound-data"
	aws --endpoint-url "$moto" s3 mb s3://e2e-remote >/dev/null || return 1
	head -c 20971520 /dev/urandom >"$dir/bound.bin"
	aws --endpoint-url "$endpoint" s3 cp "$dir/bound.bin" s3://e2e-bound/e2e/bound.bin >/dev/null || return 1
	aws --endpoint-url "$moto" s3 cp s3://e2e-remote/e2e/bound.bin "$dir/bound.moto" >/dev/null || return 1
	cmp "$dir/bound.bin" "$dir/bound.moto" || return 1
	aws --endpoint-url "$endpoint" s3 cp s3://e2e-bound/e2e/bound.bin "$dir/bound.back" >/dev/null || return 1
	cmp "$dir/bound.bin" "$dir/bound.back"
}
if ! command -v moto_server >/dev/null; then
	echo "SKIP bound bucket: moto_server is not installed"
elif bound_bucket; then
	echo "PASS bound bucket: aws s3 cp through Stepline lands in moto byte for byte, and reads back"
else
	echo "FAIL bound bucket: aws s3 cp through Stepline to moto"
	tail -n 30 "$dir/bound.log" >&2 || true
	status=1
fi
# The CDK example (examples/cdk-app: a state machine invoking a Node.js function), synthesized
# with the aws-cdk CLI from the npm registry and run as it is: npm ci into a copy of the app
# (nothing is left in the repository; npm's cache, ~/.npm unless npm_config_cache says
# otherwise, makes later installs fast), cdk synth without an AWS account, then
# `stepline run --project`. Without npm or the registry this fails: it is not skipped.
cdk_app() {
	command -v npm >/dev/null || { echo "npm is not installed"; return 1; }
	local app="$dir/cdk-app" t0=$SECONDS t1 t2
	mkdir -p "$app"
	cp -r examples/cdk-app/{package.json,package-lock.json,cdk.json,app.js,lambda} "$app/"
	(cd "$app" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) >"$dir/cdk-npm.log" 2>&1 ||
		{ echo "npm ci failed (is the npm registry reachable?):"; tail -n 20 "$dir/cdk-npm.log"; return 1; }
	t1=$SECONDS
	(cd "$app" && CDK_DEFAULT_ACCOUNT=123456789012 CDK_DEFAULT_REGION=us-east-1 CDK_DISABLE_CLI_TELEMETRY=true \
		npx --no-install cdk synth --no-version-reporting --no-notices --quiet) >"$dir/cdk-synth.log" 2>&1 ||
		{ echo "cdk synth failed:"; tail -n 20 "$dir/cdk-synth.log"; return 1; }
	t2=$SECONDS
	"$dir/stepline" run Greeting --project "$app" --input '{"name": "e2e"}' --json >"$dir/cdk-run.json" 2>"$dir/cdk-run.log" ||
		{ echo "stepline run failed:"; cat "$dir/cdk-run.json" "$dir/cdk-run.log"; return 1; }
	grep -q '"status":"SUCCEEDED"' "$dir/cdk-run.json" && grep -q '"message":"Hello, e2e!"' "$dir/cdk-run.json" ||
		{ echo "unexpected result:"; cat "$dir/cdk-run.json"; return 1; }
	cdk_times="npm ci $((t1 - t0)) s, cdk synth $((t2 - t1)) s, stepline run $((SECONDS - t2)) s"
}
if cdk_app; then
	echo "PASS cdk app: synthesized by the aws-cdk CLI, stepline run --project SUCCEEDED ($cdk_times)"
else
	echo "FAIL cdk app: npm ci, cdk synth and stepline run --project examples/cdk-app"
	status=1
fi
if [[ $status -ne 0 ]]; then
	for name in open auth mock; do
		echo "e2e: $name server log:" >&2
		tail -n 30 "$dir/$name.log" >&2
	done
fi
exit $status
