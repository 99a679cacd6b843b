"""End-to-end checks of Step Functions Local's mocked service integrations with the real clients.

scripts/e2e.sh starts a server with SFN_MOCK_CONFIG naming AWS's example mock configuration file
(internal/mock/testdata/MockConfigFile.json) and runs this file with STEPLINE_MOCK_ENDPOINT set.
The checks follow the Step Functions Local documentation: its state machine is created, then
started on stateMachineArn#TestCase with boto3 and the AWS CLI, and each test case behaves as the
documentation says. Each check prints one PASS/FAIL line; the last line counts them.
"""

import json
import os
import subprocess
import time

import boto3
import botocore.config
from e2elib import check, expect, expect_client_error, finish

ENDPOINT = os.environ["STEPLINE_MOCK_ENDPOINT"]
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/LambdaSQSIntegration"
HERE = os.path.dirname(os.path.abspath(__file__))
MACHINE_FILE = os.path.join(HERE, "..", "internal", "mock", "testdata", "LambdaSQSIntegration.json")

MOCKED_LAMBDA = {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}
MOCKED_SQS = {"MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51", "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}

sfn = boto3.client("stepfunctions", endpoint_url=ENDPOINT,
                   config=botocore.config.Config(retries={"max_attempts": 1}))


def wait_done(arn, timeout=30):
    deadline = time.time() + timeout
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.time() > deadline:
            return d
        time.sleep(0.05)


def task_events(arn):
    """The task events of an execution's history: (type, detail) with the resource, error or output."""
    out = []
    for e in sfn.get_execution_history(executionArn=arn)["events"]:
        if "taskScheduledEventDetails" in e:
            d = e["taskScheduledEventDetails"]
            out.append((e["type"], d["resourceType"] + ":" + d["resource"]))
        elif "taskFailedEventDetails" in e:
            out.append((e["type"], e["taskFailedEventDetails"]["error"]))
        elif "taskSucceededEventDetails" in e:
            out.append((e["type"], json.loads(e["taskSucceededEventDetails"]["output"])))
    return out


with open(MACHINE_FILE) as f:
    machine = sfn.create_state_machine(name="LambdaSQSIntegration", definition=f.read(), roleArn=ROLE)["stateMachineArn"]


@check("mock: HappyPath returns both mocked responses; the execution ARN is the ordinary one")
def _():
    started = sfn.start_execution(stateMachineArn=machine + "#HappyPath", name="executionWithHappyPathMockedServices")
    expect(started["executionArn"] == f"arn:aws:states:us-east-1:{ACCOUNT}:execution:LambdaSQSIntegration:executionWithHappyPathMockedServices",
           started["executionArn"])
    d = wait_done(started["executionArn"])
    expect(d["status"] == "SUCCEEDED" and json.loads(d["output"]) == MOCKED_SQS, d)
    expect(d["stateMachineArn"] == machine, d["stateMachineArn"])
    expect(task_events(started["executionArn"]) == [
        ("TaskScheduled", "lambda:invoke"), ("TaskSucceeded", MOCKED_LAMBDA),
        ("TaskScheduled", "sqs:sendMessage"), ("TaskSucceeded", MOCKED_SQS)], task_events(started["executionArn"]))


@check("mock: RetryPath fails at invocations 0, 1-2 and succeeds at 3, as its ranges say")
def _():
    arn = sfn.start_execution(stateMachineArn=machine + "#RetryPath")["executionArn"]
    d = wait_done(arn)
    expect(d["status"] == "SUCCEEDED" and json.loads(d["output"]) == MOCKED_SQS, d)
    lam = ("TaskScheduled", "lambda:invoke")
    expect(task_events(arn) == [
        lam, ("TaskFailed", "Lambda.ResourceNotReadyException"),
        lam, ("TaskFailed", "Lambda.TimeoutException"),
        lam, ("TaskFailed", "Lambda.TimeoutException"),
        lam, ("TaskSucceeded", MOCKED_LAMBDA),
        ("TaskScheduled", "sqs:sendMessage"), ("TaskSucceeded", MOCKED_SQS)], task_events(arn))


@check("mock: HybridPath mocks LambdaState and calls SQS for real (which Stepline does not serve)")
def _():
    arn = sfn.start_execution(stateMachineArn=machine + "#HybridPath")["executionArn"]
    d = wait_done(arn)
    expect(d["status"] == "FAILED" and d["error"] == "States.TaskFailed" and "sqs:sendMessage" in d["cause"], d)
    expect(task_events(arn)[:2] == [("TaskScheduled", "lambda:invoke"), ("TaskSucceeded", MOCKED_LAMBDA)], task_events(arn))


@check("mock: an unknown test case is refused with ValidationException")
def _():
    e = expect_client_error(sfn, "ValidationException", sfn.start_execution, stateMachineArn=machine + "#SadPath")
    expect("SadPath" in e.response["Error"]["Message"], e.response["Error"])


@check("mock: the AWS CLI starts a test case as the documentation does")
def _():
    out = subprocess.run(["aws", "stepfunctions", "start-execution", "--endpoint", ENDPOINT, "--output", "json",
                          "--name", "cliHappyPath", "--state-machine", machine + "#HappyPath"],
                         capture_output=True, text=True, timeout=60)
    expect(out.returncode == 0, out.stderr)
    arn = json.loads(out.stdout)["executionArn"]
    expect(arn.endswith(":execution:LambdaSQSIntegration:cliHappyPath"), arn)
    d = wait_done(arn)
    expect(d["status"] == "SUCCEEDED" and json.loads(d["output"]) == MOCKED_SQS, d)


finish()
