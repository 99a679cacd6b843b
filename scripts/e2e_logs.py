"""End-to-end checks of CloudWatch Logs with the real clients: the AWS CLI (`aws logs …`) and boto3.

scripts/e2e.sh starts the servers and runs this file with the same environment as the others
(STEPLINE_ENDPOINT, the open server). A state machine with a loggingConfiguration (level ALL)
writes its execution's events to a log group in Step Functions' format; an EXPRESS one's events,
which have no history, are read the same way; a Lambda function's invocation logs (START, END,
REPORT) are read from /aws/lambda/NAME and a Glue job run's output from /aws-glue/python-jobs/output.
`aws logs tail` exists only in AWS CLI v2: .ci/run installs Debian's (awscli, /usr/bin/aws) beside the
v1 CLI the other checks use, and the tail checks run it by that path. Each check prints one PASS/FAIL
line; the last line counts them.
"""

import io
import json
import os
import subprocess
import time
import zipfile

import boto3
import botocore.config
from e2elib import check, expect, expect_client_error, finish

ENDPOINT = os.environ["STEPLINE_ENDPOINT"]
CONFIG = botocore.config.Config(read_timeout=70, retries={"max_attempts": 1})
ROLE = "arn:aws:iam::123456789012:role/e2e-logs"
GROUP = "/e2e/sfn-logs"
GROUP_ARN = f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}:*"

logs = boto3.client("logs", endpoint_url=ENDPOINT, config=CONFIG)
sfn = boto3.client("stepfunctions", endpoint_url=ENDPOINT, config=CONFIG)
lam = boto3.client("lambda", endpoint_url=ENDPOINT, config=CONFIG)
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


def logging(level, data=True, arn=GROUP_ARN):
    return {"level": level, "includeExecutionData": data, "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}]}


def filter_all(**kwargs):
    """Every event filter_log_events returns, through boto3's paginator."""
    out = []
    for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
        out += page["events"]
    return out


DEF = json.dumps({"StartAt": "P", "States": {
    "P": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.p", "Next": "C"},
    "C": {"Type": "Choice", "Choices": [{"Variable": "$.p.n", "NumericEquals": 1, "Next": "Done"}], "Default": "Done"},
    "Done": {"Type": "Succeed"}}})
state = {}


@check("cli: logs create-log-group, describe-log-groups; a second create is ResourceAlreadyExistsException")
def _():
    aws("logs", "create-log-group", "--log-group-name", GROUP)
    got = aws("logs", "describe-log-groups", "--log-group-name-prefix", "/e2e/")["logGroups"]
    expect([g["logGroupName"] for g in got] == [GROUP], got)
    expect(got[0]["arn"] == GROUP_ARN, got[0])
    expect_client_error(logs, "ResourceAlreadyExistsException", logs.create_log_group, logGroupName=GROUP)


@check("boto3: a STANDARD execution with logging ALL logs every history event in Step Functions' format")
def _():
    sm = sfn.create_state_machine(name="e2e-logged", definition=DEF, roleArn=ROLE, loggingConfiguration=logging("ALL"))
    arn = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], input='{"k": "v"}')["executionArn"]
    poll("the execution", lambda: sfn.describe_execution(executionArn=arn)["status"], lambda s: s != "RUNNING")
    history = sfn.get_execution_history(executionArn=arn)["events"]
    events = filter_all(logGroupName=GROUP, filterPattern=f'{{ $.execution_arn = "{arn}" }}')
    msgs = [json.loads(e["message"]) for e in events]
    expect([m["type"] for m in msgs] == [h["type"] for h in history], [m["type"] for m in msgs])
    for m, h in zip(msgs, history):
        expect(m["id"] == str(h["id"]) and m["previous_event_id"] == str(h["previousEventId"]), m)
        expect(set(m) == {"id", "type", "details", "previous_event_id", "event_timestamp", "execution_arn", "redrive_count"}, m)
        expect(m["event_timestamp"] == str(int(h["timestamp"].timestamp() * 1000)), (m["event_timestamp"], h["timestamp"]))
    expect(json.loads(msgs[0]["details"]["input"]) == {"k": "v"}, msgs[0])
    expect(events[0]["logStreamName"].startswith("states/e2e-logged/"), events[0]["logStreamName"])
    state["arn"], state["stream"] = arn, events[0]["logStreamName"]


@check("cli: logs describe-log-streams, get-log-events (from head, then the forward token) and filter-log-events")
def _():
    streams = aws("logs", "describe-log-streams", "--log-group-name", GROUP)["logStreams"]
    expect(state["stream"] in [s["logStreamName"] for s in streams], streams)
    first = aws("logs", "get-log-events", "--log-group-name", GROUP, "--log-stream-name", state["stream"], "--start-from-head", "--limit", "2")
    expect(len(first["events"]) == 2 and json.loads(first["events"][0]["message"])["type"] == "ExecutionStarted", first["events"])
    more = aws("logs", "get-log-events", "--log-group-name", GROUP, "--log-stream-name", state["stream"], "--next-token", first["nextForwardToken"])
    expect(json.loads(more["events"][-1]["message"])["type"] == "ExecutionSucceeded", more["events"])
    got = aws("logs", "filter-log-events", "--log-group-name", GROUP, "--filter-pattern", '{ $.type = "ChoiceState*" }')["events"]
    expect([json.loads(e["message"])["type"] for e in got] == ["ChoiceStateEntered", "ChoiceStateExited"], got)


@check("boto3: following the group as `aws logs tail --follow` does: filter_log_events from the last timestamp, each event once")
def _():
    seen = set()

    def new_since(start):
        fresh = [e for e in filter_all(logGroupName=GROUP, startTime=start) if e["eventId"] not in seen]
        seen.update(e["eventId"] for e in fresh)
        return fresh

    last = max(e["timestamp"] for e in new_since(0))
    expect(new_since(last) == [], "events came back on a second poll")
    sm = "arn:aws:states:us-east-1:123456789012:stateMachine:e2e-logged"
    arn = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    got = []
    poll("the new execution's events", lambda: got.extend(new_since(last)) or [json.loads(e["message"])["type"] for e in got],
         lambda types: "ExecutionSucceeded" in types)
    expect({json.loads(e["message"])["execution_arn"] for e in got} == {arn}, got)


@check("boto3: an EXPRESS execution, which has no history, is read from its logs; ERROR logs only failures")
def _():
    sm = sfn.create_state_machine(name="e2e-express-logged", type="EXPRESS", definition=DEF, roleArn=ROLE, loggingConfiguration=logging("ALL"))
    arn = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], input="{}")["executionArn"]
    expect(":express:" in arn, arn)
    got = poll("the express execution's logs", lambda: [json.loads(e["message"])["type"] for e in
                                                        filter_all(logGroupName=GROUP, filterPattern=f'{{ $.execution_arn = "{arn}" }}')],
                lambda t: "ExecutionSucceeded" in t)
    expect(got[0] == "ExecutionStarted" and len(got) == 8, got)
    failing = json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "broken"}}})
    fm = sfn.create_state_machine(name="e2e-errors", definition=failing, roleArn=ROLE,
                                  loggingConfiguration=logging("ERROR", False, "arn:aws:logs:us-east-1:123456789012:log-group:/e2e/errors"))
    farn = sfn.start_execution(stateMachineArn=fm["stateMachineArn"])["executionArn"]
    poll("the failing execution", lambda: sfn.describe_execution(executionArn=farn)["status"], lambda s: s != "RUNNING")
    msgs = [json.loads(e["message"]) for e in filter_all(logGroupName="/e2e/errors")]
    expect([m["type"] for m in msgs] == ["FailStateEntered", "ExecutionFailed"], msgs)
    expect(msgs[0]["details"] == {"name": "F"} and msgs[1]["details"] == {"error": "Oops", "cause": "broken"}, msgs)


def zip_of(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in files.items():
            z.writestr(name, body)
    return buf.getvalue()


@check("boto3 and cli: a Lambda function's START, its print, END and REPORT lines in /aws/lambda/NAME")
def _():
    src = 'def handler(event, context):\n    print("hello from " + context.aws_request_id)\n    return event\n'
    lam.create_function(FunctionName="e2e-logs-fn", Runtime="python3.12", Handler="app.handler", Role=ROLE,
                        Code={"ZipFile": zip_of({"app.py": src})})
    rid = lam.invoke(FunctionName="e2e-logs-fn", Payload=b"{}")["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    lines = [e["message"] for e in filter_all(logGroupName="/aws/lambda/e2e-logs-fn", filterPattern=f'"{rid}"')]
    expect(lines[0] == f"START RequestId: {rid} Version: $LATEST", lines)
    expect(f"hello from {rid}" in lines and f"END RequestId: {rid}" in lines, lines)
    expect(lines[-1].startswith(f"REPORT RequestId: {rid}\tDuration: "), lines)
    streams = aws("logs", "describe-log-streams", "--log-group-name", "/aws/lambda/e2e-logs-fn")["logStreams"]
    expect(len(streams) == 1 and "/[$LATEST]" in streams[0]["logStreamName"], streams)
    got = aws("logs", "filter-log-events", "--log-group-name", "/aws/lambda/e2e-logs-fn", "--filter-pattern", "REPORT")["events"]
    expect(len(got) == 1 and got[0]["logStreamName"] == streams[0]["logStreamName"], got)


CLI_V2 = "/usr/bin/aws"


def tail(*args, **kwargs):
    """Runs `aws logs tail` of the AWS CLI v2 against the server; a Popen when follow=True."""
    cmd = [CLI_V2, "--endpoint-url", ENDPOINT, "logs", "tail", *args]
    if kwargs.get("follow"):
        return subprocess.Popen(cmd + ["--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError(f"aws logs tail {' '.join(args)}: exit {out.returncode}: {out.stderr.strip()}")
    return out.stdout


@check("cli v2: aws logs tail prints an execution's and a function's logs; --follow prints a new execution's as they come")
def _():
    expect(os.access(CLI_V2, os.X_OK), f"{CLI_V2} (Debian's awscli, AWS CLI v2) is not installed: .ci/run installs it")
    out = tail(GROUP, "--since", "1h", "--format", "short")
    expect(f'"execution_arn":"{state["arn"]}"' in out and '"type":"ExecutionSucceeded"' in out, out[-500:])
    out = tail("/aws/lambda/e2e-logs-fn", "--since", "1h")
    expect("START RequestId:" in out and "REPORT RequestId:" in out, out)
    follower = tail(GROUP, "--since", "1s", "--format", "short", follow=True)
    try:
        sm = "arn:aws:states:us-east-1:123456789012:stateMachine:e2e-logged"
        arn = sfn.start_execution(stateMachineArn=sm, input='{"tail": true}')["executionArn"]
        deadline = time.monotonic() + 30
        seen = []
        for line in follower.stdout:  # --follow polls every few seconds and never ends by itself
            if arn in line:
                seen.append(json.loads(line.split(" ", 1)[1])["type"])
            if "ExecutionSucceeded" in seen or time.monotonic() > deadline:
                break
        expect(seen[:1] == ["ExecutionStarted"] and seen[-1:] == ["ExecutionSucceeded"], seen)
    finally:
        follower.kill()
        follower.wait()


@check("boto3: a Glue Python shell job run's output in /aws-glue/python-jobs/output, stream = run id")
def _():
    s3.create_bucket(Bucket="e2e-logs")
    s3.put_object(Bucket="e2e-logs", Key="hello.py", Body=b'print("hello from the job")\n')
    glue.create_job(Name="e2e-logs-job", Role=ROLE, Command={"Name": "pythonshell", "ScriptLocation": "s3://e2e-logs/hello.py"})
    run_id = glue.start_job_run(JobName="e2e-logs-job")["JobRunId"]
    poll("the job run", lambda: glue.get_job_run(JobName="e2e-logs-job", RunId=run_id)["JobRun"]["JobRunState"],
         lambda s: s in ("SUCCEEDED", "FAILED", "ERROR", "TIMEOUT", "STOPPED"), timeout=60)
    got = logs.get_log_events(logGroupName="/aws-glue/python-jobs/output", logStreamName=run_id, startFromHead=True)["events"]
    expect("hello from the job" in [e["message"] for e in got], got)


@check("boto3: put-retention-policy is reported by describe-log-groups; an unknown group is ResourceNotFoundException")
def _():
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=7)
    got = logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]
    expect(got["retentionInDays"] == 7, got)
    expect_client_error(logs, "ResourceNotFoundException", logs.get_log_events, logGroupName="/e2e/none", logStreamName="x")


finish()
