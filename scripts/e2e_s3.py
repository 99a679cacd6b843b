"""End-to-end checks of local S3 with the real clients: the AWS CLI (`aws s3 cp/sync/ls/rm`,
`aws s3api`) and boto3.

scripts/e2e.sh starts the servers and runs this file with the same environment as the others:
STEPLINE_ENDPOINT (open), STEPLINE_AUTH_ENDPOINT (--auth; checks needing it are skipped when it
is unset), and STEPLINE_S3_DIR, the open server's DIR/s3 (`--data DIR`), for the check that a
file dropped into a bucket's folder is an object (skipped when unset). internal/s3's tests run it
too, against the S3 handler alone. Each check prints one PASS/FAIL line; the last line counts them.
"""

import filecmp
import hashlib
import os
import random
import shutil
import subprocess
import tempfile

import boto3
import boto3.s3.transfer
import botocore.config
from e2elib import check, expect, expect_client_error, finish

ENDPOINT = os.environ["STEPLINE_ENDPOINT"]
AUTH_ENDPOINT = os.environ.get("STEPLINE_AUTH_ENDPOINT", "")
S3_DIR = os.environ.get("STEPLINE_S3_DIR", "")
CONFIG = botocore.config.Config(read_timeout=70, retries={"max_attempts": 1})
BUCKET = "e2e-s3"

s3 = boto3.client("s3", endpoint_url=ENDPOINT, config=CONFIG)
tmp = tempfile.mkdtemp()


def aws(*args, endpoint=ENDPOINT):
    """Runs the AWS CLI and returns its standard output."""
    out = subprocess.run(["aws", "--endpoint-url", endpoint, *args], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)}: exit {out.returncode}: {out.stderr.strip()}")
    return out.stdout


def random_file(path, size, seed):
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(rng.randbytes(n))
            left -= n


def multipart_etag(path, part_size):
    """The ETag S3 gives an object uploaded in parts of part_size: the MD5 of the parts' MD5s, "-N"."""
    sums = []
    with open(path, "rb") as f:
        while chunk := f.read(part_size):
            sums.append(hashlib.md5(chunk).digest())
    return '"%s-%d"' % (hashlib.md5(b"".join(sums)).hexdigest(), len(sums))


@check("cli: s3 mb, s3 ls lists the bucket")
def _():
    aws("s3", "mb", f"s3://{BUCKET}")
    expect(BUCKET in aws("s3", "ls").split(), "the bucket is not listed")


big = os.path.join(tmp, "big.bin")
random_file(big, 40 << 20, 1)


@check("cli: s3 cp of a 40 MB file up (multipart) and down, byte for byte")
def _():
    aws("s3", "cp", big, f"s3://{BUCKET}/big/big.bin")
    head = s3.head_object(Bucket=BUCKET, Key="big/big.bin")
    expect(head["ContentLength"] == 40 << 20, head)
    # The CLI uploads in parts of 8 MiB above 8 MiB.
    want = multipart_etag(big, 8 << 20)
    expect(head["ETag"] == want, f"ETag {head['ETag']}, want {want}")
    back = os.path.join(tmp, "big.back")
    aws("s3", "cp", f"s3://{BUCKET}/big/big.bin", back)
    expect(filecmp.cmp(big, back, shallow=False), "the downloaded file differs")
    if S3_DIR:
        expect(filecmp.cmp(big, os.path.join(S3_DIR, BUCKET, "big", "big.bin"), shallow=False),
               "the object's file in the bucket folder differs")


@check("cli: s3 cp between buckets of a large object (UploadPartCopy)")
def _():
    aws("s3", "mb", f"s3://{BUCKET}-copy")
    aws("s3", "cp", f"s3://{BUCKET}/big/big.bin", f"s3://{BUCKET}-copy/big.bin")
    back = os.path.join(tmp, "big.copy")
    aws("s3", "cp", f"s3://{BUCKET}-copy/big.bin", back)
    expect(filecmp.cmp(big, back, shallow=False), "the copied object differs")
    aws("s3", "rb", "--force", f"s3://{BUCKET}-copy")


@check("cli: s3 sync up and down, then only what changed")
def _():
    src = os.path.join(tmp, "tree")
    for rel, size in [("a.txt", 10), ("sub/b.csv", 2000), ("sub/deeper/c.json", 1), ("d e+f.bin", 9 << 20)]:
        os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
        random_file(os.path.join(src, rel), size, len(rel))
    out = aws("s3", "sync", src, f"s3://{BUCKET}/tree/")
    expect(out.count("upload:") == 4, out)
    dst = os.path.join(tmp, "tree.back")
    aws("s3", "sync", f"s3://{BUCKET}/tree/", dst)
    cmp = filecmp.dircmp(src, dst)
    expect(not cmp.left_only and not cmp.right_only and not cmp.diff_files,
           f"only up {cmp.left_only}, only down {cmp.right_only}, differ {cmp.diff_files}")
    expect(filecmp.cmp(os.path.join(src, "sub/deeper/c.json"), os.path.join(dst, "sub/deeper/c.json"), shallow=False), "c.json")
    expect(filecmp.cmp(os.path.join(src, "d e+f.bin"), os.path.join(dst, "d e+f.bin"), shallow=False), "d e+f.bin")
    again = aws("s3", "sync", src, f"s3://{BUCKET}/tree/")
    expect(again.strip() == "", f"a second sync uploaded: {again}")
    with open(os.path.join(src, "sub/b.csv"), "ab") as f:
        f.write(b"more")
    changed = aws("s3", "sync", src, f"s3://{BUCKET}/tree/")
    expect(changed.count("upload:") == 1 and "sub/b.csv" in changed, changed)


@check("cli: s3 ls with and without --recursive")
def _():
    top = aws("s3", "ls", f"s3://{BUCKET}/tree/")
    expect("PRE sub/" in top and "a.txt" in top and "d e+f.bin" in top, top)
    rec = aws("s3", "ls", "--recursive", f"s3://{BUCKET}/tree/")
    expect("tree/sub/deeper/c.json" in rec and len(rec.strip().splitlines()) == 4, rec)


@check("boto3: put_object with metadata, head_object, get_object with a Range")
def _():
    s3.put_object(Bucket=BUCKET, Key="meta/doc.txt", Body=b"0123456789", ContentType="text/plain",
                  Metadata={"team": "data"})
    head = s3.head_object(Bucket=BUCKET, Key="meta/doc.txt")
    expect(head["ContentType"] == "text/plain" and head["Metadata"] == {"team": "data"}, head)
    expect(head["ETag"] == '"%s"' % hashlib.md5(b"0123456789").hexdigest(), head["ETag"])
    got = s3.get_object(Bucket=BUCKET, Key="meta/doc.txt", Range="bytes=2-5")
    expect(got["Body"].read() == b"2345" and got["ContentRange"] == "bytes 2-5/10", got)
    expect_client_error(s3, "InvalidRange", s3.get_object, Bucket=BUCKET, Key="meta/doc.txt", Range="bytes=10-")


@check("boto3: errors NoSuchKey, NoSuchBucket, BucketNotEmpty, InvalidBucketName")
def _():
    expect_client_error(s3, "NoSuchKey", s3.get_object, Bucket=BUCKET, Key="missing")
    expect_client_error(s3, "NoSuchBucket", s3.get_object, Bucket="no-such-bucket", Key="k")
    expect_client_error(s3, "NoSuchBucket", s3.list_objects_v2, Bucket="no-such-bucket")
    expect_client_error(s3, "BucketNotEmpty", s3.delete_bucket, Bucket=BUCKET)
    expect_client_error(s3, "InvalidBucketName", s3.create_bucket, Bucket="Not_Valid")


@check("boto3: list_objects_v2 paginated with a delimiter")
def _():
    for i in range(7):
        s3.put_object(Bucket=BUCKET, Key=f"pages/{i:02d}.txt", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="pages/sub/x.txt", Body=b"x")
    keys, prefixes = [], []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="pages/", Delimiter="/",
                                                            PaginationConfig={"PageSize": 3}):
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    expect(keys == [f"pages/{i:02d}.txt" for i in range(7)], keys)
    expect(prefixes == ["pages/sub/"], prefixes)
    v1 = [o["Key"] for page in s3.get_paginator("list_objects").paginate(Bucket=BUCKET, Prefix="pages/",
                                                                          PaginationConfig={"PageSize": 2})
          for o in page.get("Contents", [])]
    expect(v1 == keys + ["pages/sub/x.txt"], v1)


@check("boto3: copy_object and delete_objects")
def _():
    s3.copy_object(Bucket=BUCKET, Key="meta/copy.txt", CopySource={"Bucket": BUCKET, "Key": "meta/doc.txt"})
    head = s3.head_object(Bucket=BUCKET, Key="meta/copy.txt")
    expect(head["Metadata"] == {"team": "data"} and head["ContentType"] == "text/plain", head)
    res = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "meta/copy.txt"}, {"Key": "meta/doc.txt"}]})
    expect(len(res["Deleted"]) == 2 and not res.get("Errors"), res)
    expect(s3.list_objects_v2(Bucket=BUCKET, Prefix="meta/")["KeyCount"] == 0, "meta/ is not empty")


@check("boto3: upload_fileobj and download_fileobj in parts (TransferConfig)")
def _():
    path = os.path.join(tmp, "mid.bin")
    random_file(path, 12 << 20, 3)
    cfg = boto3.s3.transfer.TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)
    s3.upload_file(path, BUCKET, "mid.bin", Config=cfg)
    expect(s3.head_object(Bucket=BUCKET, Key="mid.bin")["ETag"] == multipart_etag(path, 5 << 20), "multipart ETag")
    back = os.path.join(tmp, "mid.back")
    s3.download_file(BUCKET, "mid.bin", back, Config=cfg)
    expect(filecmp.cmp(path, back, shallow=False), "the downloaded file differs")


@check("boto3: multipart upload by hand: list_parts, EntityTooSmall, abort")
def _():
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="parts.bin")["UploadId"]
    etags = [s3.upload_part(Bucket=BUCKET, Key="parts.bin", UploadId=up, PartNumber=n, Body=b"tiny")["ETag"]
             for n in (1, 2)]
    parts = s3.list_parts(Bucket=BUCKET, Key="parts.bin", UploadId=up)["Parts"]
    expect([p["PartNumber"] for p in parts] == [1, 2] and parts[0]["Size"] == 4, parts)
    expect_client_error(s3, "EntityTooSmall", s3.complete_multipart_upload, Bucket=BUCKET, Key="parts.bin",
                        UploadId=up, MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                                                for n, e in zip((1, 2), etags)]})
    s3.abort_multipart_upload(Bucket=BUCKET, Key="parts.bin", UploadId=up)
    expect_client_error(s3, "NoSuchUpload", s3.list_parts, Bucket=BUCKET, Key="parts.bin", UploadId=up)


@check("boto3: put/get_bucket_notification_configuration with EventBridge")
def _():
    s3.put_bucket_notification_configuration(Bucket=BUCKET,
                                             NotificationConfiguration={"EventBridgeConfiguration": {}})
    got = s3.get_bucket_notification_configuration(Bucket=BUCKET)
    expect("EventBridgeConfiguration" in got, got)


@check("a file dropped into the bucket's folder is an object")
def _():
    if not S3_DIR:
        print("  (skipped: STEPLINE_S3_DIR is not set)")
        return
    folder = os.path.join(S3_DIR, BUCKET, "dropped", "2026")
    os.makedirs(folder, exist_ok=True)
    body = b"id,name\n1,ada\n"
    with open(os.path.join(folder, "rows.csv"), "wb") as f:
        f.write(body)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="dropped/")["Contents"]
    expect([o["Key"] for o in listed] == ["dropped/2026/rows.csv"], listed)
    expect(listed[0]["ETag"] == '"%s"' % hashlib.md5(body).hexdigest(), listed[0])
    got = s3.get_object(Bucket=BUCKET, Key="dropped/2026/rows.csv")
    expect(got["Body"].read() == body and got["ContentType"] == "text/csv", got["ContentType"])


@check("--auth: signed requests pass, a wrong secret is SignatureDoesNotMatch")
def _():
    if not AUTH_ENDPOINT:
        print("  (skipped: STEPLINE_AUTH_ENDPOINT is not set)")
        return
    good = boto3.client("s3", endpoint_url=AUTH_ENDPOINT, config=CONFIG)
    good.create_bucket(Bucket="e2e-s3-auth")
    good.put_object(Bucket="e2e-s3-auth", Key="k", Body=b"signed")
    expect(good.get_object(Bucket="e2e-s3-auth", Key="k")["Body"].read() == b"signed", "signed round trip")
    bad = boto3.client("s3", endpoint_url=AUTH_ENDPOINT, config=CONFIG, aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key="wrong")
    expect_client_error(bad, "SignatureDoesNotMatch", bad.get_object, Bucket="e2e-s3-auth", Key="k")
    aws("s3", "rb", "--force", "s3://e2e-s3-auth", endpoint=AUTH_ENDPOINT)


@check("cli: s3 rm --recursive and s3 rb")
def _():
    aws("s3", "rm", "--recursive", f"s3://{BUCKET}")
    expect(s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0, "objects remain")
    aws("s3", "rb", f"s3://{BUCKET}")
    expect(BUCKET not in aws("s3", "ls").split(), "the bucket remains")


shutil.rmtree(tmp, ignore_errors=True)
finish()
