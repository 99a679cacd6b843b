"""End-to-end checks of EventBridge rules, buses and events with boto3 and the AWS CLI.

scripts/e2e.sh starts the servers and runs this file with the others, in the same environment,
against the open server (STEPLINE_ENDPOINT, whose S3 buckets are the folders of STEPLINE_S3_DIR):
a rule matching a PutEvents entry starts executions whose input is the event's envelope, or is
shaped by InputPath and InputTransformer, and a non-matching entry starts none; status-change
events chain two pipelines; an events:putEvents task's event starts a third; a file dropped into
a bucket's folder starts its pipeline; rules through `aws events`. Each check prints one
PASS/FAIL line; the last line counts them.
"""

import json
import os
import subprocess
import time

import boto3
import botocore.config
from e2elib import check, expect, expect_client_error, finish

ENDPOINT = os.environ["STEPLINE_ENDPOINT"]
S3_DIR = os.environ["STEPLINE_S3_DIR"]
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/e2e-events"
CONFIG = botocore.config.Config(retries={"max_attempts": 1})
RUN = str(int(time.time() * 1000))
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})

events = boto3.client("events", endpoint_url=ENDPOINT, config=CONFIG)
sfn = boto3.client("stepfunctions", endpoint_url=ENDPOINT, config=CONFIG)
s3 = boto3.client("s3", endpoint_url=ENDPOINT, config=CONFIG)


def machine(name, definition=PASS):
    return sfn.create_state_machine(name=f"e2e-ev-{name}-{RUN}", definition=definition, roleArn=ROLE)["stateMachineArn"]


def inputs(arn):
    """The inputs of a machine's executions, once each ended."""
    out = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        for x in page["executions"]:
            while True:
                d = sfn.describe_execution(executionArn=x["executionArn"])
                if d["status"] != "RUNNING":
                    break
                time.sleep(0.05)
            out.append(d["input"])
    return out


def wait_for(arn, n, timeout=20):
    deadline = time.time() + timeout
    while True:
        got = inputs(arn)
        if len(got) >= n or time.time() > deadline:
            return got
        time.sleep(0.1)


def rule(name, pattern, targets, **kw):
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), **kw)
    out = events.put_targets(Rule=name, Targets=targets, **kw)
    expect(out["FailedEntryCount"] == 0, out)


@check("a matching PutEvents entry starts executions with the envelope, InputPath and InputTransformer inputs; a non-matching one none")
def _():
    m = machine("orders")
    rule(f"orders-{RUN}", {"source": [f"e2e.shop.{RUN}"], "detail": {"total": [{"numeric": [">", 100]}]}}, [
        {"Id": "whole", "Arn": m},
        {"Id": "detail", "Arn": m, "InputPath": "$.detail"},
        {"Id": "shaped", "Arn": m, "InputTransformer": {"InputPathsMap": {"t": "$.detail.total", "who": "$.detail.customer"},
                                                          "InputTemplate": '{"msg": "<who> spent <t>", "total": <t>}'}},
    ])
    small = events.put_events(Entries=[{"Source": f"e2e.shop.{RUN}", "DetailType": "Order", "Detail": json.dumps({"total": 5})}])
    expect(small["FailedEntryCount"] == 0, small)
    out = events.put_events(Entries=[
        {"Source": f"e2e.shop.{RUN}", "DetailType": "Order", "Detail": json.dumps({"total": 250, "customer": "ann"})},
        {"Source": "aws.e2e", "DetailType": "Order", "Detail": "{}"},
        {"Source": f"e2e.shop.{RUN}", "DetailType": "Order", "Detail": "[1]"},
    ])
    expect(out["FailedEntryCount"] == 2, out)
    expect([e.get("ErrorCode") for e in out["Entries"]] == [None, "NotAuthorizedForSourceException", "MalformedDetail"], out)
    got = [json.loads(i) for i in wait_for(m, 3)]
    expect(len(got) == 3, got)
    whole = [g for g in got if g.get("id") == out["Entries"][0]["EventId"]]
    expect(len(whole) == 1 and whole[0]["detail-type"] == "Order" and whole[0]["account"] == ACCOUNT and whole[0]["version"] == "0", got)
    expect({"total": 250, "customer": "ann"} in got, got)
    expect({"msg": "ann spent 250", "total": 250} in got, got)
    time.sleep(0.5)  # an execution of the small order would have been started by now
    expect(len(inputs(m)) == 3, inputs(m))


@check("DeleteRule is refused while targets remain; ListTargetsByRule, ListRuleNamesByTarget, RemoveTargets")
def _():
    m = machine("del")
    rule(f"del-{RUN}", {"source": ["nothing"]}, [{"Id": "a", "Arn": m}])
    expect_client_error(events, "ValidationException", events.delete_rule, Name=f"del-{RUN}")
    expect([t["Id"] for t in events.list_targets_by_rule(Rule=f"del-{RUN}")["Targets"]] == ["a"], "targets")
    expect(events.list_rule_names_by_target(TargetArn=m)["RuleNames"] == [f"del-{RUN}"], "rule names")
    events.remove_targets(Rule=f"del-{RUN}", Ids=["a"])
    events.delete_rule(Name=f"del-{RUN}")
    expect_client_error(events, "ResourceNotFoundException", events.describe_rule, Name=f"del-{RUN}")


@check("a custom bus, a rule on it, and an invalid pattern refused with InvalidEventPatternException")
def _():
    bus = events.create_event_bus(Name=f"e2e-bus-{RUN}")["EventBusArn"]
    expect(bus.endswith(f":event-bus/e2e-bus-{RUN}"), bus)
    m = machine("bus")
    rule(f"onbus-{RUN}", {"detail-type": [{"equals-ignore-case": "hello"}]}, [{"Id": "m", "Arn": m}], EventBusName=f"e2e-bus-{RUN}")
    events.put_events(Entries=[{"Source": "e2e", "DetailType": "HELLO", "Detail": "{}", "EventBusName": bus}])
    expect(len(wait_for(m, 1)) == 1, "execution")
    e = expect_client_error(events, "InvalidEventPatternException", events.put_rule, Name=f"bad-{RUN}", EventPattern='{"source": "x"}')
    expect(e.response["Error"]["Message"].startswith("Event pattern is not valid. Reason: "), e.response["Error"])


@check("status-change events chain pipelines: A's SUCCEEDED starts B with A's execution in its input")
def _():
    a = machine("a", json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"made": 1}, "End": True}}}))
    b = machine("b")
    rule(f"chain-{RUN}", {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
                          "detail": {"status": ["SUCCEEDED"], "stateMachineArn": [a]}},
         [{"Id": "b", "Arn": b, "InputPath": "$.detail"}])
    x = sfn.start_execution(stateMachineArn=a, name="first", input='{"n": 1}')["executionArn"]
    got = [json.loads(i) for i in wait_for(b, 1)]
    expect(len(got) == 1, got)
    d = got[0]
    expect(d["executionArn"] == x and d["status"] == "SUCCEEDED" and d["input"] == '{"n": 1}' and json.loads(d["output"]) == {"made": 1}, d)


@check("an events:putEvents task answers {Entries, FailedEntryCount} and its event starts the rule's pipeline")
def _():
    c = machine("c")
    rule(f"task-{RUN}", {"source": [f"e2e.task.{RUN}"]}, [{"Id": "c", "Arn": c, "InputPath": "$.detail"}])
    putter = machine("put", json.dumps({"StartAt": "Put", "States": {"Put": {
        "Type": "Task", "Resource": "arn:aws:states:::events:putEvents", "End": True,
        "Parameters": {"Entries": [{"Source": f"e2e.task.{RUN}", "DetailType": "t", "Detail": {"from.$": "$$.Execution.Name"}}]}}}}))
    x = sfn.start_execution(stateMachineArn=putter, name="p1")["executionArn"]
    while (d := sfn.describe_execution(executionArn=x))["status"] == "RUNNING":
        time.sleep(0.05)
    out = json.loads(d["output"])
    expect(d["status"] == "SUCCEEDED" and out["FailedEntryCount"] == 0 and len(out["Entries"][0]["EventId"]) == 36, d)
    expect([json.loads(i) for i in wait_for(c, 1)] == [{"from": "p1"}], inputs(c))


@check("a file dropped into a bucket's folder (EventBridge notifications on) starts its pipeline")
def _():
    bucket = f"e2e-drops-{RUN}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    m = machine("ingest")
    rule(f"drops-{RUN}", {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [bucket]}}},
         [{"Id": "m", "Arn": m, "InputTransformer": {"InputPathsMap": {"k": "$.detail.object.key", "s": "$.detail.object.size"},
                                                      "InputTemplate": '{"key": <k>, "size": <s>}'}}])
    os.makedirs(os.path.join(S3_DIR, bucket, "in"), exist_ok=True)
    with open(os.path.join(S3_DIR, bucket, "in", "day1.csv"), "w") as f:
        f.write("a,b\n1,2\n")
    expect([json.loads(i) for i in wait_for(m, 1)] == [{"key": "in/day1.csv", "size": 8}], inputs(m))


@check("aws events: put-rule, list-rules, test-event-pattern, put-events")
def _():
    def cli(*args):
        return json.loads(subprocess.run(["aws", "--endpoint-url", ENDPOINT, "events", *args], check=True,
                                         capture_output=True, text=True).stdout or "{}")
    arn = cli("put-rule", "--name", f"cli-{RUN}", "--event-pattern", '{"source":["cli"]}', "--state", "DISABLED")["RuleArn"]
    expect(arn.endswith(f":rule/cli-{RUN}"), arn)
    rules = cli("list-rules", "--name-prefix", f"cli-{RUN}")["Rules"]
    expect([(r["Name"], r["State"]) for r in rules] == [(f"cli-{RUN}", "DISABLED")], rules)
    ev = json.dumps({"id": "1", "account": ACCOUNT, "source": "cli", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
                     "resources": [], "detail-type": "x", "detail": {"ip": "10.1.2.3"}})
    res = cli("test-event-pattern", "--event-pattern", '{"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}', "--event", ev)
    expect(res["Result"] is True, res)
    out = cli("put-events", "--entries", json.dumps([{"Source": "cli", "DetailType": "x", "Detail": "{}"}]))
    expect(out["FailedEntryCount"] == 0, out)


finish()
