"""Starts the crawler over the curated bucket once the job wrote it."""

import os

import boto3

glue = boto3.client("glue")


def handler(event, context):
    name = event.get("destinationCrawler") or os.environ["DESTINATION_CRAWLER"]
    try:
        glue.start_crawler(Name=name)
    except glue.exceptions.CrawlerRunningException:
        print(f"crawler {name} is already running; polling it")
    return {"crawler": name}
