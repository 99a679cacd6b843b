"""Stepline's Lambda runtime client for python3.x: standard library only.

It speaks the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API, imports module.function from
_HANDLER with LAMBDA_TASK_ROOT first on sys.path, and calls handler(event, context) for each
invocation, reporting results and errors in the shapes AWS's Python runtime uses.
"""

import decimal
import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

API = "/2018-06-01/runtime"
ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"


class FaultException(Exception):
    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace


class Unbuffered:
    """Every write reaches the pipe at once, so that an invocation's output is in its log."""

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, attr):
        return getattr(self.stream, attr)

    def write(self, msg):
        self.stream.write(msg)
        self.stream.flush()

    def writelines(self, msgs):
        self.stream.writelines(msgs)
        self.stream.flush()


class Client:
    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.conn = http.client.HTTPConnection(host, int(port))

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, API + path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        data = resp.read()
        return resp, data

    def next(self):
        resp, body = self.request("GET", "/invocation/next")
        if resp.status != 200:
            raise RuntimeError("runtime API answered %d to next: %r" % (resp.status, body[:200]))
        return resp, body

    def post(self, path, body, headers=None):
        resp, data = self.request("POST", path, body, headers)
        if resp.status >= 500:
            raise RuntimeError("runtime API answered %d: %r" % (resp.status, data[:200]))
        return resp.status


def _default(obj):
    if isinstance(obj, decimal.Decimal):
        if obj.is_nan():
            return float("nan")
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError("Object of type %s is not JSON serializable" % obj.__class__.__name__)


# AWS's runtime writes non-ASCII characters unescaped on python3.12 only.
_ENSURE_ASCII = os.environ.get("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12"


def to_json(obj):
    return json.dumps(obj, default=_default, ensure_ascii=_ENSURE_ASCII)


def make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


# Where Lambda keeps a function's code. Stack traces name the code there, as on AWS, whatever
# folder the code was unpacked into here, so that a function's errors read the same everywhere.
_AWS_TASK_ROOT = "/var/task"


def user_trace(tb):
    frames = traceback.extract_tb(tb)
    for i, frame in enumerate(frames):
        if "/bootstrap.py" not in frame.filename:
            frames = frames[i:]
            break
    root = os.environ.get("LAMBDA_TASK_ROOT", "")
    if root:
        for frame in frames:
            if frame.filename.startswith(root + os.sep):
                frame.filename = _AWS_TASK_ROOT + frame.filename[len(root):]
    return traceback.format_list(frames)


def log_error(error):
    line = "[ERROR]"
    if error.get("errorType"):
        line += " " + error["errorType"]
    if error.get("errorMessage"):
        if error.get("errorType"):
            line += ":"
        line += " " + error["errorMessage"]
    lines = [line]
    trace = error.get("stackTrace")
    if trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in trace:
            if element == "":
                lines.append("")
                continue
            for t in element.splitlines():
                n = len(t) - len(t.lstrip(" "))
                lines.append(ERROR_LOG_IDENT * n + t[n:])
    sys.stdout.write(ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


def get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException("Runtime.MalformedHandlerName", "Bad handler '{}': {}".format(handler, str(e)))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                "Runtime.BuiltInModuleConflict",
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        m = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            "Runtime.ImportModuleError", "Unable to import module '{}': {}".format(modname, str(e))
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            "Runtime.UserCodeSyntaxError", "Syntax error in module '{}': {}".format(modname, str(e)), trace
        )
    try:
        return getattr(m, fname)
    except AttributeError:
        raise FaultException("Runtime.HandlerNotFound", "Handler '{}' missing on module '{}'".format(fname, modname))


class _Obj:
    pass


def _obj_from(cls_fields, d):
    if d is None:
        return None
    o = _Obj()
    for field in cls_fields:
        setattr(o, field, d.get(field) if isinstance(d, dict) else None)
    return o


class LambdaContext:
    def __init__(self, request_id, client_context, identity, deadline_ms, arn):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = arn
        self.client_context = _obj_from(("client", "custom", "env"), client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from(
                ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"),
                self.client_context.client,
            )
        self.identity = _obj_from(("cognito_identity_id", "cognito_identity_pool_id"), {})
        if identity is not None:
            self.identity.cognito_identity_id = identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = identity.get("cognitoIdentityPoolId")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        delta = self._deadline_ms - int(time.time() * 1000)
        return delta if delta > 0 else 0

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id={},log_group_name={},log_stream_name={},function_name={},"
            "memory_limit_in_mb={},function_version={},invoked_function_arn={},client_context={},identity={}])"
        ).format(
            self.aws_request_id, self.log_group_name, self.log_stream_name, self.function_name,
            self.memory_limit_in_mb, self.function_version, self.invoked_function_arn,
            self.client_context, self.identity,
        )


_REQUEST_ID = ""


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _REQUEST_ID
        return True


def setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.terminator = ""
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
        )
    )
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def parse_json_header(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException("Runtime.LambdaContextUnmarshalError", "Unable to parse {} JSON: {}".format(name, str(e)))


def traceparent(xray):
    """The W3C traceparent of an X-Ray trace header (Root=1-{8}-{24};Parent={16};Sampled=1), or None."""
    fields = dict(f.split("=", 1) for f in xray.split(";") if "=" in f)
    root = fields.get("Root", "").split("-")
    parent = fields.get("Parent", "")
    if len(root) != 3 or root[0] != "1" or len(root[1]) + len(root[2]) != 32 or len(parent) != 16:
        return None
    return "00-%s%s-%s-%s" % (root[1], root[2], parent, "01" if fields.get("Sampled") == "1" else "00")


def handle(client, handler, resp, body):
    global _REQUEST_ID
    request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id") or ""
    _REQUEST_ID = request_id
    trace_id = resp.getheader("Lambda-Runtime-Trace-Id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    # The same trace context as W3C's traceparent, in the environment variable OpenTelemetry
    # reads a context from (TRACEPARENT): Lambda sets only _X_AMZN_TRACE_ID.
    parent = traceparent(trace_id or "")
    if parent:
        os.environ["TRACEPARENT"] = parent
    else:
        os.environ.pop("TRACEPARENT", None)
    error = None
    try:
        cc = resp.getheader("Lambda-Runtime-Client-Context")
        ident = resp.getheader("Lambda-Runtime-Cognito-Identity")
        context = LambdaContext(
            request_id,
            parse_json_header(cc, "Client Context") if cc else None,
            parse_json_header(ident, "Cognito Identity") if ident else None,
            int(resp.getheader("Lambda-Runtime-Deadline-Ms") or "0"),
            resp.getheader("Lambda-Runtime-Invoked-Function-Arn"),
        )
        try:
            event = json.loads(body)
        except Exception as e:
            raise FaultException("Runtime.UnmarshalError", "Unable to unmarshal input: {}".format(str(e)))
        result = handler(event, context)
        if isinstance(result, bytes):
            payload, content_type = result, "application/unknown"
        else:
            try:
                payload, content_type = to_json(result).encode("utf-8"), "application/json"
            except Exception as e:
                raise FaultException("Runtime.MarshalError", "Unable to marshal response: {}".format(str(e)))
    except FaultException as e:
        error = make_error(e.msg, e.exception_type, e.trace, request_id)
    except Exception:
        etype, value, tb = sys.exc_info()
        error = make_error(str(value), etype.__name__, user_trace(tb), request_id)
    if error is not None:
        log_error(error)
        client.post(
            "/invocation/%s/error" % request_id,
            to_json(error).encode("utf-8"),
            {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": error["errorType"]},
        )
    else:
        client.post("/invocation/%s/response" % request_id, payload, {"Content-Type": content_type})


def main():
    sys.stdout = Unbuffered(sys.stdout)
    sys.stderr = Unbuffered(sys.stderr)
    # The function's code first, as on Lambda; not our own directory.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", os.getcwd()))
    client = Client(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        setup_logging()
        handler = get_handler(os.environ.get("_HANDLER", ""))
    except FaultException as e:
        error = make_error(e.msg, e.exception_type, e.trace)
        log_error(error)
        client.post("/init/error", to_json(error).encode("utf-8"),
                    {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": e.exception_type})
        sys.exit(1)
    except Exception:
        etype, value, tb = sys.exc_info()
        error = make_error(str(value), etype.__name__, user_trace(tb))
        log_error(error)
        client.post("/init/error", to_json(error).encode("utf-8"),
                    {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": etype.__name__})
        sys.exit(1)
    while True:
        resp, body = client.next()
        handle(client, handler, resp, body)


if __name__ == "__main__":
    main()
