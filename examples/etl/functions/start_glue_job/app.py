"""Starts the Glue job that cleans the raw sales files into the curated bucket."""

import os

import boto3

glue = boto3.client("glue")


def handler(event, context):
    job = event.get("jobName") or os.environ["JOB_NAME"]
    arguments = {"--run_date": event.get("runDate", "")}
    arguments.update(event.get("jobArguments", {}))
    run = glue.start_job_run(JobName=job, Arguments=arguments)
    print(f"started {job} run {run['JobRunId']}")
    return {"jobName": job, "jobRunId": run["JobRunId"]}
