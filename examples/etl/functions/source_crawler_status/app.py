"""Reports the source crawler's state and how its last crawl ended, for the Choice to poll."""

import boto3

glue = boto3.client("glue")


def handler(event, context):
    crawler = glue.get_crawler(Name=event["crawler"])["Crawler"]
    last = crawler.get("LastCrawl", {})
    return {
        "crawler": crawler["Name"],
        "state": crawler["State"],
        "lastCrawl": last.get("Status", "NONE"),
        "message": last.get("ErrorMessage", ""),
    }
