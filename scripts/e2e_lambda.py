"""End-to-end checks of local Lambda with the real clients: the AWS CLI and boto3.

scripts/e2e.sh starts the servers and runs this file after e2e.py, with the same environment.
Functions are zips built here from Python and Node sources; state machines invoke them in both
forms (the function ARN and arn:aws:states:::lambda:invoke). One function calls Step Functions
with boto3 and no endpoint argument: the AWS_ENDPOINT_URL Stepline gives its processes is what
brings it back. Each check prints one PASS/FAIL line; the last line counts them.
"""

import base64
import io
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile

import boto3
import botocore.config
import botocore.exceptions
from e2elib import check, expect, expect_client_error, finish

ENDPOINT = os.environ["STEPLINE_ENDPOINT"]
AUTH_ENDPOINT = os.environ["STEPLINE_AUTH_ENDPOINT"]
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/e2e-lambda"
CONFIG = botocore.config.Config(read_timeout=70, retries={"max_attempts": 1})

lam = boto3.client("lambda", endpoint_url=ENDPOINT, config=CONFIG)
sfn = boto3.client("stepfunctions", endpoint_url=ENDPOINT, config=CONFIG)


def expect_error(code, fn, *args, **kwargs):
    return expect_client_error(lam, code, fn, *args, **kwargs)


def cli(*args, endpoint=ENDPOINT):
    """Runs the AWS CLI and returns its parsed JSON output."""
    out = subprocess.run(["aws", "--endpoint-url", endpoint, "--output", "json", *args],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)}: exit {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout) if out.stdout.strip() else {}


def zip_of(files):
    """A zip holding files (name -> source text), as `zip` would make it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


ECHO_PY = """
def handler(event, context):
    return {"echo": event, "function": context.function_name, "requestId": context.aws_request_id,
            "remaining": context.get_remaining_time_in_millis() > 0}
"""

RAISE_PY = """
class PaymentDeclined(Exception):
    pass

def handler(event, context):
    print("about to fail")
    raise PaymentDeclined("card " + str(event.get("card")) + " declined")
"""

# No endpoint argument: AWS_ENDPOINT_URL, which Stepline sets for its processes, leads back to it.
SFN_CALLER_PY = """
import boto3

def handler(event, context):
    names = [m["name"] for m in boto3.client("stepfunctions").list_state_machines()["stateMachines"]]
    return {"machines": sorted(names)}
"""

ECHO_JS = """
exports.handler = async (event, context) => ({ node: true, echo: event, fn: context.functionName });
"""


def wait_done(arn, timeout=60):
    deadline = time.time() + timeout
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.time() > deadline:
            return d
        time.sleep(0.05)


def run_machine(name, definition, payload):
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    x = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
    return wait_done(x), x


def fn_arn(name):
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


tmp = tempfile.mkdtemp()
echo_zip = os.path.join(tmp, "echo.zip")
with open(echo_zip, "wb") as f:
    f.write(zip_of({"app.py": ECHO_PY}))


@check("cli: lambda create-function --zip-file fileb://")
def _():
    out = cli("lambda", "create-function", "--function-name", "e2e-echo", "--runtime", "python3.12",
              "--handler", "app.handler", "--role", ROLE, "--zip-file", f"fileb://{echo_zip}",
              "--environment", "Variables={STAGE=e2e}")
    expect(out["FunctionArn"] == fn_arn("e2e-echo"), out)
    expect(out["Runtime"] == "python3.12" and out["Handler"] == "app.handler", out)
    expect(out["Environment"]["Variables"] == {"STAGE": "e2e"}, out)


@check("cli: lambda invoke")
def _():
    out_file = os.path.join(tmp, "out.json")
    args = ["lambda", "invoke", "--function-name", "e2e-echo", "--payload", '{"a": 1}', out_file]
    res = subprocess.run(["aws", "--endpoint-url", ENDPOINT, "--output", "json", *args],
                         capture_output=True, text=True, timeout=60)
    expect(res.returncode == 0, res.stderr)
    meta = json.loads(res.stdout)
    expect(meta["StatusCode"] == 200 and "FunctionError" not in meta, meta)
    with open(out_file) as f:
        got = json.load(f)
    expect(got["echo"] == {"a": 1} and got["function"] == "e2e-echo" and got["remaining"], got)


@check("boto3: get_function, get_function_configuration, list_functions")
def _():
    g = lam.get_function(FunctionName="e2e-echo")
    expect(g["Configuration"]["FunctionName"] == "e2e-echo", g)
    c = lam.get_function_configuration(FunctionName=fn_arn("e2e-echo"))
    expect(c["CodeSha256"] == g["Configuration"]["CodeSha256"] and c["Timeout"] == 3 and c["MemorySize"] == 128, c)
    names = [f["FunctionName"] for f in lam.get_paginator("list_functions").paginate(MaxItems=50).build_full_result()["Functions"]]
    expect("e2e-echo" in names, names)


@check("boto3: invoke RequestResponse with LogType Tail, Event and DryRun")
def _():
    r = lam.invoke(FunctionName="e2e-echo", Payload=b'{"b": 2}', LogType="Tail")
    expect(r["StatusCode"] == 200 and r["ExecutedVersion"] == "$LATEST", r)
    expect(json.loads(r["Payload"].read())["echo"] == {"b": 2}, "payload")
    log = base64.b64decode(r["LogResult"]).decode()
    expect("START RequestId:" in log and "REPORT RequestId:" in log, log)
    r = lam.invoke(FunctionName="e2e-echo", InvocationType="Event", Payload=b"{}")
    expect(r["StatusCode"] == 202, r)
    r = lam.invoke(FunctionName="e2e-echo", InvocationType="DryRun")
    expect(r["StatusCode"] == 204, r)


@check("boto3: a function error is X-Amz-Function-Error Unhandled with Lambda's error payload")
def _():
    lam.create_function(FunctionName="e2e-raise", Runtime="python3.12", Handler="app.handler", Role=ROLE,
                        Code={"ZipFile": zip_of({"app.py": RAISE_PY})})
    r = lam.invoke(FunctionName="e2e-raise", Payload=b'{"card": 42}', LogType="Tail")
    expect(r.get("FunctionError") == "Unhandled", r)
    err = json.loads(r["Payload"].read())
    expect(err["errorType"] == "PaymentDeclined" and err["errorMessage"] == "card 42 declined", err)
    expect(isinstance(err["stackTrace"], list), err)
    expect("about to fail" in base64.b64decode(r["LogResult"]).decode(), "the log lacks the print")


@check("boto3: update_function_configuration and update_function_code take effect")
def _():
    c = lam.update_function_configuration(FunctionName="e2e-echo", Timeout=10, MemorySize=256,
                                          Environment={"Variables": {"STAGE": "two"}})
    expect(c["Timeout"] == 10 and c["MemorySize"] == 256, c)
    src = 'import os\ndef handler(event, context):\n    return {"stage": os.environ["STAGE"], "v": 2}\n'
    lam.update_function_code(FunctionName="e2e-echo", ZipFile=zip_of({"app.py": src}))
    got = json.loads(lam.invoke(FunctionName="e2e-echo", Payload=b"{}")["Payload"].read())
    expect(got == {"stage": "two", "v": 2}, got)
    lam.update_function_code(FunctionName="e2e-echo", ZipFile=zip_of({"app.py": ECHO_PY}))


@check("boto3: bad input is refused in AWS's shape and stores nothing")
def _():
    expect_error("InvalidParameterValueException", lam.create_function, FunctionName="e2e-notzip",
                 Runtime="python3.12", Handler="app.handler", Role=ROLE, Code={"ZipFile": b"this is no zip"})
    expect_error("ResourceNotFoundException", lam.get_function, FunctionName="e2e-notzip")
    try:
        lam.create_function(FunctionName="e2e-badruntime", Runtime="cobol85", Handler="app.handler", Role=ROLE,
                            Code={"ZipFile": zip_of({"app.py": ECHO_PY})})
    except botocore.exceptions.ClientError as e:
        expect(e.response["Error"]["Code"] in ("InvalidParameterValueException", "ValidationException"), e.response)
    else:
        raise AssertionError("an unknown runtime was accepted")
    expect_error("ResourceNotFoundException", lam.get_function, FunctionName="e2e-badruntime")
    expect_error("RequestTooLargeException", lam.invoke, FunctionName="e2e-echo", Payload=b'"' + b"x" * (7 << 20) + b'"')
    expect_error("ResourceConflictException", lam.create_function, FunctionName="e2e-echo", Runtime="python3.12",
                 Handler="app.handler", Role=ROLE, Code={"ZipFile": zip_of({"app.py": ECHO_PY})})


@check("boto3: a missing handler file fails the invocation with Runtime.ImportModuleError")
def _():
    lam.create_function(FunctionName="e2e-nohandler", Runtime="python3.12", Handler="missing.handler", Role=ROLE,
                        Code={"ZipFile": zip_of({"app.py": ECHO_PY})})
    r = lam.invoke(FunctionName="e2e-nohandler", Payload=b"{}")
    expect(r.get("FunctionError") == "Unhandled", r)
    err = json.loads(r["Payload"].read())
    expect(err["errorType"] == "Runtime.ImportModuleError", err)


@check("boto3: a Node function")
def _():
    lam.create_function(FunctionName="e2e-node", Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                        Code={"ZipFile": zip_of({"index.js": ECHO_JS})})
    got = json.loads(lam.invoke(FunctionName="e2e-node", Payload=b'{"n": 1}')["Payload"].read())
    expect(got == {"node": True, "echo": {"n": 1}, "fn": "e2e-node"}, got)


@check("boto3: a function calls Step Functions with boto3 and no endpoint argument")
def _():
    lam.create_function(FunctionName="e2e-sfn-caller", Runtime="python3.12", Handler="app.handler", Role=ROLE,
                        Code={"ZipFile": zip_of({"app.py": SFN_CALLER_PY})}, Timeout=30)
    sfn.create_state_machine(name="e2e-seen-by-lambda", roleArn=ROLE,
                             definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    r = lam.invoke(FunctionName="e2e-sfn-caller", Payload=b"{}")
    body = json.loads(r["Payload"].read())
    expect("FunctionError" not in r, body)
    expect("e2e-seen-by-lambda" in body["machines"], body)


@check("boto3: state machines invoke functions by ARN and through lambda:invoke")
def _():
    d, _ = run_machine("e2e-lambda-chain", {
        "StartAt": "ByArn",
        "States": {
            "ByArn": {"Type": "Task", "Resource": fn_arn("e2e-echo"), "ResultPath": "$.first", "Next": "Optimised"},
            "Optimised": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                          "Parameters": {"FunctionName": "e2e-node", "Payload.$": "$.first.echo"},
                          "OutputPath": "$.Payload", "End": True},
        },
    }, {"order": 7})
    expect(d["status"] == "SUCCEEDED", d)
    expect(json.loads(d["output"]) == {"node": True, "echo": {"order": 7}, "fn": "e2e-node"}, d["output"])


@check("boto3: a function error is caught by its errorType in a state machine")
def _():
    d, x = run_machine("e2e-lambda-catch", {
        "StartAt": "Pay",
        "States": {
            "Pay": {"Type": "Task", "Resource": fn_arn("e2e-raise"),
                    "Catch": [{"ErrorEquals": ["PaymentDeclined"], "ResultPath": "$.error", "Next": "Declined"}],
                    "End": True},
            "Declined": {"Type": "Pass", "End": True},
        },
    }, {"card": 9})
    expect(d["status"] == "SUCCEEDED", d)
    err = json.loads(d["output"])["error"]
    expect(err["Error"] == "PaymentDeclined", err)
    expect(json.loads(err["Cause"])["errorMessage"] == "card 9 declined", err)
    events = sfn.get_execution_history(executionArn=x)["events"]
    types = [e["type"] for e in events]
    expect("LambdaFunctionScheduled" in types and "LambdaFunctionFailed" in types, types)


@check("cli: a function that is not there fails the task with Lambda.ResourceNotFoundException")
def _():
    d, _ = run_machine("e2e-lambda-missing", {
        "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                         "Parameters": {"FunctionName": "e2e-nobody"}, "End": True}}}, {})
    expect(d["status"] == "FAILED" and d["error"] == "Lambda.ResourceNotFoundException", d)


@check("boto3: delete_function")
def _():
    lam.delete_function(FunctionName="e2e-nohandler")
    expect_error("ResourceNotFoundException", lam.get_function, FunctionName="e2e-nohandler")
    expect_error("ResourceNotFoundException", lam.delete_function, FunctionName="e2e-nohandler")


@check("--auth: a function's own SDK calls are let in, with the credentials Stepline gives it")
def _():
    signed = boto3.client("lambda", endpoint_url=AUTH_ENDPOINT, config=CONFIG)
    signed.create_function(FunctionName="e2e-auth-caller", Runtime="python3.12", Handler="app.handler", Role=ROLE,
                           Code={"ZipFile": zip_of({"app.py": SFN_CALLER_PY})}, Timeout=30)
    r = signed.invoke(FunctionName="e2e-auth-caller", Payload=b"{}")
    body = json.loads(r["Payload"].read())
    expect("FunctionError" not in r, body)
    expect(isinstance(body["machines"], list), body)
    signed.delete_function(FunctionName="e2e-auth-caller")


@check("--auth: GetFunction's Code.Location downloads the zip unsigned, as a presigned link does")
def _():
    signed = boto3.client("lambda", endpoint_url=AUTH_ENDPOINT, config=CONFIG)
    code = zip_of({"app.py": ECHO_PY})
    signed.create_function(FunctionName="e2e-code-link", Runtime="python3.12", Handler="app.handler", Role=ROLE,
                           Code={"ZipFile": code})
    location = signed.get_function(FunctionName="e2e-code-link")["Code"]["Location"]
    with urllib.request.urlopen(location, timeout=10) as resp:
        expect(resp.read() == code, "the link served another zip")
    try:
        urllib.request.urlopen(location.replace("signature=", "signature=0"), timeout=10)
    except urllib.error.HTTPError as e:
        expect(e.code == 403, e.code)
    else:
        raise AssertionError("a forged link opened")
    signed.delete_function(FunctionName="e2e-code-link")


@check("--auth: the Lambda API wants a signature with a configured key")
def _():
    good = boto3.client("lambda", endpoint_url=AUTH_ENDPOINT, config=CONFIG)
    expect(good.list_functions()["Functions"] == [], "a fresh server lists no function")
    bad = boto3.client("lambda", endpoint_url=AUTH_ENDPOINT, config=CONFIG,
                       aws_access_key_id="AKIDUNKNOWN", aws_secret_access_key="x")
    try:
        bad.list_functions()
    except botocore.exceptions.ClientError as e:
        expect(e.response["Error"]["Code"] == "UnrecognizedClientException", e.response["Error"])
    else:
        raise AssertionError("an unknown key got in")


finish()
