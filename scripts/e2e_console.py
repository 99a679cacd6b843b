"""End-to-end checks of the web console over the built binary: the pages a browser gets on the
serve port for what boto3 made, the test hooks outside tests rely on, and --auth's refusal.

scripts/e2e.sh runs this file with STEPLINE_ENDPOINT (an open server) and STEPLINE_AUTH_ENDPOINT
(one with --auth) set. The browser tests of the views themselves are Go tests
(internal/console, with Chromium).
"""

import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
import botocore.config
from e2elib import check, expect, finish

ENDPOINT = os.environ["STEPLINE_ENDPOINT"]
AUTH_ENDPOINT = os.environ["STEPLINE_AUTH_ENDPOINT"]
ROLE = "arn:aws:iam::123456789012:role/e2e"

sfn = boto3.client("stepfunctions", endpoint_url=ENDPOINT, config=botocore.config.Config(retries={"max_attempts": 1}))


def get(url):
    """An unsigned GET as a browser sends it: (status, content type, body)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def wait_done(arn, timeout=20):
    deadline = time.time() + timeout
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.time() > deadline:
            return d
        time.sleep(0.05)


CAUGHT_DEF = json.dumps(
    {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:e2e-console-missing",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
                "Next": "Skipped",
            },
            "Skipped": {"Type": "Pass", "End": True},
            "Recover": {"Type": "Pass", "End": True},
        },
    }
)

run = {}


@check("console: GET / lists the state machines")
def _():
    arn = sfn.create_state_machine(name="e2e-console", definition=CAUGHT_DEF, roleArn=ROLE)["stateMachineArn"]
    run["machine"] = arn
    status, ctype, body = get(ENDPOINT + "/")
    expect(status == 200 and ctype.startswith("text/html"), (status, ctype))
    expect('data-machine="e2e-console"' in body, "e2e-console is not listed")


@check("console: an execution's page carries the graph, table and event hooks")
def _():
    arn = sfn.start_execution(stateMachineArn=run["machine"], name="e2e-console-1")["executionArn"]
    expect(wait_done(arn)["status"] == "SUCCEEDED", arn)
    status, _, body = get(ENDPOINT + "/executions/" + urllib.parse.quote(arn, safe=":"))
    expect(status == 200, status)
    nodes = dict(re.findall(r'data-state="([^"]+)" data-type="\w+" data-status="(\w+)"', body))
    expect(nodes == {"Work": "CAUGHT_ERROR", "Skipped": "NOT_STARTED", "Recover": "SUCCEEDED"}, nodes)
    rows = re.findall(r'data-row-state="([^"]+)"', body)
    expect(rows == ["Work", "Recover"], rows)
    events = re.findall(r'data-event-id="(\d+)" data-event-type="(\w+)"', body)
    history = sfn.get_execution_history(executionArn=arn)["events"]
    expect([(str(e["id"]), e["type"]) for e in history] == events, events)


@check("console: --auth keeps the console's pages behind its login link")
def _():
    status, _, body = get(AUTH_ENDPOINT + "/")
    expect(status == 401 and "e2e" not in body, status)


finish()
