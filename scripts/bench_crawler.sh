#!/usr/bin/env bash
# Crawler throughput on about 1 GB of CSV (STEPLINE_BENCH_MB to change it), with the real
# binary and the AWS CLI: builds stepline, writes the CSV into a bucket's folder under a
# temporary --data (never in the repository), serves it, and crawls three layouts of the same
# rows, one crawler each, reporting for each the crawl's time (the crawler's CrawlElapsedTime,
# and the wall time from StartCrawler until GetCrawler says READY, polled every 50 ms), MB/s
# over the layout's bytes, and the server's peak RSS during the crawl (VmHWM, reset between
# layouts through /proc/PID/clear_refs):
#   flat         one table folder of 1 MB files
#   big          one table folder of 128 MB files
#   partitioned  dt=YYYY-MM-DD/ folders of 1 MB files (one table, a partition a folder)
# Usage: scripts/bench_crawler.sh   (needs python3 with boto3 and the AWS CLI; ~3 GB of disk)
set -euo pipefail
cd "$(dirname "$0")/.."

mb=${STEPLINE_BENCH_MB:-1024}
dir=$(mktemp -d)
pid=
cleanup() {
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

go build -o "$dir/stepline" ./cmd/stepline

# The rows: an order id, a customer, an amount, a flag and a timestamp, as the ETL example's
# raw sales. Each file is made of whole rows, about size bytes.
python3 - "$dir/data/s3/bench" "$mb" <<'EOF'
import os, sys
root, mb = sys.argv[1], int(sys.argv[2])
header = b"order_id,customer,amount,paid,ordered_at\n"

def write(path, size, start):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rows, n, i = [header], len(header), start
    while n < size:
        r = b"%d,customer %d,%d.%02d,%s,2024-01-%02d 10:%02d:00\n" % (
            i, i % 997, i % 5000, i % 100, b"true" if i % 2 else b"false", i % 28 + 1, i % 60)
        rows.append(r)
        n += len(r)
        i += 1
    with open(path, "wb") as f:
        f.write(b"".join(rows))
    return i

i = 0
for f in range(mb):
    i = write(f"{root}/flat/part-{f:05d}.csv", 1 << 20, i)
for f in range(max(mb // 128, 1)):
    i = write(f"{root}/big/part-{f:05d}.csv", min(mb, 128) << 20, i)
days = 64
for f in range(mb):
    d = f % days
    i = write(f"{root}/partitioned/dt=2024-{d // 28 + 1:02d}-{d % 28 + 1:02d}/part-{f:05d}.csv", 1 << 20, i)
EOF

"$dir/stepline" serve --addr 127.0.0.1:0 --db "$dir/bench.db" --data "$dir/data" >"$dir/out" 2>"$dir/log" &
pid=$!
endpoint=
for _ in $(seq 100); do
	endpoint=$(sed -n 's/^listening on \(http:\/\/.*\)$/\1/p' "$dir/out")
	[[ -n $endpoint ]] && break
	sleep 0.1
done
if [[ -z $endpoint ]]; then
	echo "bench: the server did not start:" >&2
	cat "$dir/log" >&2
	exit 1
fi

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN
aws --endpoint-url "$endpoint" glue create-database --database-input Name=bench
echo "server: pid $pid, peak RSS after start $(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$pid/status)"
for layout in flat big partitioned; do
	bytes=$(du -sb "$dir/data/s3/bench/$layout" | cut -f1)
	files=$(find "$dir/data/s3/bench/$layout" -type f | wc -l)
	aws --endpoint-url "$endpoint" glue create-crawler --name "$layout" --role bench --database-name bench \
		--targets "{\"S3Targets\":[{\"Path\":\"s3://bench/$layout/\"}]}"
	sync
	echo 5 >"/proc/$pid/clear_refs" # resets VmHWM to the current RSS
	# boto3 starts the crawl and polls it every 50 ms: the CLI's own start-up (most of a second
	# on a loaded machine) would be most of what a poll with it measures.
	read -r start end < <(python3 - "$endpoint" "$layout" <<'EOF'
import sys, time, boto3
glue = boto3.client("glue", endpoint_url=sys.argv[1])
start = time.time()
glue.start_crawler(Name=sys.argv[2])
while glue.get_crawler(Name=sys.argv[2])["Crawler"]["State"] != "READY":
    time.sleep(0.05)
print(start, time.time())
EOF
	)
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
	status=$(aws --endpoint-url "$endpoint" glue get-crawler --name "$layout" --query 'Crawler.[LastCrawl.Status,CrawlElapsedTime]' --output text)
	table=$(aws --endpoint-url "$endpoint" glue get-table --database-name bench --name "$layout" \
		--query 'Table.Parameters.[recordCount,objectCount]' --output text)
	parts=$(aws --endpoint-url "$endpoint" glue get-partitions --database-name bench --table-name "$layout" --query 'length(Partitions)')
	python3 - "$layout" "$bytes" "$files" "$start" "$end" "$hwm" "$status" "$table" "$parts" <<'EOF'
import sys
layout, size, files, start, end, hwm, status, table, parts = sys.argv[1:]
wall = float(end) - float(start)
st, elapsed = status.split()
records, objects = table.split()
crawl = int(elapsed) / 1000
mb = int(size) / 2**20
print(f"{layout:12s} {mb:5.0f} MB in {files:>5s} files: {st}; crawl {crawl:6.2f} s = {mb / crawl:6.0f} MB/s "
      f"(wall {wall:6.2f} s = {mb / wall:6.0f} MB/s); server peak RSS {int(hwm) / 1024:.0f} MB; "
      f"recordCount {records}, objectCount {objects}, partitions {parts}")
EOF
done
