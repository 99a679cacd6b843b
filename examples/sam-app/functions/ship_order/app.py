"""Ships an order: writes its receipt to the template's bucket, whose name the template passes in
RECEIPTS_BUCKET, and returns where it is."""

import json
import os

import boto3

s3 = boto3.client("s3")


def handler(event, context):
    bucket = os.environ["RECEIPTS_BUCKET"]
    key = "receipts/%s.json" % event["orderId"]
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(event).encode())
    head = s3.head_object(Bucket=bucket, Key=key)
    return {"orderId": event["orderId"], "shipped": True, "receipt": "s3://%s/%s" % (bucket, key),
            "size": head["ContentLength"]}
