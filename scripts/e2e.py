"""End-to-end checks of the Step Functions API with the real clients: boto3 and the AWS CLI.

scripts/e2e.sh starts the server and runs this file with STEPLINE_ENDPOINT set. Most checks use
boto3, because every AWS CLI call starts a new Python process (about a second); a few use the
CLI to prove that it works unchanged. Each check prints one PASS/FAIL line; the last line counts
them, and the exit status is non-zero when any failed.
"""

import json
import os
import subprocess
import threading
import time

import boto3
import botocore.config
import botocore.exceptions
from e2elib import check, expect, expect_client_error, finish

ENDPOINT = os.environ["STEPLINE_ENDPOINT"]
# A server started with --auth, accepting only the access key in the environment.
AUTH_ENDPOINT = os.environ["STEPLINE_AUTH_ENDPOINT"]
ACCOUNT = "123456789012"
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/e2e"

# GetActivityTask long-polls for up to 60 s: the read timeout must outlast it, and retries would
# hide the errors these checks expect.
sfn = boto3.client(
    "stepfunctions",
    endpoint_url=ENDPOINT,
    config=botocore.config.Config(read_timeout=70, retries={"max_attempts": 1}),
)


def expect_error(code, fn, *args, **kwargs):
    return expect_client_error(sfn, code, fn, *args, **kwargs)


def cli(*args, endpoint=ENDPOINT):
    """Runs the AWS CLI against a server and returns its parsed JSON output."""
    out = subprocess.run(
        ["aws", "--endpoint-url", endpoint, "--output", "json", "stepfunctions", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if out.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)}: exit {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout) if out.stdout.strip() else {}


def wait_done(arn, timeout=20):
    deadline = time.time() + timeout
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.time() > deadline:
            return d
        time.sleep(0.05)


PASS_DEF = json.dumps(
    {
        "StartAt": "Hello",
        "States": {
            "Hello": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"}, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
)
FAIL_DEF = json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E2E.Boom", "Cause": "on purpose"}}})

machine = {}


@check("cli: create-state-machine")
def _():
    out = cli("create-state-machine", "--name", "e2e-cli", "--definition", PASS_DEF, "--role-arn", ROLE)
    expect(out["stateMachineArn"].endswith(":stateMachine:e2e-cli"), out)
    machine["cli"] = out["stateMachineArn"]


@check("cli: start-execution and describe-execution")
def _():
    out = cli("start-execution", "--state-machine-arn", machine["cli"], "--input", '{"who":"cli"}')
    d = wait_done(out["executionArn"])
    expect(d["status"] == "SUCCEEDED", d)
    d = cli("describe-execution", "--execution-arn", out["executionArn"])
    expect(json.loads(d["output"]) == {"greeting": "hello cli"}, d)


@check("cli: list-state-machines")
def _():
    names = [m["name"] for m in cli("list-state-machines")["stateMachines"]]
    expect("e2e-cli" in names, names)


@check("cli: an error exits non-zero with AWS's code")
def _():
    out = subprocess.run(
        ["aws", "--endpoint-url", ENDPOINT, "stepfunctions", "describe-state-machine", "--state-machine-arn",
         f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:nope"],
        capture_output=True, text=True, timeout=60,
    )
    expect(out.returncode != 0 and "StateMachineDoesNotExist" in out.stderr, out.stderr)


@check("boto3: create_state_machine and describe_state_machine")
def _():
    out = sfn.create_state_machine(name="e2e-pass", definition=PASS_DEF, roleArn=ROLE,
                                   tags=[{"key": "team", "value": "e2e"}])
    machine["pass"] = out["stateMachineArn"]
    d = sfn.describe_state_machine(stateMachineArn=machine["pass"])
    expect(d["name"] == "e2e-pass" and d["type"] == "STANDARD" and d["status"] == "ACTIVE", d)
    expect(json.loads(d["definition"]) == json.loads(PASS_DEF), d["definition"])
    expect(d["creationDate"].tzinfo is not None, d["creationDate"])


@check("boto3: create_state_machine is idempotent with the same definition")
def _():
    again = sfn.create_state_machine(name="e2e-pass", definition=PASS_DEF, roleArn=ROLE,
                                     tags=[{"key": "team", "value": "e2e"}])
    expect(again["stateMachineArn"] == machine["pass"], again)


@check("boto3: StateMachineAlreadyExists with another definition")
def _():
    expect_error("StateMachineAlreadyExists", sfn.create_state_machine, name="e2e-pass", definition=FAIL_DEF, roleArn=ROLE)


@check("boto3: InvalidDefinition")
def _():
    expect_error("InvalidDefinition", sfn.create_state_machine, name="e2e-bad", definition='{"StartAt":"X","States":{}}', roleArn=ROLE)


@check("boto3: start_execution, describe_execution, get_execution_history")
def _():
    out = sfn.start_execution(stateMachineArn=machine["pass"], name="first", input='{"who":"boto3"}')
    d = wait_done(out["executionArn"])
    expect(d["status"] == "SUCCEEDED", d)
    expect(json.loads(d["output"]) == {"greeting": "hello boto3"}, d["output"])
    expect(d["stopDate"] >= d["startDate"], d)
    events = sfn.get_execution_history(executionArn=out["executionArn"])["events"]
    types = [e["type"] for e in events]
    expect(types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded", types)
    expect([e["id"] for e in events] == list(range(1, len(events) + 1)), events)
    rev = sfn.get_execution_history(executionArn=out["executionArn"], reverseOrder=True, maxResults=1)
    expect(rev["events"][0]["type"] == "ExecutionSucceeded" and "nextToken" in rev, rev)
    machine["first"] = out["executionArn"]


@check("boto3: start_execution by name: idempotent while running, ExecutionAlreadyExists after")
def _():
    wait_def = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}})
    arn = sfn.create_state_machine(name="e2e-idem", definition=wait_def, roleArn=ROLE)["stateMachineArn"]
    first = sfn.start_execution(stateMachineArn=arn, name="once", input='{"a":1}')
    again = sfn.start_execution(stateMachineArn=arn, name="once", input='{"a":1}')
    expect(again["executionArn"] == first["executionArn"], again)
    expect_error("ExecutionAlreadyExists", sfn.start_execution, stateMachineArn=arn, name="once", input='{"a":2}')
    sfn.stop_execution(executionArn=first["executionArn"])
    wait_done(first["executionArn"])
    expect_error("ExecutionAlreadyExists", sfn.start_execution, stateMachineArn=machine["pass"], name="first", input='{"who":"boto3"}')


@check("boto3: list_executions with a status filter and paging")
def _():
    for i in range(3):
        sfn.start_execution(stateMachineArn=machine["pass"], name=f"page-{i}", input='{"who":"page"}')
    seen, token = [], None
    while True:
        kw = {"nextToken": token} if token else {}
        page = sfn.list_executions(stateMachineArn=machine["pass"], maxResults=2, **kw)
        seen += [e["name"] for e in page["executions"]]
        token = page.get("nextToken")
        if not token:
            break
    expect(sorted(seen) == ["first", "page-0", "page-1", "page-2"], seen)
    for name in ["page-0", "page-1", "page-2"]:
        wait_done(machine["pass"].replace(":stateMachine:", ":execution:") + ":" + name)
    ok = sfn.list_executions(stateMachineArn=machine["pass"], statusFilter="SUCCEEDED")["executions"]
    expect(len(ok) == 4, ok)
    expect(sfn.list_executions(stateMachineArn=machine["pass"], statusFilter="FAILED")["executions"] == [], "FAILED")


@check("boto3: a Fail state ends the execution FAILED with its error and cause")
def _():
    arn = sfn.create_state_machine(name="e2e-fail", definition=FAIL_DEF, roleArn=ROLE)["stateMachineArn"]
    d = wait_done(sfn.start_execution(stateMachineArn=arn)["executionArn"])
    expect(d["status"] == "FAILED" and d["error"] == "E2E.Boom" and d["cause"] == "on purpose", d)


@check("boto3: stop_execution aborts a waiting execution")
def _():
    wait_def = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}})
    arn = sfn.create_state_machine(name="e2e-wait", definition=wait_def, roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    sfn.stop_execution(executionArn=ex, error="Stopped.ByE2E", cause="test")
    d = wait_done(ex)
    expect(d["status"] == "ABORTED" and d["error"] == "Stopped.ByE2E", d)


@check("boto3: describe_state_machine_for_execution")
def _():
    d = sfn.describe_state_machine_for_execution(executionArn=machine["first"])
    expect(d["stateMachineArn"] == machine["pass"] and json.loads(d["definition"]) == json.loads(PASS_DEF), d)


@check("boto3: list_tags_for_resource")
def _():
    tags = sfn.list_tags_for_resource(resourceArn=machine["pass"])["tags"]
    expect(tags == [{"key": "team", "value": "e2e"}], tags)


@check("boto3: tag_resource and untag_resource")
def _():
    sfn.tag_resource(resourceArn=machine["pass"], tags=[{"key": "env", "value": "dev"}, {"key": "team", "value": "core"}])
    tags = sorted((t["key"], t["value"]) for t in sfn.list_tags_for_resource(resourceArn=machine["pass"])["tags"])
    expect(tags == [("env", "dev"), ("team", "core")], tags)
    sfn.untag_resource(resourceArn=machine["pass"], tagKeys=["env", "team"])
    expect(sfn.list_tags_for_resource(resourceArn=machine["pass"])["tags"] == [], "untagged")
    expect_error("TooManyTags", sfn.tag_resource, resourceArn=machine["pass"],
                 tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])


@check("boto3: versions and an alias with weighted routing")
def _():
    arn = sfn.create_state_machine(name="e2e-versions", definition=PASS_DEF, roleArn=ROLE)["stateMachineArn"]
    v1 = sfn.publish_state_machine_version(stateMachineArn=arn, description="first")["stateMachineVersionArn"]
    expect(v1 == arn + ":1", v1)
    other = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "v2", "End": True}}})
    sfn.update_state_machine(stateMachineArn=arn, definition=other)
    v2 = sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
    versions = [v["stateMachineVersionArn"] for v in sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]]
    expect(versions == [v2, v1], versions)
    alias = sfn.create_state_machine_alias(name="live", routingConfiguration=[
        {"stateMachineVersionArn": v1, "weight": 100}])["stateMachineAliasArn"]
    out = wait_done(sfn.start_execution(stateMachineArn=alias, input='{"who":"alias"}')["executionArn"])
    expect(json.loads(out["output"]) == {"greeting": "hello alias"}, out)
    expect_error("ConflictException", sfn.delete_state_machine_version, stateMachineVersionArn=v1)
    sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=[
        {"stateMachineVersionArn": v2, "weight": 100}])
    out = wait_done(sfn.start_execution(stateMachineArn=alias)["executionArn"])
    expect(out["output"] == '"v2"', out)
    d = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    expect(d["routingConfiguration"] == [{"stateMachineVersionArn": v2, "weight": 100}], d)
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    expect_error("ResourceNotFound", sfn.describe_state_machine_alias, stateMachineAliasArn=alias)


@check("boto3: validate_state_machine_definition reports diagnostics")
def _():
    bad = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}})
    out = sfn.validate_state_machine_definition(definition=bad, type="STANDARD")
    expect(out["result"] == "FAIL" and out["diagnostics"], out)
    expect(sfn.validate_state_machine_definition(definition=PASS_DEF)["result"] == "OK", "OK")


@check("boto3: errors are typed ClientErrors")
def _():
    missing_exec = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:e2e-pass:missing"
    expect_error("ExecutionDoesNotExist", sfn.describe_execution, executionArn=missing_exec)
    expect_error("ExecutionDoesNotExist", sfn.get_execution_history, executionArn=missing_exec)
    expect_error("StateMachineDoesNotExist", sfn.start_execution,
                 stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:missing")
    expect_error("InvalidArn", sfn.describe_execution, executionArn="not-an-arn")
    expect_error("InvalidName", sfn.create_state_machine, name="bad name?", definition=PASS_DEF, roleArn=ROLE)
    expect_error("InvalidExecutionInput", sfn.start_execution, stateMachineArn=machine["pass"], input="{not json")
    expect_error("ActivityDoesNotExist", sfn.describe_activity,
                 activityArn=f"arn:aws:states:{REGION}:{ACCOUNT}:activity:missing")
    expect_error("ResourceNotFound", sfn.list_tags_for_resource,
                 resourceArn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:missing")
    expect_error("InvalidToken", sfn.send_task_success, taskToken="nonsense", output="{}")
    expect_error("ValidationException", sfn.list_state_machines, maxResults=5000)


ACTIVITY_DEF = """{
  "StartAt": "Work",
  "States": {
    "Work": {"Type": "Task", "Resource": "%s", "HeartbeatSeconds": 5, "TimeoutSeconds": 30,
             "ResultPath": "$.result", "End": true}
  }
}"""


def activity_machine(name):
    act = sfn.create_activity(name=name)["activityArn"]
    sm = sfn.create_state_machine(name=name, definition=ACTIVITY_DEF % act, roleArn=ROLE)["stateMachineArn"]
    return act, sm


@check("boto3: an activity worker completes tasks with heartbeats")
def _():
    act, sm = activity_machine("e2e-worker")
    expect(sfn.describe_activity(activityArn=act)["name"] == "e2e-worker", act)
    results = []

    def worker():
        # A worker as people write them: poll, heartbeat while working, report the result.
        for _ in range(2):
            task = sfn.get_activity_task(activityArn=act, workerName="e2e")
            token = task["taskToken"]
            sfn.send_task_heartbeat(taskToken=token)
            n = json.loads(task["input"])["n"]
            sfn.send_task_heartbeat(taskToken=token)
            sfn.send_task_success(taskToken=token, output=json.dumps({"square": n * n}))
            results.append(token)

    t = threading.Thread(target=worker)
    t.start()
    execs = [sfn.start_execution(stateMachineArn=sm, input=json.dumps({"n": n}))["executionArn"] for n in (3, 4)]
    t.join(30)
    outs = sorted(json.loads(wait_done(e)["output"])["result"]["square"] for e in execs)
    expect(outs == [9, 16], outs)
    expect_error("TaskTimedOut", sfn.send_task_success, taskToken=results[0], output="{}")
    history = [e["type"] for e in sfn.get_execution_history(executionArn=execs[0])["events"]]
    for want in ("ActivityScheduled", "ActivityStarted", "ActivitySucceeded"):
        expect(want in history, history)


@check("boto3: send_task_failure fails the execution with the worker's error")
def _():
    act, sm = activity_machine("e2e-failing")
    ex = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    task = sfn.get_activity_task(activityArn=act)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Worker.Broke", cause="disk full")
    d = wait_done(ex)
    expect(d["status"] == "FAILED" and d["error"] == "Worker.Broke" and d["cause"] == "disk full", d)


@check("boto3: redrive_execution resumes a failed execution from the failed state")
def _():
    act, sm = activity_machine("e2e-redrive")
    ex = sfn.start_execution(stateMachineArn=sm, input='{"n": 7}')["executionArn"]
    task = sfn.get_activity_task(activityArn=act)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Flaky")
    expect(wait_done(ex)["status"] == "FAILED", "FAILED first")
    expect(sfn.redrive_execution(executionArn=ex)["redriveDate"] is not None, "redriveDate")
    task = sfn.get_activity_task(activityArn=act)
    expect(json.loads(task["input"]) == {"n": 7}, task)
    sfn.send_task_success(taskToken=task["taskToken"], output='{"ok": true}')
    d = wait_done(ex)
    expect(d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"n": 7, "result": {"ok": True}}, d)
    types = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
    expect(types.count("ExecutionRedriven") == 1 and types[-1] == "ExecutionSucceeded", types)
    expect_error("ExecutionNotRedrivable", sfn.redrive_execution, executionArn=ex)


@check("boto3: a nested .sync:2 execution whose child fails fails the parent's task with the child's description")
def _():
    child = sfn.create_state_machine(name="e2e-child-fails", definition=FAIL_DEF, roleArn=ROLE)["stateMachineArn"]
    parent = sfn.create_state_machine(
        name="e2e-parent",
        roleArn=ROLE,
        definition=json.dumps(
            {
                "StartAt": "Child",
                "States": {
                    "Child": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::states:startExecution.sync:2",
                        "Parameters": {
                            "StateMachineArn": child,
                            "Input": {"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"},
                        },
                        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.caught", "Next": "Caught"}],
                        "End": True,
                    },
                    "Caught": {"Type": "Pass", "End": True},
                },
            }
        ),
    )["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    d = wait_done(ex)
    expect(d["status"] == "SUCCEEDED", d)
    caught = json.loads(d["output"])["caught"]
    expect(caught["Error"] == "States.TaskFailed", caught)
    cause = json.loads(caught["Cause"])
    expect(cause["Status"] == "FAILED" and cause["Error"] == "E2E.Boom" and cause["Cause"] == "on purpose", cause)
    expect(cause["StateMachineArn"] == child and cause["ExecutionArn"].startswith(child.replace(":stateMachine:", ":execution:")), cause)
    # The child knows its parent, as AWS links them, and its own history ends in ExecutionFailed.
    kids = sfn.list_executions(stateMachineArn=child)["executions"]
    expect(len(kids) == 1 and kids[0]["executionArn"] == cause["ExecutionArn"], kids)
    expect(json.loads(sfn.describe_execution(executionArn=kids[0]["executionArn"])["input"]) ==
           {"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": ex}, "child input")
    types = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
    expect("TaskSubmitted" in types and "TaskFailed" in types, types)


@check("boto3: redrive with a client token, listed by version and alias with its redrives")
def _():
    act, sm = activity_machine("e2e-redrive-token")
    v1 = sfn.publish_state_machine_version(stateMachineArn=sm)["stateMachineVersionArn"]
    alias = sfn.create_state_machine_alias(
        name="live", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}])["stateMachineAliasArn"]
    ex = sfn.start_execution(stateMachineArn=alias, input="{}")["executionArn"]
    task = sfn.get_activity_task(activityArn=act)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Flaky")
    expect(wait_done(ex)["status"] == "FAILED", "FAILED first")
    first = sfn.redrive_execution(executionArn=ex, clientToken="e2e-token")["redriveDate"]
    again = sfn.redrive_execution(executionArn=ex, clientToken="e2e-token")["redriveDate"]
    expect(first == again, (first, again))
    for arn in (sm, v1, alias):
        items = sfn.list_executions(stateMachineArn=arn)["executions"]
        expect([i["executionArn"] for i in items] == [ex], (arn, items))
        expect(items[0]["redriveCount"] == 1 and items[0]["stateMachineAliasArn"] == alias, items)
    expect_error("ResourceNotFound", sfn.list_executions, stateMachineArn=sm + ":nope")
    task = sfn.get_activity_task(activityArn=act)
    sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    expect(wait_done(ex)["status"] == "SUCCEEDED", "SUCCEEDED after the redrive")
    expect_error("TaskTimedOut", sfn.send_task_success, taskToken=task["taskToken"], output="{}")
    expect_error("InvalidToken", sfn.send_task_success, taskToken=ex + "#task-999", output="{}")
    e = expect_error("TooManyTags", sfn.tag_resource, resourceArn=sm,
                     tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])
    expect(e.response.get("resourceName") == sm, e.response)


@check("boto3: a task without heartbeats fails with States.HeartbeatTimeout")
def _():
    act = sfn.create_activity(name="e2e-silent")["activityArn"]
    definition = json.dumps({"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": act, "HeartbeatSeconds": 1, "End": True}}})
    sm = sfn.create_state_machine(name="e2e-silent", definition=definition, roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    task = sfn.get_activity_task(activityArn=act)
    expect(task.get("taskToken"), task)
    d = wait_done(ex, timeout=15)
    expect(d["status"] == "FAILED" and d["error"] == "States.HeartbeatTimeout", d)
    expect_error("TaskTimedOut", sfn.send_task_heartbeat, taskToken=task["taskToken"])


@check("boto3 and cli: Map Runs of a distributed Map, inspected and updated while it runs, and their child executions")
def _():
    act = sfn.create_activity(name="e2e-items")["activityArn"]
    definition = json.dumps({"StartAt": "M", "States": {"M": {
        "Type": "Map", "Label": "Items", "MaxConcurrency": 1, "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": act, "End": True}}}}}})
    sm = sfn.create_state_machine(name="e2e-map", definition=definition, roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=sm, input="[1, 2, 3]")["executionArn"]
    runs = sfn.list_map_runs(executionArn=ex)["mapRuns"]
    expect(len(runs) == 1 and runs[0]["stateMachineArn"] == sm + "/Items", runs)
    run = runs[0]["mapRunArn"]
    d = cli("describe-map-run", "--map-run-arn", run)
    expect(d["status"] == "RUNNING" and d["maxConcurrency"] == 1 and d["itemCounts"]["pending"] == 2, d)
    sfn.update_map_run(mapRunArn=run, maxConcurrency=3)
    expect(sfn.describe_map_run(mapRunArn=run)["itemCounts"]["running"] == 3, "all items run after the update")
    for _ in range(3):
        task = sfn.get_activity_task(activityArn=act)
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    expect(wait_done(ex)["status"] == "SUCCEEDED", ex)
    d = sfn.describe_map_run(mapRunArn=run)
    expect(d["status"] == "SUCCEEDED" and d["executionCounts"]["succeeded"] == 3 and "stopDate" in d, d)
    children = sfn.list_executions(mapRunArn=run, statusFilter="SUCCEEDED")["executions"]
    expect(len(children) == 3 and all(c["mapRunArn"] == run for c in children), children)
    child = children[0]["executionArn"]
    d = cli("describe-execution", "--execution-arn", child)
    expect(d["status"] == "SUCCEEDED" and d["mapRunArn"] == run and d["stateMachineArn"] == sm + "/Items"
           and d["output"] == "{}", d)
    events = sfn.get_execution_history(executionArn=child)["events"]
    expect([e["type"] for e in events] == ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted",
                                           "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded"], events)
    d = sfn.describe_state_machine_for_execution(executionArn=child)
    expect(d["mapRunArn"] == run and d["label"] == "Items" and d["stateMachineArn"] == sm + "/Items", d)
    unknown = child[: child.rindex(":")] + ":00000000-0000-4000-8000-000000000000"
    expect_error("ExecutionDoesNotExist", sfn.describe_execution, executionArn=unknown)
    expect_error("ResourceNotFound", sfn.describe_map_run, mapRunArn=run[: run.rindex("-")] + "-999")
    expect_error("ValidationException", sfn.update_map_run, mapRunArn=run, toleratedFailurePercentage=101)


@check("boto3: list_activities and delete_activity")
def _():
    arns = [a["activityArn"] for a in sfn.list_activities()["activities"]]
    expect(any(a.endswith(":activity:e2e-worker") for a in arns), arns)
    target = next(a for a in arns if a.endswith(":activity:e2e-silent"))
    sfn.delete_activity(activityArn=target)
    expect_error("ActivityDoesNotExist", sfn.describe_activity, activityArn=target)


@check("boto3: delete_state_machine")
def _():
    arn = sfn.create_state_machine(name="e2e-doomed", definition=PASS_DEF, roleArn=ROLE)["stateMachineArn"]
    sfn.delete_state_machine(stateMachineArn=arn)
    names = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    expect("e2e-doomed" not in names, names)


def auth_client(key, secret):
    return boto3.client("stepfunctions", endpoint_url=AUTH_ENDPOINT, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=botocore.config.Config(retries={"max_attempts": 1}))


@check("--auth: boto3 and the CLI signed with the configured key get in")
def _():
    good = auth_client(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    good.create_state_machine(name="signed", definition=PASS_DEF, roleArn=ROLE)
    names = [m["name"] for m in cli("list-state-machines", endpoint=AUTH_ENDPOINT)["stateMachines"]]
    expect(names == ["signed"], names)


@check("--auth: an unknown key and a wrong secret are refused")
def _():
    for key, secret, code in [("AKIDUNKNOWN", "x", "UnrecognizedClientException"),
                              (os.environ["AWS_ACCESS_KEY_ID"], "wrong", "InvalidSignatureException")]:
        try:
            auth_client(key, secret).list_state_machines()
        except botocore.exceptions.ClientError as e:
            expect(e.response["Error"]["Code"] == code, e.response["Error"])
        else:
            raise AssertionError(f"{key} got in, want {code}")


finish()
