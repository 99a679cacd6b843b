"""End-to-end checks of EventBridge connections and the HTTP Task with boto3 and the AWS CLI.

scripts/e2e.sh starts the servers and runs this file with the others, in the same environment.
A small HTTP API runs here on loopback (an OAuth token endpoint and an echo of what each call
carried); connections of each authorization type are made with create_connection, and a state
machine with an HTTP Task calls the API through each. Each check prints one PASS/FAIL line; the
last line counts them.
"""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import boto3
import botocore.config
from e2elib import check, expect, expect_client_error, finish

ENDPOINT = os.environ["STEPLINE_ENDPOINT"]
AUTH_ENDPOINT = os.environ["STEPLINE_AUTH_ENDPOINT"]
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/e2e-http"
CONFIG = botocore.config.Config(read_timeout=70, retries={"max_attempts": 1})
RUN = str(int(time.time() * 1000))

events = boto3.client("events", endpoint_url=ENDPOINT, config=CONFIG)
sfn = boto3.client("stepfunctions", endpoint_url=ENDPOINT, config=CONFIG)
tokens_issued = []


class API(BaseHTTPRequestHandler):
    """POST /token issues OAuth tokens to client cid:cs; /orders/ID echoes what it was sent;
    /orders/404 answers 404."""

    def log_message(self, *args):
        pass

    def _reply(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        url = urlparse(self.path)
        if url.path == "/token":
            if self.headers.get("Authorization") != "Basic Y2lkOmNz":  # cid:cs
                self._reply(401, {"error": "invalid_client"})
                return
            tokens_issued.append(body)
            self._reply(200, {"access_token": f"tok-{len(tokens_issued)}", "expires_in": 3600})
            return
        if url.path == "/orders/404":
            self._reply(404, {"message": "no such order"})
            return
        self._reply(200, {"method": self.command, "path": url.path, "query": url.query, "body": body,
                          "auth": self.headers.get("Authorization") or self.headers.get("X-Api-Key"),
                          "team": self.headers.get("X-Team")})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


api = ThreadingHTTPServer(("127.0.0.1", 0), API)
threading.Thread(target=api.serve_forever, daemon=True).start()
API_URL = f"http://127.0.0.1:{api.server_address[1]}"

CONNECTIONS = {
    "API_KEY": {"ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key", "ApiKeyValue": "key-123"},
                "InvocationHttpParameters": {"HeaderParameters": [{"Key": "X-Team", "Value": "core"}]}},
    "BASIC": {"BasicAuthParameters": {"Username": "user", "Password": "pass"}},
    "OAUTH_CLIENT_CREDENTIALS": {"OAuthParameters": {
        "AuthorizationEndpoint": f"{API_URL}/token", "HttpMethod": "POST",
        "ClientParameters": {"ClientID": "cid", "ClientSecret": "cs"},
        "OAuthHttpParameters": {"BodyParameters": [{"Key": "audience", "Value": "orders"}]}},
        "InvocationHttpParameters": {"QueryStringParameters": [{"Key": "tenant", "Value": "t1"}]}},
}
WANT_AUTH = {"API_KEY": "key-123", "BASIC": "Basic dXNlcjpwYXNz", "OAUTH_CLIENT_CREDENTIALS": "Bearer tok-1"}
arns = {}


def definition(arn):
    return json.dumps({"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                 "Parameters": {"ApiEndpoint.$": f"States.Format('{API_URL}/orders/{{}}', $.id)", "Method": "PUT",
                                "Authentication": {"ConnectionArn": arn},
                                "QueryParameters": {"page": "2"},
                                "RequestBody": {"items.$": "$.items"},
                                "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                                              "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}}},
                 "Catch": [{"ErrorEquals": ["States.Http.StatusCode.404"], "ResultPath": "$.error", "Next": "Missing"}],
                 "End": True},
        "Missing": {"Type": "Pass", "Parameters": {"caught.$": "$.error.Error"}, "End": True}}})


def run(machine, doc):
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(doc))["executionArn"]
    for _ in range(600):
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.05)
    raise AssertionError(f"{arn} did not end")


for auth_type, params in CONNECTIONS.items():
    @check(f"create_connection {auth_type}, describe_connection hides its secrets")
    def _(auth_type=auth_type, params=params):
        name = f"e2e-{auth_type.lower().replace('_', '-')}-{RUN}"
        out = events.create_connection(Name=name, AuthorizationType=auth_type, AuthParameters=params)
        expect(out["ConnectionState"] == "AUTHORIZED", out)
        expect(out["ConnectionArn"].startswith(f"arn:aws:events:us-east-1:{ACCOUNT}:connection/{name}/"), out)
        arns[auth_type] = out["ConnectionArn"]
        d = events.describe_connection(Name=name)
        text = json.dumps(d["AuthParameters"])
        for secret in ("key-123", "pass", '"cs"'):
            expect(secret not in text, f"{secret} shown: {text}")
        expect(d["SecretArn"].startswith(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:events!connection/{name}/"), d)
        expect(d["AuthorizationType"] == auth_type and d["ConnectionState"] == "AUTHORIZED", d)

    @check(f"an HTTP Task through a {auth_type} connection")
    def _(auth_type=auth_type):
        machine = sfn.create_state_machine(name=f"e2e-http-{auth_type.lower().replace('_', '-')}-{RUN}",
                                           definition=definition(arns[auth_type]), roleArn=ROLE)["stateMachineArn"]
        d = run(machine, {"id": "7", "items": ["a", "b c"]})
        expect(d["status"] == "SUCCEEDED", d)
        out = json.loads(d["output"])
        body = out["ResponseBody"]
        expect(out["StatusCode"] == "200" and out["StatusText"] == "OK", out)
        expect(out["Headers"]["content-type"] == ["application/json"], out["Headers"])
        expect(body["method"] == "PUT" and body["path"] == "/orders/7", body)
        expect(body["body"] == "items%5B%5D=a&items%5B%5D=b%20c", body)
        expect(body["auth"] == WANT_AUTH[auth_type], body)
        want_query = "page=2&tenant=t1" if auth_type == "OAUTH_CLIENT_CREDENTIALS" else "page=2"
        expect(body["query"] == want_query, body)
        if auth_type == "API_KEY":
            expect(body["team"] == "core", body)
        d = run(machine, {"id": "404", "items": []})
        expect(d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"caught": "States.Http.StatusCode.404"}, d)


@check("the OAuth token was fetched once, with the connection's body parameters")
def _():
    expect(tokens_issued == ["grant_type=client_credentials&audience=orders"], tokens_issued)


@check("list_connections pages by name prefix; update_connection; delete_connection")
def _():
    names = []
    token = None
    while True:
        kw = {"NamePrefix": "e2e-", "Limit": 1}
        if token:
            kw["NextToken"] = token
        page = events.list_connections(**kw)
        names += [c["Name"] for c in page["Connections"]]
        token = page.get("NextToken")
        if not token:
            break
    for auth_type in CONNECTIONS:
        expect(f"e2e-{auth_type.lower().replace('_', '-')}-{RUN}" in names, names)
    name = f"e2e-basic-{RUN}"
    events.update_connection(Name=name, AuthParameters={"BasicAuthParameters": {"Password": "new"}})
    d = events.describe_connection(Name=name)
    expect(d["AuthParameters"]["BasicAuthParameters"] == {"Username": "user"}, d)
    out = events.delete_connection(Name=name)
    expect(out["ConnectionState"] == "DELETING", out)
    expect_client_error(events, "ResourceNotFoundException", events.describe_connection, Name=name)


@check("a deleted connection fails the HTTP Task with Events.ConnectionResource.ResourceNotFound")
def _():
    machine = sfn.create_state_machine(name=f"e2e-http-gone-{RUN}", definition=definition(arns["BASIC"]),
                                       roleArn=ROLE)["stateMachineArn"]
    d = run(machine, {"id": "1", "items": []})
    expect(d["status"] == "FAILED" and d["error"] == "Events.ConnectionResource.ResourceNotFound", d)


@check("the AWS CLI creates and describes a connection on the --auth server (signed)")
def _():
    import subprocess
    name = f"e2e-cli-{RUN}"
    out = subprocess.run(["aws", "--endpoint-url", AUTH_ENDPOINT, "--output", "json", "events", "create-connection",
                          "--name", name, "--authorization-type", "API_KEY", "--auth-parameters",
                          json.dumps({"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})],
                         capture_output=True, text=True, timeout=60)
    expect(out.returncode == 0, out.stderr)
    signed = boto3.client("events", endpoint_url=AUTH_ENDPOINT, config=CONFIG)
    expect(signed.describe_connection(Name=name)["AuthParameters"] == {"ApiKeyAuthParameters": {"ApiKeyName": "k"}}, name)
    bad = boto3.client("events", endpoint_url=AUTH_ENDPOINT, config=CONFIG, aws_access_key_id="AKIDWRONG",
                       aws_secret_access_key="nope")
    expect_client_error(bad, "UnrecognizedClientException", bad.describe_connection, Name=name)


api.shutdown()
finish()
