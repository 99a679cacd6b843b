"""boto3 and the AWS CLI against Stepline's S3 with bucket "bound" bound to a moto_server
(named "remote-bucket" there), checking what moto holds by asking it directly.

internal/s3's TestBoundBucketPython runs it with STEPLINE_ENDPOINT, MOTO_ENDPOINT and
REMOTE_REGION set. It raises at the first failure.
"""

import filecmp
import hashlib
import os
import random
import subprocess
import tempfile

import boto3
import boto3.s3.transfer
import botocore.config
import botocore.exceptions

CONFIG = botocore.config.Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
s3 = boto3.client("s3", endpoint_url=os.environ["STEPLINE_ENDPOINT"], config=CONFIG)
moto = boto3.client("s3", endpoint_url=os.environ["MOTO_ENDPOINT"], region_name=os.environ["REMOTE_REGION"], config=CONFIG)
tmp = tempfile.mkdtemp()


def step(name):
    print("ok", name, flush=True)


s3.create_bucket(Bucket="bound")
assert "bound" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
moto.head_bucket(Bucket="remote-bucket")
step("create_bucket reaches moto")

s3.put_object(Bucket="bound", Key="a/b.txt", Body=b"0123456789", ContentType="text/plain", Metadata={"k": "v"})
got = moto.get_object(Bucket="remote-bucket", Key="a/b.txt")
assert got["Body"].read() == b"0123456789" and got["Metadata"] == {"k": "v"}, got
head = s3.head_object(Bucket="bound", Key="a/b.txt")
assert head["ContentLength"] == 10 and head["ETag"] == '"%s"' % hashlib.md5(b"0123456789").hexdigest(), head
part = s3.get_object(Bucket="bound", Key="a/b.txt", Range="bytes=3-5")
assert part["Body"].read() == b"345" and part["ContentRange"] == "bytes 3-5/10", part
step("put_object, head_object, ranged get_object")

for i in range(7):
    s3.put_object(Bucket="bound", Key=f"p/{i}", Body=b"x")
pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket="bound", Prefix="p/", PaginationConfig={"PageSize": 3}))
assert [len(p.get("Contents", [])) for p in pages] == [3, 3, 1], pages
top = s3.list_objects_v2(Bucket="bound", Delimiter="/")
assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "p/"] and top["Name"] == "bound", top
step("list_objects_v2 paging and delimiter")

s3.copy_object(Bucket="bound", Key="c.txt", CopySource={"Bucket": "bound", "Key": "a/b.txt"})
assert moto.get_object(Bucket="remote-bucket", Key="c.txt")["Body"].read() == b"0123456789"
s3.delete_object(Bucket="bound", Key="c.txt")
try:
    moto.head_object(Bucket="remote-bucket", Key="c.txt")
    raise AssertionError("c.txt is still in moto")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "404", e.response
step("copy_object, delete_object")

try:
    s3.get_object(Bucket="bound", Key="nope")
    raise AssertionError("no error for a missing key")
except s3.exceptions.NoSuchKey as e:
    assert e.response["Error"]["Code"] == "NoSuchKey", e.response
step("NoSuchKey passed through")

# 20 MB through boto3's managed transfer: a multipart upload of 8 MB parts, ranged downloads.
src = os.path.join(tmp, "big.bin")
rng = random.Random(11)
with open(src, "wb") as f:
    f.write(rng.randbytes(20 << 20))
cfg = boto3.s3.transfer.TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20)
s3.upload_file(src, "bound", "big/boto3.bin", Config=cfg)
etag = moto.head_object(Bucket="remote-bucket", Key="big/boto3.bin")["ETag"]
assert etag.endswith('-3"'), etag
back = os.path.join(tmp, "back.bin")
s3.download_file("bound", "big/boto3.bin", back, Config=cfg)
assert filecmp.cmp(src, back, shallow=False)
direct = os.path.join(tmp, "direct.bin")
moto.download_file("remote-bucket", "big/boto3.bin", direct)
assert filecmp.cmp(src, direct, shallow=False)
step("upload_file 20 MB in parts, byte for byte in moto and back")


def aws(*args):
    out = subprocess.run(["aws", "--endpoint-url", os.environ["STEPLINE_ENDPOINT"], *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"aws {' '.join(args)}: {out.stderr}"
    return out.stdout


aws("s3", "cp", src, "s3://bound/cli/big.bin")
moto.download_file("remote-bucket", "cli/big.bin", direct)
assert filecmp.cmp(src, direct, shallow=False)
assert "big.bin" in aws("s3", "ls", "s3://bound/cli/")
aws("s3", "cp", "s3://bound/cli/big.bin", back)
assert filecmp.cmp(src, back, shallow=False)
aws("s3", "rm", "s3://bound/cli/big.bin")
step("aws s3 cp both ways, ls, rm")
print("all passed")
