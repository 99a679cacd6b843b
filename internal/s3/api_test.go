package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/stepline/stepline/internal/clock"
	s3svc "github.com/stepline/stepline/internal/s3"
)

// fixture is a served S3 over a fresh data folder, and an SDK client for it.
type fixture struct {
	dir    string
	url    string
	client *s3.Client
}

func newFixture(t testing.TB, region string) *fixture {
	t.Helper()
	dir := t.TempDir()
	svc, err := s3svc.New(s3svc.Options{Dir: dir, Clock: clock.Real{}, Region: region})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(svc)
	t.Cleanup(func() {
		hs.Close()
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
	})
	client := s3.New(s3.Options{
		Region:           region,
		BaseEndpoint:     aws.String(hs.URL),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 1,
	})
	return &fixture{dir: dir, url: hs.URL, client: client}
}

// code is the S3 error code of err ("" for none).
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "not an API error: " + err.Error()
	}
	return ""
}

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func (f *fixture) put(t *testing.T, bucket, key string, body []byte) *s3.PutObjectOutput {
	t.Helper()
	out, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

func (f *fixture) get(t *testing.T, bucket, key string) []byte {
	t.Helper()
	out, err := f.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) bucket(t *testing.T, name string) {
	t.Helper()
	if _, err := f.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

func TestBuckets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "eu-west-1")
	f.bucket(t, "alpha")
	f.bucket(t, "beta.data")
	if info, err := os.Stat(filepath.Join(f.dir, "s3", "alpha")); err != nil || !info.IsDir() {
		t.Fatalf("the bucket is not a folder: %v", err)
	}
	for _, tc := range []struct {
		name, bucket, want string
	}{
		{"again", "alpha", "BucketAlreadyOwnedByYou"},
		{"upper case", "Alpha", "InvalidBucketName"},
		{"too short", "ab", "InvalidBucketName"},
		{"an address", "192.168.1.1", "InvalidBucketName"},
		{"dots", "a..b", "InvalidBucketName"},
		{"dotted start", ".meta", "InvalidBucketName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(tc.bucket)})
			if got := code(err); got != tc.want {
				t.Fatalf("CreateBucket(%q) = %q, want %q", tc.bucket, got, tc.want)
			}
		})
	}
	list, err := f.client.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range list.Buckets {
		names = append(names, *b.Name)
		if b.CreationDate == nil || b.CreationDate.IsZero() {
			t.Errorf("bucket %s has no creation date", *b.Name)
		}
	}
	if !slices.Equal(names, []string{"alpha", "beta.data"}) {
		t.Fatalf("ListBuckets = %v", names)
	}
	if _, err := f.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("missing")}); code(err) != "NotFound" {
		t.Fatalf("HeadBucket of a missing bucket: %v", err)
	}
	loc, err := f.client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("alpha")})
	if err != nil || loc.LocationConstraint != "eu-west-1" {
		t.Fatalf("GetBucketLocation = %v, %v", loc, err)
	}
	f.put(t, "alpha", "deep/down/file.txt", []byte("x"))
	if _, err := f.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("alpha")}); code(err) != "BucketNotEmpty" {
		t.Fatalf("DeleteBucket of a full bucket: %v", err)
	}
	if _, err := f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("deep/down/file.txt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "s3", "alpha", "deep")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the emptied folders remain: %v", err)
	}
	if _, err := f.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("alpha")}); code(err) != "NoSuchBucket" {
		t.Fatalf("DeleteBucket twice: %v", err)
	}
	if _, err := f.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("alpha")}); code(err) != "NoSuchBucket" {
		t.Fatalf("listing a deleted bucket: %v", err)
	}
}

// us-east-1 answers its owner's second CreateBucket with success, as S3 does there.
func TestCreateBucketTwiceInUSEast1(t *testing.T) {
	f := newFixture(t, "us-east-1")
	f.bucket(t, "alpha")
	f.bucket(t, "alpha")
}

func TestObjects(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "us-east-1")
	f.bucket(t, "bkt1")
	body := []byte("hello, world\n")
	out, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt1"), Key: aws.String("dir/hello.txt"),
		Body: bytes.NewReader(body), ContentType: aws.String("text/plain"), Metadata: map[string]string{"Owner": "ada"},
		CacheControl: aws.String("max-age=60")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"` + md5hex(body) + `"`; *out.ETag != want {
		t.Fatalf("ETag %s, want %s", *out.ETag, want)
	}
	if b, err := os.ReadFile(filepath.Join(f.dir, "s3", "bkt1", "dir", "hello.txt")); err != nil || !bytes.Equal(b, body) {
		t.Fatalf("the object's file holds %q, %v", b, err)
	}
	head, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt1"), Key: aws.String("dir/hello.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if *head.ContentType != "text/plain" || *head.ContentLength != int64(len(body)) || head.Metadata["owner"] != "ada" ||
		*head.CacheControl != "max-age=60" || *head.ETag != *out.ETag || head.LastModified == nil {
		t.Fatalf("HeadObject = type %s length %d meta %v cache %v etag %s", *head.ContentType, *head.ContentLength,
			head.Metadata, head.CacheControl, *head.ETag)
	}
	if got := f.get(t, "bkt1", "dir/hello.txt"); !bytes.Equal(got, body) {
		t.Fatalf("GetObject = %q", got)
	}
	for _, tc := range []struct {
		name   string
		bucket string
		key    string
		want   string
	}{
		{"missing key", "bkt1", "nope", "NoSuchKey"},
		{"below an object", "bkt1", "dir/hello.txt/x", "NoSuchKey"},
		{"a folder", "bkt1", "dir", "NoSuchKey"},
		{"missing bucket", "nobucket", "k", "NoSuchBucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &tc.bucket, Key: &tc.key})
			if got := code(err); got != tc.want {
				t.Fatalf("GetObject = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt1"), Key: aws.String("nope")}); code(err) != "NotFound" {
		t.Fatalf("HeadObject of a missing key: %v", err)
	}
	// Deleting a missing key succeeds, as on S3.
	if _, err := f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt1"), Key: aws.String("nope")}); err != nil {
		t.Fatal(err)
	}
}

func TestRange(t *testing.T) {
	f := newFixture(t, "us-east-1")
	f.bucket(t, "ranges")
	body := []byte("0123456789")
	f.put(t, "ranges", "digits", body)
	for _, tc := range []struct {
		rng, want, contentRange, err string
	}{
		{"bytes=0-3", "0123", "bytes 0-3/10", ""},
		{"bytes=7-", "789", "bytes 7-9/10", ""},
		{"bytes=-2", "89", "bytes 8-9/10", ""},
		{"bytes=5-100", "56789", "bytes 5-9/10", ""},
		{"bytes=-100", "0123456789", "bytes 0-9/10", ""},
		{"bytes=10-", "", "", "InvalidRange"},
		{"bytes=4-2", "0123456789", "", ""},     // unreadable: the whole object
		{"bytes=0-1,4-5", "0123456789", "", ""}, // several ranges: the whole object
		{"lines=1-2", "0123456789", "", ""},
	} {
		t.Run(tc.rng, func(t *testing.T) {
			out, err := f.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("ranges"), Key: aws.String("digits"), Range: &tc.rng})
			if tc.err != "" {
				if code(err) != tc.err {
					t.Fatalf("err %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer out.Body.Close()
			got, _ := io.ReadAll(out.Body)
			if string(got) != tc.want || aws.ToString(out.ContentRange) != tc.contentRange {
				t.Fatalf("got %q (%s), want %q (%s)", got, aws.ToString(out.ContentRange), tc.want, tc.contentRange)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	f := newFixture(t, "us-east-1")
	f.bucket(t, "conds")
	etag := *f.put(t, "conds", "k", []byte("v1")).ETag
	later := time.Now().Add(time.Hour)
	earlier := time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name   string
		in     s3.GetObjectInput
		status int
	}{
		{"if-match", s3.GetObjectInput{IfMatch: &etag}, 200},
		{"if-match fails", s3.GetObjectInput{IfMatch: aws.String(`"abc"`)}, 412},
		{"if-none-match", s3.GetObjectInput{IfNoneMatch: &etag}, 304},
		{"if-none-match other", s3.GetObjectInput{IfNoneMatch: aws.String(`"abc"`)}, 200},
		{"if-modified-since later", s3.GetObjectInput{IfModifiedSince: &later}, 304},
		{"if-modified-since earlier", s3.GetObjectInput{IfModifiedSince: &earlier}, 200},
		{"if-unmodified-since earlier", s3.GetObjectInput{IfUnmodifiedSince: &earlier}, 412},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Bucket, in.Key = aws.String("conds"), aws.String("k")
			out, err := f.client.GetObject(context.Background(), &in)
			status := 200
			var re interface{ HTTPStatusCode() int }
			if errors.As(err, &re) {
				status = re.HTTPStatusCode()
			} else if err != nil {
				t.Fatal(err)
			} else {
				out.Body.Close()
			}
			if status != tc.status {
				t.Fatalf("status %d, want %d (%v)", status, tc.status, err)
			}
		})
	}
	// A conditional write fails on an existing key.
	_, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("conds"), Key: aws.String("k"),
		Body: strings.NewReader("v2"), IfNoneMatch: aws.String("*")})
	if code(err) != "PreconditionFailed" {
		t.Fatalf("PutObject If-None-Match * on an existing key: %v", err)
	}
}

// keys are a bucket's keys for the listing tests: nested folders, names that sort around '/'
// ("a-b" comes before "a/…" in S3's order), and spaces and '+', which encoding-type=url changes.
var keys = []string{
	"a-b", "a/1", "a/2/x", "a/2/y", "a/3", "a0", "b", "c/d/e/f", "c/d/g", "dir with space/f+g.txt", "z",
}

func TestListObjectsV2(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "us-east-1")
	f.bucket(t, "listing")
	for _, k := range keys {
		f.put(t, "listing", k, []byte(k))
	}
	// An empty folder is not a prefix of any key, and does not show.
	if err := os.MkdirAll(filepath.Join(f.dir, "s3", "listing", "empty", "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, prefix, delim, startAfter string
		keys, prefixes                  []string
	}{
		{"all", "", "", "", keys, nil},
		{"top level", "", "/", "", []string{"a-b", "a0", "b", "z"}, []string{"a/", "c/", "dir with space/"}},
		{"in a", "a/", "/", "", []string{"a/1", "a/3"}, []string{"a/2/"}},
		{"partial segment", "a/2", "/", "", nil, []string{"a/2/"}},
		{"prefix no delimiter", "c/d/", "", "", []string{"c/d/e/f", "c/d/g"}, nil},
		{"start after", "", "", "a/2/x", []string{"a/2/y", "a/3", "a0", "b", "c/d/e/f", "c/d/g", "dir with space/f+g.txt", "z"}, nil},
		{"start after with delimiter", "", "/", "a0", []string{"b", "z"}, []string{"c/", "dir with space/"}},
		{"other delimiter", "", "-", "", []string{"a/1", "a/2/x", "a/2/y", "a/3", "a0", "b", "c/d/e/f", "c/d/g", "dir with space/f+g.txt", "z"}, []string{"a-"}},
		{"no match", "q", "/", "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Page by one and by three: the pages must join to the whole listing.
			for _, pageSize := range []int32{1, 3, 1000} {
				var gotKeys, gotPrefixes []string
				in := &s3.ListObjectsV2Input{Bucket: aws.String("listing"), Prefix: &tc.prefix, Delimiter: &tc.delim,
					StartAfter: &tc.startAfter, MaxKeys: aws.Int32(pageSize)}
				for p := s3.NewListObjectsV2Paginator(f.client, in); p.HasMorePages(); {
					page, err := p.NextPage(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if n := len(page.Contents) + len(page.CommonPrefixes); int32(n) != aws.ToInt32(page.KeyCount) || int32(n) > pageSize {
						t.Fatalf("page of %d entries says KeyCount %d (max %d)", n, aws.ToInt32(page.KeyCount), pageSize)
					}
					for _, o := range page.Contents {
						gotKeys = append(gotKeys, *o.Key)
						if *o.ETag != `"`+md5hex([]byte(*o.Key))+`"` || *o.Size != int64(len(*o.Key)) {
							t.Fatalf("%s: etag %s size %d", *o.Key, *o.ETag, *o.Size)
						}
					}
					for _, cp := range page.CommonPrefixes {
						gotPrefixes = append(gotPrefixes, *cp.Prefix)
					}
				}
				if !slices.Equal(gotKeys, tc.keys) || !slices.Equal(gotPrefixes, tc.prefixes) {
					t.Fatalf("pages of %d: keys %q prefixes %q, want %q %q", pageSize, gotKeys, gotPrefixes, tc.keys, tc.prefixes)
				}
			}
		})
	}
	// ListObjects (v1) with markers, as older clients page.
	var got []string
	marker := ""
	for {
		out, err := f.client.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("listing"), Marker: &marker, MaxKeys: aws.Int32(4)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			got = append(got, *o.Key)
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		marker = aws.ToString(out.NextMarker)
	}
	if !slices.Equal(got, keys) {
		t.Fatalf("ListObjects = %q", got)
	}
}

// A file written into a bucket's folder by another program is an object.
func TestDroppedFile(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "us-east-1")
	f.bucket(t, "drop")
	body := []byte(`{"id": 1}` + "\n")
	path := filepath.Join(f.dir, "s3", "drop", "raw", "2026", "rows.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	list, err := f.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("drop")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 1 || *list.Contents[0].Key != "raw/2026/rows.json" || *list.Contents[0].ETag != `"`+md5hex(body)+`"` {
		t.Fatalf("listing = %+v", list.Contents)
	}
	out, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("drop"), Key: aws.String("raw/2026/rows.json")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, body) || *out.ContentType != "application/json" {
		t.Fatalf("GetObject = %q (%s)", got, *out.ContentType)
	}
	// Replaced by hand: the new bytes get their own ETag, not the cached one.
	body2 := []byte("changed, and longer than before\n")
	if err := os.WriteFile(path, body2, 0o644); err != nil {
		t.Fatal(err)
	}
	head, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("drop"), Key: aws.String("raw/2026/rows.json")})
	if err != nil || *head.ETag != `"`+md5hex(body2)+`"` {
		t.Fatalf("HeadObject after a change: %v %v", head, err)
	}
	// A folder made by hand in DIR/s3 is a bucket.
	if err := os.Mkdir(filepath.Join(f.dir, "s3", "handmade"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("handmade")}); err != nil {
		t.Fatal(err)
	}
}

func TestCopyObject(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "us-east-1")
	f.bucket(t, "src")
	f.bucket(t, "dst")
	_, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("a b/orig.csv"),
		Body: strings.NewReader("x,y\n1,2\n"), ContentType: aws.String("text/csv"), Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	// The copy source is URL-encoded, as the SDK sends it.
	if _, err := f.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy.csv"),
		CopySource: aws.String("src/a%20b/orig.csv")}); err != nil {
		t.Fatal(err)
	}
	head, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy.csv")})
	if err != nil || *head.ContentType != "text/csv" || head.Metadata["k"] != "v" {
		t.Fatalf("copied with COPY: %+v, %v", head, err)
	}
	if _, err := f.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy.csv"),
		CopySource: aws.String("dst/copy.csv")}); code(err) != "InvalidRequest" {
		t.Fatalf("copy to itself: %v", err)
	}
	if _, err := f.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy.csv"),
		CopySource: aws.String("dst/copy.csv"), MetadataDirective: types.MetadataDirectiveReplace,
		ContentType: aws.String("text/plain")}); err != nil {
		t.Fatal(err)
	}
	head, err = f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy.csv")})
	if err != nil || *head.ContentType != "text/plain" || len(head.Metadata) != 0 {
		t.Fatalf("copied with REPLACE: %+v, %v", head, err)
	}
	if got := f.get(t, "dst", "copy.csv"); string(got) != "x,y\n1,2\n" {
		t.Fatalf("copy holds %q", got)
	}
	if _, err := f.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("x"),
		CopySource: aws.String("src/missing")}); code(err) != "NoSuchKey" {
		t.Fatalf("copy of a missing key: %v", err)
	}
}

func TestDeleteObjects(t *testing.T) {
	f := newFixture(t, "us-east-1")
	f.bucket(t, "dels")
	for _, k := range []string{"x/1", "x/2", "y"} {
		f.put(t, "dels", k, []byte(k))
	}
	out, err := f.client.DeleteObjects(context.Background(), &s3.DeleteObjectsInput{Bucket: aws.String("dels"), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("x/1")}, {Key: aws.String("x/2")}, {Key: aws.String("missing")}, {Key: aws.String("../escape")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 3 || len(out.Errors) != 1 || *out.Errors[0].Code != "InvalidArgument" {
		t.Fatalf("DeleteObjects = deleted %d, errors %+v", len(out.Deleted), out.Errors)
	}
	entries, _ := os.ReadDir(filepath.Join(f.dir, "s3", "dels"))
	if len(entries) != 1 || entries[0].Name() != "y" {
		t.Fatalf("left in the bucket: %v", entries)
	}
}

// Keys that cannot be files are refused, and a key never reaches outside its bucket.
func TestKeysRefused(t *testing.T) {
	f := newFixture(t, "us-east-1")
	f.bucket(t, "keys")
	f.put(t, "keys", "file", []byte("x"))
	f.put(t, "keys", "folder/inside", []byte("x"))
	for _, key := range []string{"a//b", "a/./b", "a/../../b", "dir/", "file/below", "folder"} {
		t.Run(key, func(t *testing.T) {
			_, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("keys"), Key: &key, Body: strings.NewReader("x")})
			if code(err) != "InvalidArgument" {
				t.Fatalf("PutObject(%q) = %v", key, err)
			}
		})
	}
	// Raw requests, as no SDK would send them.
	for _, path := range []string{"/keys/..%2F..%2Fescape", "/keys/%2e%2e/x", "/../keys/x", "/keys/a%00b", "/keys/not-utf8-%ff"} {
		req, _ := http.NewRequest(http.MethodPut, f.url+path, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT %s: %d", path, resp.StatusCode)
		}
	}
	entries, _ := os.ReadDir(f.dir)
	if len(entries) != 1 || entries[0].Name() != "s3" {
		t.Fatalf("the data folder holds %v", entries)
	}
}

func TestNotification(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "us-east-1")
	f.bucket(t, "notes")
	got, err := f.client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("notes")})
	if err != nil || got.EventBridgeConfiguration != nil {
		t.Fatalf("a new bucket's notifications: %+v, %v", got, err)
	}
	if _, err := f.client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("notes"),
		NotificationConfiguration: &types.NotificationConfiguration{EventBridgeConfiguration: &types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	got, err = f.client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("notes")})
	if err != nil || got.EventBridgeConfiguration == nil {
		t.Fatalf("after PutBucketNotificationConfiguration: %+v, %v", got, err)
	}
	b, err := os.ReadFile(filepath.Join(f.dir, "s3", ".meta", "notes", "bucket.json"))
	if err != nil || !strings.Contains(string(b), `"eventBridge":true`) {
		t.Fatalf("bucket.json = %s, %v", b, err)
	}
	if _, err := f.client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("none")}); code(err) != "NoSuchBucket" {
		t.Fatalf("notifications of a missing bucket: %v", err)
	}
}

func TestNotImplemented(t *testing.T) {
	f := newFixture(t, "us-east-1")
	f.bucket(t, "nimpl")
	_, err := f.client.GetBucketVersioning(context.Background(), &s3.GetBucketVersioningInput{Bucket: aws.String("nimpl")})
	if code(err) != "NotImplemented" {
		t.Fatalf("GetBucketVersioning: %v", err)
	}
	_, err = f.client.GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: aws.String("nimpl"), Key: aws.String("k")})
	if code(err) != "NotImplemented" {
		t.Fatalf("GetObjectTagging: %v", err)
	}
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func TestMultipart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "us-east-1")
	f.bucket(t, "multi")
	bucket, key := aws.String("multi"), aws.String("big/file.bin")
	created, err := f.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: key,
		ContentType: aws.String("application/x-test"), Metadata: map[string]string{"m": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.UploadId
	parts := [][]byte{randomBytes(s3svc.MinPartSize, 1), randomBytes(s3svc.MinPartSize+3, 2), randomBytes(1000, 3)}
	var completed []types.CompletedPart
	var partSums []byte
	for i, p := range parts {
		out, err := f.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: key, UploadId: id,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		if *out.ETag != `"`+md5hex(p)+`"` {
			t.Fatalf("part %d ETag %s", i+1, *out.ETag)
		}
		sum := md5.Sum(p)
		partSums = append(partSums, sum[:]...)
		completed = append(completed, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag})
	}
	lp, err := f.client.ListParts(ctx, &s3.ListPartsInput{Bucket: bucket, Key: key, UploadId: id})
	if err != nil || len(lp.Parts) != 3 || *lp.Parts[1].Size != int64(len(parts[1])) {
		t.Fatalf("ListParts = %+v, %v", lp, err)
	}
	ups, err := f.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: bucket})
	if err != nil || len(ups.Uploads) != 1 || *ups.Uploads[0].UploadId != *id {
		t.Fatalf("ListMultipartUploads = %+v, %v", ups, err)
	}
	for _, tc := range []struct {
		name  string
		parts []types.CompletedPart
		want  string
	}{
		{"wrong etag", []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(`"00"`)}}, "InvalidPart"},
		{"missing part", []types.CompletedPart{{PartNumber: aws.Int32(9), ETag: completed[0].ETag}}, "InvalidPart"},
		{"out of order", []types.CompletedPart{completed[1], completed[0]}, "InvalidPartOrder"},
		{"small part first", []types.CompletedPart{completed[0], completed[2], {PartNumber: aws.Int32(4), ETag: completed[2].ETag}}, "InvalidPart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bucket, Key: key, UploadId: id,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: tc.parts}})
			if code(err) != tc.want {
				t.Fatalf("CompleteMultipartUpload = %v, want %s", err, tc.want)
			}
		})
	}
	done, err := f.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bucket, Key: key, UploadId: id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(partSums)
	want := fmt.Sprintf(`"%s-3"`, hex.EncodeToString(sum[:]))
	if *done.ETag != want {
		t.Fatalf("multipart ETag %s, want %s", *done.ETag, want)
	}
	whole := bytes.Join(parts, nil)
	if got := f.get(t, "multi", "big/file.bin"); !bytes.Equal(got, whole) {
		t.Fatalf("the object is %d bytes, not the %d uploaded", len(got), len(whole))
	}
	head, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: key})
	if err != nil || *head.ETag != want || *head.ContentType != "application/x-test" || head.Metadata["m"] != "1" {
		t.Fatalf("HeadObject = %+v, %v", head, err)
	}
	// GetObject by part number: the part's bytes, and the number of parts.
	part2, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: key, PartNumber: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	got2, _ := io.ReadAll(part2.Body)
	part2.Body.Close()
	if !bytes.Equal(got2, parts[1]) || aws.ToInt32(part2.PartsCount) != 3 {
		t.Fatalf("part 2: %d bytes, PartsCount %d", len(got2), aws.ToInt32(part2.PartsCount))
	}
	if _, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: key, PartNumber: aws.Int32(4)}); code(err) != "InvalidPartNumber" {
		t.Fatalf("part 4 of 3: %v", err)
	}
	if _, err := f.client.ListParts(ctx, &s3.ListPartsInput{Bucket: bucket, Key: key, UploadId: id}); code(err) != "NoSuchUpload" {
		t.Fatalf("ListParts after completion: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(f.dir, "s3", ".uploads"))
	if len(entries) != 0 {
		t.Fatalf("uploads left: %v", entries)
	}

	// A part smaller than 5 MiB but the last is refused; an aborted upload is gone.
	small, err := f.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: aws.String("small")})
	if err != nil {
		t.Fatal(err)
	}
	var smallParts []types.CompletedPart
	for i := range 2 {
		out, err := f.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: aws.String("small"), UploadId: small.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: strings.NewReader("tiny")})
		if err != nil {
			t.Fatal(err)
		}
		smallParts = append(smallParts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag})
	}
	_, err = f.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bucket, Key: aws.String("small"),
		UploadId: small.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: smallParts}})
	if code(err) != "EntityTooSmall" {
		t.Fatalf("parts too small: %v", err)
	}
	if _, err := f.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bucket, Key: aws.String("small"), UploadId: small.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: aws.String("small"), UploadId: small.UploadId,
		PartNumber: aws.Int32(3), Body: strings.NewReader("late")})
	if code(err) != "NoSuchUpload" {
		t.Fatalf("UploadPart after abort: %v", err)
	}
	if _, err := f.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bucket, Key: aws.String("x"), UploadId: aws.String("../../etc")}); code(err) != "NoSuchUpload" {
		t.Fatalf("a forged upload id: %v", err)
	}
}

// UploadPartCopy, which the CLI uses to copy large objects between buckets.
func TestUploadPartCopy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "us-east-1")
	f.bucket(t, "pcopy")
	src := randomBytes(s3svc.MinPartSize+100, 7)
	f.put(t, "pcopy", "src", src)
	up, err := f.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("pcopy"), Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, rng := range []string{fmt.Sprintf("bytes=0-%d", s3svc.MinPartSize-1), fmt.Sprintf("bytes=%d-%d", s3svc.MinPartSize, len(src)-1)} {
		out, err := f.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("pcopy"), Key: aws.String("dst"),
			UploadId: up.UploadId, PartNumber: aws.Int32(int32(i + 1)), CopySource: aws.String("pcopy/src"), CopySourceRange: &rng})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.CopyPartResult.ETag})
	}
	if _, err := f.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("pcopy"), Key: aws.String("dst"),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, "pcopy", "dst"); !bytes.Equal(got, src) {
		t.Fatal("the copied object differs from its source")
	}
}

func TestPutRefused(t *testing.T) {
	f := newFixture(t, "us-east-1")
	f.bucket(t, "refuse")
	for _, tc := range []struct {
		name, path string
		header     map[string]string
		want       string
	}{
		{"bad digest", "/refuse/k", map[string]string{"Content-Md5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, "BadDigest"},
		{"invalid digest", "/refuse/k", map[string]string{"Content-Md5": "nope"}, "InvalidDigest"},
		{"no bucket", "/nobucket/k", nil, "NoSuchBucket"},
		{"key too long", "/refuse/" + strings.Repeat("k", 1025), nil, "KeyTooLongError"},
		{"a part without upload", "/refuse/k?partNumber=1&uploadId=00000000000000000000000000000000", nil, "NoSuchUpload"},
		{"part number zero", "/refuse/k?partNumber=0&uploadId=00000000000000000000000000000000", nil, "InvalidArgument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, f.url+tc.path, strings.NewReader("body"))
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(b), "<Code>"+tc.want+"</Code>") || resp.Header.Get("X-Amz-Request-Id") == "" {
				t.Fatalf("%d %s, want %s", resp.StatusCode, b, tc.want)
			}
		})
	}
}

// encoding-type=url, which the AWS CLI asks for, encodes keys and prefixes; max-keys=0 is an
// empty page that is not truncated.
func TestListEncodingAndEmptyPage(t *testing.T) {
	f := newFixture(t, "us-east-1")
	f.bucket(t, "enc")
	f.put(t, "enc", "a b/c+d.txt", []byte("x"))
	for _, tc := range []struct{ query, want string }{
		{"list-type=2&encoding-type=url", "<Key>a%20b%2Fc%2Bd.txt</Key>"},
		{"list-type=2&encoding-type=url&delimiter=/", "<Prefix>a%20b%2F</Prefix>"},
		{"list-type=2&max-keys=0", "<KeyCount>0</KeyCount><MaxKeys>0</MaxKeys><IsTruncated>false</IsTruncated>"},
	} {
		resp, err := http.Get(f.url + "/enc?" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("?%s: %s, want %s", tc.query, b, tc.want)
		}
	}
}

// TestLegacyBucketNames: a name of S3's old rules (capitals) cannot be created, and reading
// from it answers NoSuchBucket, as AWS does (the corpus's aws_sdk__no_such_bucket).
func TestLegacyBucketNames(t *testing.T) {
	f := newFixture(t, "us-east-1")
	ctx := context.Background()
	_, err := f.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Some_Bucket")})
	if code(err) != "InvalidBucketName" {
		t.Errorf("CreateBucket(Some_Bucket) = %v, want InvalidBucketName", err)
	}
	_, err = f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("someNonexistentBucketName"), Key: aws.String("k")})
	if code(err) != "NoSuchBucket" {
		t.Errorf("GetObject from someNonexistentBucketName = %v, want NoSuchBucket", err)
	}
}
