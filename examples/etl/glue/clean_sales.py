"""Glue Python shell job: cleans the raw sales CSV files into curated JSON Lines.

Reads every CSV object under s3://RAW_BUCKET/RAW_PREFIX, trims and types each row (dates to
ISO 8601, quantities to integers, prices to decimals, regions upper-case), drops rows that cannot
be read and duplicate order ids, and writes the rest to s3://CURATED_BUCKET/CURATED_PREFIX as
gzip-compressed JSON Lines partitioned by order date (dt=YYYY-MM-DD/), one file a day.

Arguments (Glue passes them as --name value): --raw_bucket, --raw_prefix, --curated_bucket,
--curated_prefix, and --max_bad_rows: the run fails when more rows than that cannot be read.
"""

import csv
import datetime
import decimal
import gzip
import io
import json
import sys

import boto3
from awsglue.utils import getResolvedOptions

args = getResolvedOptions(
    sys.argv,
    ["JOB_NAME", "JOB_RUN_ID", "raw_bucket", "raw_prefix", "curated_bucket", "curated_prefix", "max_bad_rows"],
)
s3 = boto3.client("s3")

DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y")


def parse_date(text):
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unreadable date {text!r}")


def clean(row):
    order_id = row["order_id"].strip()
    if not order_id:
        raise ValueError("no order id")
    quantity = int(row["quantity"].strip())
    price = decimal.Decimal(row["unit_price"].strip().lstrip("$"))
    if quantity <= 0 or price < 0:
        raise ValueError(f"quantity {quantity}, price {price}")
    return {
        "order_id": order_id,
        "order_date": parse_date(row["order_date"]).isoformat(),
        "customer": " ".join(row["customer"].split()).title(),
        "region": row["region"].strip().upper(),
        "product": row["product"].strip().lower(),
        "quantity": quantity,
        "unit_price": float(price),
        "amount": float((price * quantity).quantize(decimal.Decimal("0.01"))),
        "currency": (row.get("currency") or "USD").strip().upper(),
    }


def raw_keys():
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=args["raw_bucket"], Prefix=args["raw_prefix"])
    for page in pages:
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".csv"):
                yield obj["Key"]


def main():
    by_day, seen, bad, read = {}, set(), 0, 0
    for key in raw_keys():
        body = s3.get_object(Bucket=args["raw_bucket"], Key=key)["Body"].read().decode("utf-8")
        for row in csv.DictReader(io.StringIO(body)):
            read += 1
            try:
                rec = clean(row)
            except (KeyError, ValueError, decimal.InvalidOperation, AttributeError) as e:
                bad += 1
                print(f"skipping a row of {key}: {e}")
                continue
            if rec["order_id"] in seen:
                continue
            seen.add(rec["order_id"])
            by_day.setdefault(rec["order_date"], []).append(rec)
    if bad > int(args["max_bad_rows"]):
        raise ValueError(f"{bad} of {read} raw rows could not be read, more than the {args['max_bad_rows']} allowed")
    prefix = args["curated_prefix"].rstrip("/")
    for day, records in sorted(by_day.items()):
        lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in sorted(records, key=lambda r: r["order_id"]))
        s3.put_object(
            Bucket=args["curated_bucket"],
            Key=f"{prefix}/dt={day}/part-00000.json.gz",
            Body=gzip.compress(lines.encode("utf-8"), mtime=0),
            ContentType="application/json",
            ContentEncoding="gzip",
        )
    kept = sum(len(r) for r in by_day.values())
    print(f"{args['JOB_NAME']} run {args['JOB_RUN_ID']}: read {read} rows, kept {kept}, skipped {bad}, wrote {len(by_day)} days")


main()
