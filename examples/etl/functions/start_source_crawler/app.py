"""Starts the crawler over the raw data, so the raw tables describe what landed."""

import os

import boto3

glue = boto3.client("glue")


def handler(event, context):
    name = event.get("sourceCrawler") or os.environ["SOURCE_CRAWLER"]
    try:
        glue.start_crawler(Name=name)
    except glue.exceptions.CrawlerRunningException:
        print(f"crawler {name} is already running; polling it")
    return {"crawler": name}
