import json
import os
import sys
import time


class CustomError(Exception):
    pass


def handler(event, context):
    op = event.get("op") if isinstance(event, dict) else None
    if op == "raise":
        raise CustomError("boom from python")
    if op == "sleep":
        time.sleep(event["ms"] / 1000)
        return "slept"
    if op == "print":
        print("x" * event["bytes"])
        return "printed"
    if op == "exit":
        sys.exit(5)
    if op == "sfn":
        import boto3

        return [m["name"] for m in boto3.client("stepfunctions").list_state_machines()["stateMachines"]]
    if op == "unserialisable":
        return {1, 2}
    if op == "context":
        return {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "client_context_custom": context.client_context.custom if context.client_context else None,
            "identity": context.identity.cognito_identity_id,
            "remaining": context.get_remaining_time_in_millis(),
            "env": dict(os.environ),
            "cwd": os.getcwd(),
            "boto3": __import__("importlib").util.find_spec("boto3") is not None,
        }
    return event.get("data") if isinstance(event, dict) else event
