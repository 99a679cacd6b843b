"""End-to-end checks of EventBridge Scheduler with boto3 and the AWS CLI.

scripts/e2e.sh starts the servers and runs this file with the others, in the same environment:
schedules are made on the open server (an at() schedule starts exactly one execution; groups,
tags, listing and errors through boto3 and `aws scheduler`), and on the server started with
--wait-scale 0.01 (STEPLINE_MOCK_ENDPOINT), where rate(1 minute) ticks every 0.6 s, fires
repeatedly and stops once disabled. Each check prints one PASS/FAIL line; the last line counts
them.
"""

import datetime
import json
import os
import subprocess
import time

import boto3
import botocore.config
from e2elib import check, expect, expect_client_error, finish

ENDPOINT = os.environ["STEPLINE_ENDPOINT"]
SCALED = os.environ["STEPLINE_MOCK_ENDPOINT"]
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/e2e-scheduler"
CONFIG = botocore.config.Config(retries={"max_attempts": 1})
RUN = str(int(time.time() * 1000))
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})

scheduler = boto3.client("scheduler", endpoint_url=ENDPOINT, config=CONFIG)
sfn = boto3.client("stepfunctions", endpoint_url=ENDPOINT, config=CONFIG)


def inputs(client, machine):
    """The inputs of a machine's executions."""
    out = []
    for page in client.get_paginator("list_executions").paginate(stateMachineArn=machine):
        for x in page["executions"]:
            out.append(client.describe_execution(executionArn=x["executionArn"])["input"])
    return out


def wait_for(client, machine, n, timeout=20):
    deadline = time.time() + timeout
    while True:
        got = inputs(client, machine)
        if len(got) >= n or time.time() > deadline:
            return got
        time.sleep(0.1)


def schedule(client, name, expression, machine, payload, **kw):
    return client.create_schedule(Name=name, ScheduleExpression=expression, FlexibleTimeWindow={"Mode": "OFF"},
                                  Target={"Arn": machine, "RoleArn": ROLE, "Input": payload}, **kw)


@check("an at() schedule starts exactly one execution, with its input and context attributes")
def _():
    machine = sfn.create_state_machine(name=f"e2e-at-{RUN}", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    arn = schedule(scheduler, f"at-{RUN}", f"at({at})", machine, '{"from": "<aws.scheduler.schedule-arn>"}',
                   ActionAfterCompletion="DELETE")["ScheduleArn"]
    expect(arn == f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/default/at-{RUN}", arn)
    got = wait_for(sfn, machine, 1)
    expect([json.loads(g) for g in got] == [{"from": arn}], got)
    time.sleep(1)  # a second execution would show within a few polls of the firing loop
    expect(len(inputs(sfn, machine)) == 1, inputs(sfn, machine))
    # ActionAfterCompletion DELETE: the schedule is gone once it fired.
    expect_client_error(scheduler, "ResourceNotFoundException", scheduler.get_schedule, Name=f"at-{RUN}")


@check("rate(1 minute) under --wait-scale 0.01 fires repeatedly and stops when disabled")
def _():
    sc = boto3.client("scheduler", endpoint_url=SCALED, config=CONFIG)
    sf = boto3.client("stepfunctions", endpoint_url=SCALED, config=CONFIG)
    machine = sf.create_state_machine(name=f"e2e-rate-{RUN}", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    schedule(sc, f"rate-{RUN}", "rate(1 minute)", machine, '{"id": "<aws.scheduler.execution-id>"}')
    got = wait_for(sf, machine, 3)
    expect(len(got) >= 3 and len(set(got)) == len(got), got)
    cur = sc.get_schedule(Name=f"rate-{RUN}")
    sc.update_schedule(Name=f"rate-{RUN}", ScheduleExpression=cur["ScheduleExpression"], FlexibleTimeWindow=cur["FlexibleTimeWindow"],
                       Target=cur["Target"], State="DISABLED")
    stopped = len(inputs(sf, machine))
    time.sleep(2)  # three intervals
    after = len(inputs(sf, machine))
    expect(after <= stopped + 1, f"{after} executions, {stopped} when disabled")
    expect(sc.get_schedule(Name=f"rate-{RUN}")["State"] == "DISABLED", "state")


@check("schedule groups, tags, listing and errors through boto3")
def _():
    group = f"g-{RUN}"
    arn = scheduler.create_schedule_group(Name=group, Tags=[{"Key": "team", "Value": "e2e"}])["ScheduleGroupArn"]
    expect(arn == f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/{group}", arn)
    scheduler.tag_resource(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "ci"}])
    scheduler.untag_resource(ResourceArn=arn, TagKeys=["team"])
    tags = scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"]
    expect(tags == [{"Key": "owner", "Value": "ci"}], tags)
    machine = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:e2e-none"
    for i in range(3):
        schedule(scheduler, f"c{i}", "cron(0 12 ? * MON-FRI *)", machine, "{}", GroupName=group,
                 ScheduleExpressionTimezone="Europe/Paris", State="DISABLED" if i == 1 else "ENABLED")
    names = [s["Name"] for page in scheduler.get_paginator("list_schedules").paginate(GroupName=group, PaginationConfig={"PageSize": 1})
             for s in page["Schedules"]]
    expect(names == ["c0", "c1", "c2"], names)
    disabled = scheduler.list_schedules(GroupName=group, State="DISABLED")["Schedules"]
    expect([s["Name"] for s in disabled] == ["c1"], disabled)
    got = scheduler.get_schedule(Name="c0", GroupName=group)
    expect(got["ScheduleExpressionTimezone"] == "Europe/Paris" and isinstance(got["CreationDate"], datetime.datetime), got)
    expect_client_error(scheduler, "ConflictException", schedule, scheduler, "c0", "rate(1 day)", machine, "{}", GroupName=group)
    expect_client_error(scheduler, "ValidationException", schedule, scheduler, "bad", "cron(0 12 * * * *)", machine, "{}")
    expect_client_error(scheduler, "ResourceNotFoundException", scheduler.get_schedule, Name="c0")
    scheduler.delete_schedule_group(Name=group)
    expect_client_error(scheduler, "ResourceNotFoundException", scheduler.get_schedule, Name="c0", GroupName=group)


@check("the AWS CLI creates, reads and lists schedules")
def _():
    env = dict(os.environ)

    def aws(*args):
        out = subprocess.run(["aws", "--endpoint-url", ENDPOINT, "scheduler", *args, "--output", "json"],
                             capture_output=True, text=True, env=env, timeout=60)
        expect(out.returncode == 0, out.stderr)
        return json.loads(out.stdout) if out.stdout.strip() else {}

    name = f"cli-{RUN}"
    target = json.dumps({"Arn": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:e2e-none", "RoleArn": ROLE})
    arn = aws("create-schedule", "--name", name, "--schedule-expression", "rate(5 minutes)", "--state", "DISABLED",
              "--flexible-time-window", "Mode=OFF", "--target", target)["ScheduleArn"]
    expect(arn.endswith(f":schedule/default/{name}"), arn)
    got = aws("get-schedule", "--name", name)
    expect(got["ScheduleExpression"] == "rate(5 minutes)" and got["State"] == "DISABLED", got)
    listed = aws("list-schedules", "--name-prefix", name)["Schedules"]
    expect([s["Name"] for s in listed] == [name], listed)
    aws("delete-schedule", "--name", name)


finish()
