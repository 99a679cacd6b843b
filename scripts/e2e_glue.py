"""End-to-end checks of local Glue with the real clients: the AWS CLI (`aws glue …`) and boto3.

scripts/e2e.sh starts the servers and runs this file with the same environment as the others
(STEPLINE_ENDPOINT, the open server), and STEPLINE_E2E_PARQUET, a small Parquet file it made
with internal/glue/testdata/mkparquet (the Parquet check is skipped when it is unset). One crawler
over four S3 targets (CSV, JSON Lines, Parquet and Hive-partitioned CSV) must give the tables,
columns, types and partitions Glue's built-in classifiers give; a Python shell job must run to
SUCCEEDED and another be stopped with batch-stop-job-run. Each check prints one PASS/FAIL line;
the last line counts them.
"""

import json
import os
import subprocess
import time

import boto3
import botocore.config
from e2elib import check, expect, finish

ENDPOINT = os.environ["STEPLINE_ENDPOINT"]
PARQUET = os.environ.get("STEPLINE_E2E_PARQUET", "")
CONFIG = botocore.config.Config(read_timeout=70, retries={"max_attempts": 1})
BUCKET = "e2e-glue"
DB = "e2e_glue"
ROLE = "arn:aws:iam::123456789012:role/e2e-glue"

s3 = boto3.client("s3", endpoint_url=ENDPOINT, config=CONFIG)
glue = boto3.client("glue", endpoint_url=ENDPOINT, config=CONFIG)


def aws(*args):
    """Runs the AWS CLI and returns its standard output parsed as JSON (None when empty)."""
    out = subprocess.run(["aws", "--endpoint-url", ENDPOINT, "--output", "json", *args], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)}: exit {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout) if out.stdout.strip() else None


def poll(what, fn, done, timeout=30):
    """Calls fn until done(its result) holds, every 0.2 s, for at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if done(got):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {got} after {timeout}s")
        time.sleep(0.2)


def columns(table):
    return {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}


def put(key, body):
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body)


s3.create_bucket(Bucket=BUCKET)
csv_rows = ["order_id,customer,amount,paid,ordered_at"]
csv_rows += [f"{i},customer {i},{i}.25,{'true' if i % 2 else 'false'},2024-01-{i % 28 + 1:02d} 10:00:00" for i in range(200)]
put("sales_csv/part-0.csv", "\n".join(csv_rows) + "\n")
events = [
    {"id": i, "user": {"name": f"u{i}", "age": 20 + i}, "tags": ["x", "y"], "score": i / 2 + 0.5, "ok": i % 2 == 0}
    for i in range(100)
]
put("events_json/events.jsonl", "".join(json.dumps(e) + "\n" for e in events))
if PARQUET:
    with open(PARQUET, "rb") as f:
        put("orders_parquet/orders.parquet", f.read())
for day in ("2024-01-01", "2024-01-02", "2024-01-03"):
    put(f"clicks/dt={day}/part-0.csv", "page,visits\n" + "".join(f"/p{i},{i}\n" for i in range(50)))

TARGETS = ["sales_csv", "events_json", "clicks"] + (["orders_parquet"] if PARQUET else [])


@check("cli: glue create-database, create-crawler over CSV, JSON Lines, Parquet and partitioned data")
def _():
    aws("glue", "create-database", "--database-input", json.dumps({"Name": DB}))
    targets = {"S3Targets": [{"Path": f"s3://{BUCKET}/{t}/"} for t in TARGETS]}
    aws("glue", "create-crawler", "--name", "e2e-crawler", "--role", ROLE, "--database-name", DB, "--targets", json.dumps(targets))
    got = aws("glue", "get-crawler", "--name", "e2e-crawler")["Crawler"]
    expect(got["State"] == "READY" and "LastCrawl" not in got, got)


@check("cli: glue start-crawler, get-crawler RUNNING then READY with LastCrawl SUCCEEDED")
def _():
    aws("glue", "start-crawler", "--name", "e2e-crawler")
    seen = set()

    def state():
        c = aws("glue", "get-crawler", "--name", "e2e-crawler")["Crawler"]
        seen.add(c["State"])
        return c

    c = poll("the crawler", state, lambda c: c["State"] == "READY" and "LastCrawl" in c)
    expect(c["LastCrawl"]["Status"] == "SUCCEEDED", c["LastCrawl"])
    expect(seen <= {"RUNNING", "STOPPING", "READY"}, f"states seen: {seen}")
    expect(c["CrawlElapsedTime"] >= 0 and c["LastCrawl"].get("StartTime"), c)


tables = {}


@check("cli: glue get-tables lists one table a target, each with its classification")
def _():
    got = aws("glue", "get-tables", "--database-name", DB)["TableList"]
    tables.update({t["Name"]: t for t in got})
    expect(sorted(tables) == sorted(TARGETS), f"tables {sorted(tables)}, want {sorted(TARGETS)}")
    for name, cls in (("sales_csv", "csv"), ("events_json", "json"), ("clicks", "csv"), ("orders_parquet", "parquet")):
        if name in tables:
            t = tables[name]
            expect(t["Parameters"]["classification"] == cls, f"{name}: {t['Parameters']}")
            expect(t["StorageDescriptor"]["Location"] == f"s3://{BUCKET}/{name}/", t["StorageDescriptor"]["Location"])
            expect(t["TableType"] == "EXTERNAL_TABLE", t["TableType"])


@check("CSV: header detected; bigint, string, double, boolean and timestamp columns; row count")
def _():
    t = tables["sales_csv"]
    want = {"order_id": "bigint", "customer": "string", "amount": "double", "paid": "boolean", "ordered_at": "timestamp"}
    expect(columns(t) == want, columns(t))
    expect([c["Name"] for c in t["StorageDescriptor"]["Columns"]] == list(want), "columns out of the file's order")
    p = t["Parameters"]
    expect(p["skip.header.line.count"] == "1" and p["delimiter"] == "," and p["recordCount"] == "200", p)
    expect(t["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", t)


@check("JSON Lines: struct and array columns, int/double/boolean, the JSON SerDe")
def _():
    t = tables["events_json"]
    want = {"id": "int", "user": "struct<name:string,age:int>", "tags": "array<string>", "score": "double", "ok": "boolean"}
    expect(columns(t) == want, columns(t))
    expect(t["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe", t)
    expect(t["Parameters"]["recordCount"] == "100", t["Parameters"])


@check("Parquet: the file's own schema, with list and struct, and its row count")
def _():
    if not PARQUET:
        print("  (skipped: STEPLINE_E2E_PARQUET is not set)")
        return
    t = tables["orders_parquet"]
    want = {"id": "bigint", "name": "string", "amount": "double", "paid": "boolean", "ordered_at": "timestamp",
            "tags": "array<string>", "shipping": "struct<city:string,zip:bigint>"}
    expect(columns(t) == want, columns(t))
    expect(t["Parameters"]["recordCount"] == "100", t["Parameters"])
    expect(t["StorageDescriptor"]["InputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat", t)


@check("partitioned: dt= folders are the partition key dt and three partitions (cli get-partitions)")
def _():
    t = tables["clicks"]
    expect(t["PartitionKeys"] == [{"Name": "dt", "Type": "string"}], t["PartitionKeys"])
    expect(columns(t) == {"page": "string", "visits": "bigint"}, columns(t))
    parts = aws("glue", "get-partitions", "--database-name", DB, "--table-name", "clicks")["Partitions"]
    got = sorted((p["Values"][0], p["StorageDescriptor"]["Location"]) for p in parts)
    want = [(d, f"s3://{BUCKET}/clicks/dt={d}/") for d in ("2024-01-01", "2024-01-02", "2024-01-03")]
    expect(got == want, got)
    one = glue.get_partitions(DatabaseName=DB, TableName="clicks", Expression="dt = '2024-01-02'")["Partitions"]
    expect([p["Values"] for p in one] == [["2024-01-02"]], one)


@check("boto3: a crawl after a new column updates the table (UPDATE_IN_DATABASE)")
def _():
    put("sales_csv/part-1.csv", "order_id,customer,amount,paid,ordered_at,coupon\n1,c,2.5,true,2024-02-01 10:00:00,SPRING\n")
    before = glue.get_crawler(Name="e2e-crawler")["Crawler"]["LastCrawl"]["StartTime"]
    glue.start_crawler(Name="e2e-crawler")
    c = poll("the crawler", lambda: glue.get_crawler(Name="e2e-crawler")["Crawler"],
             lambda c: c["State"] == "READY" and c["LastCrawl"]["StartTime"] > before)
    expect(c["LastCrawl"]["Status"] == "SUCCEEDED", c["LastCrawl"])
    t = glue.get_table(DatabaseName=DB, Name="sales_csv")["Table"]
    expect(columns(t).get("coupon") == "string", columns(t))


OK_SCRIPT = """
import sys, boto3
from awsglue.utils import getResolvedOptions
args = getResolvedOptions(sys.argv, ["JOB_NAME", "out"])
boto3.client("s3").put_object(Bucket="e2e-glue", Key=args["out"], Body=args["JOB_NAME"].encode())
print("wrote", args["out"])
"""

SLEEP_SCRIPT = """
import time
time.sleep(120)
"""


@check("cli: a pythonshell job run SUCCEEDED with ExecutionTime; its boto3 call reached local S3")
def _():
    put("scripts/ok.py", OK_SCRIPT)
    aws("glue", "create-job", "--name", "e2e-ok", "--role", ROLE, "--command",
        json.dumps({"Name": "pythonshell", "ScriptLocation": f"s3://{BUCKET}/scripts/ok.py", "PythonVersion": "3.9"}),
        "--default-arguments", json.dumps({"--out": "job-out/default.txt"}))
    run_id = aws("glue", "start-job-run", "--job-name", "e2e-ok", "--arguments", json.dumps({"--out": "job-out/run.txt"}))["JobRunId"]
    run = poll("the job run", lambda: aws("glue", "get-job-run", "--job-name", "e2e-ok", "--run-id", run_id)["JobRun"],
               lambda r: r["JobRunState"] in ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR"))
    expect(run["JobRunState"] == "SUCCEEDED", run)
    expect(isinstance(run.get("ExecutionTime"), int) and run["ExecutionTime"] >= 0, run)
    expect(run.get("CompletedOn") and run.get("StartedOn"), run)
    expect(run["Arguments"] == {"--out": "job-out/run.txt"}, run["Arguments"])
    body = s3.get_object(Bucket=BUCKET, Key="job-out/run.txt")["Body"].read()
    expect(body == b"e2e-ok", body)


@check("cli: batch-stop-job-run stops a running job run (STOPPED)")
def _():
    put("scripts/sleep.py", SLEEP_SCRIPT)
    glue.create_job(Name="e2e-sleep", Role=ROLE, Command={"Name": "pythonshell", "ScriptLocation": f"s3://{BUCKET}/scripts/sleep.py"})
    run_id = glue.start_job_run(JobName="e2e-sleep")["JobRunId"]
    poll("the job run", lambda: glue.get_job_run(JobName="e2e-sleep", RunId=run_id)["JobRun"]["JobRunState"], lambda s: s == "RUNNING")
    out = aws("glue", "batch-stop-job-run", "--job-name", "e2e-sleep", "--job-run-ids", run_id)
    expect(out["SuccessfulSubmissions"] == [{"JobName": "e2e-sleep", "JobRunId": run_id}] and not out["Errors"], out)
    run = poll("the stopped run", lambda: glue.get_job_run(JobName="e2e-sleep", RunId=run_id)["JobRun"],
               lambda r: r["JobRunState"] not in ("RUNNING", "STOPPING", "STARTING"), timeout=15)
    expect(run["JobRunState"] == "STOPPED", run)
    again = glue.batch_stop_job_run(JobName="e2e-sleep", JobRunIds=[run_id])
    expect(not again["SuccessfulSubmissions"] and again["Errors"][0]["JobRunId"] == run_id, again)


finish()
