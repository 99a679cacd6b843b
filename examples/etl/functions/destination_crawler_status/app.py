"""Reports the destination crawler's state and, once done, the curated tables it made."""

import os

import boto3

glue = boto3.client("glue")


def handler(event, context):
    crawler = glue.get_crawler(Name=event["crawler"])["Crawler"]
    last = crawler.get("LastCrawl", {})
    out = {
        "crawler": crawler["Name"],
        "state": crawler["State"],
        "lastCrawl": last.get("Status", "NONE"),
        "message": last.get("ErrorMessage", ""),
    }
    if crawler["State"] == "READY" and out["lastCrawl"] == "SUCCEEDED":
        database = os.environ["CURATED_DATABASE"]
        tables = glue.get_tables(DatabaseName=database)["TableList"]
        out["tables"] = sorted(t["Name"] for t in tables)
    return out
