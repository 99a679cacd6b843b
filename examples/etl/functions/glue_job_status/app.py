"""Reports the Glue job run's state; a run that ended without succeeding is a JobRunFailed
error, so that the state machine's Retry and Catch see it with the run's own message."""

import boto3

glue = boto3.client("glue")

FAILED = {"FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED"}


class JobRunFailed(Exception):
    pass


def handler(event, context):
    run = glue.get_job_run(JobName=event["jobName"], RunId=event["jobRunId"])["JobRun"]
    state = run["JobRunState"]
    if state in FAILED:
        raise JobRunFailed(f"{event['jobName']} run {run['Id']} ended {state}: {run.get('ErrorMessage', '')}")
    return {
        "jobName": event["jobName"],
        "jobRunId": run["Id"],
        "state": state,
        "executionTime": run.get("ExecutionTime", 0),
    }
