package task

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

// maxS3Body bounds the object a getObject task reads: a task's result is at most
// interp.MaxPayload, so a larger body could never be recorded; one byte more tells the two
// apart.
const maxS3Body = interp.MaxPayload + 1

// sdkS3 runs arn:aws:states:::aws-sdk:s3:ACTION: the S3 API called in-process through its
// http.Handler as the AWS SDK integration calls it, Parameters and results with the API's
// members in PascalCase, refusals as S3.<Code>Exception with the Java SDK's cause.
func (r *Runner) sdkS3(ctx context.Context, t *engine.Task, action string) (string, error) {
	if r.o.S3 == nil {
		return "", &engine.TaskError{Name: "States.TaskFailed", Cause: "S3 is not available to this runner: cannot run " + t.Resource}
	}
	o, err := parameterObject(t.Parameters, "aws-sdk:s3:"+action)
	if err != nil {
		return "", err
	}
	str := func(name string, required bool) (string, error) {
		var s string
		err := stringField(o, name, &s, required)
		return s, err
	}
	bucket, err := str("Bucket", action != "listBuckets")
	if err != nil {
		return "", err
	}
	var key string
	switch action {
	case "getObject", "putObject", "headObject", "deleteObject", "copyObject":
		if key, err = str("Key", true); err != nil {
			return "", err
		}
	}
	path := "/"
	if bucket != "" {
		path += url.PathEscape(bucket)
	}
	if key != "" {
		path += "/" + escapeKey(key)
	}
	q := url.Values{}
	switch action {
	case "getObject", "headObject":
		method := http.MethodGet
		if action == "headObject" {
			method = http.MethodHead
		}
		res, err := r.s3Call(ctx, method, path, q, nil, nil)
		if err != nil {
			return "", err
		}
		out := objectResult(res.Header)
		if action == "getObject" {
			// The integration renders the body as text.
			out.Set("Body", res.Body.String())
		}
		text := jsonv.String(out)
		if len(text) > interp.MaxPayload {
			return "", dataLimit("s3")
		}
		return text, nil
	case "putObject":
		var body []byte
		if v, ok := o.Get("Body"); ok {
			// The integration sends the value's JSON text, quotes and all for a string.
			body = []byte(jsonv.String(v))
		}
		h := http.Header{}
		if ct, err := str("ContentType", false); err != nil {
			return "", err
		} else if ct != "" {
			h.Set("Content-Type", ct)
		}
		if md, ok := o.Get("Metadata"); ok {
			m, isObject := md.(*jsonv.Object)
			if !isObject {
				return "", &engine.TaskError{Name: "States.Runtime", Cause: "The field Metadata must be an object, not " + jsonv.TypeName(md)}
			}
			for _, mem := range m.Members() {
				s, _ := mem.Value.(string)
				h.Set("X-Amz-Meta-"+mem.Key, s)
			}
		}
		res, err := r.s3Call(ctx, http.MethodPut, path, q, h, body)
		if err != nil {
			return "", err
		}
		// The SDK sends a CRC32 checksum of the body, which S3 returns.
		var sum [4]byte
		binary.BigEndian.PutUint32(sum[:], crc32.ChecksumIEEE(body))
		return jsonv.String(jsonv.ObjectOf(
			jsonv.Member{Key: "ChecksumCRC32", Value: base64.StdEncoding.EncodeToString(sum[:])},
			jsonv.Member{Key: "ChecksumType", Value: "FULL_OBJECT"},
			jsonv.Member{Key: "ETag", Value: res.Header.Get("ETag")},
			jsonv.Member{Key: "ServerSideEncryption", Value: "AES256"},
		)), nil
	case "deleteObject":
		if _, err := r.s3Call(ctx, http.MethodDelete, path, q, nil, nil); err != nil {
			return "", err
		}
		return "{}", nil
	case "copyObject":
		src, err := str("CopySource", true)
		if err != nil {
			return "", err
		}
		res, err := r.s3Call(ctx, http.MethodPut, path, q, http.Header{"X-Amz-Copy-Source": {src}}, nil)
		if err != nil {
			return "", err
		}
		var doc struct {
			ETag         string
			LastModified string
		}
		if err := xml.Unmarshal(res.Body.Bytes(), &doc); err != nil {
			return "", &engine.TaskError{Name: "S3.SdkClientException", Cause: "Unable to parse the CopyObject response: " + err.Error()}
		}
		return jsonv.String(jsonv.ObjectOf(
			jsonv.Member{Key: "CopyObjectResult", Value: jsonv.ObjectOf(
				jsonv.Member{Key: "ETag", Value: doc.ETag},
				jsonv.Member{Key: "LastModified", Value: sdkDate(doc.LastModified)},
			)},
			jsonv.Member{Key: "ServerSideEncryption", Value: "AES256"},
		)), nil
	case "listObjectsV2", "listObjects":
		return r.s3List(ctx, path, o, action == "listObjectsV2")
	case "listBuckets":
		res, err := r.s3Call(ctx, http.MethodGet, "/", q, nil, nil)
		if err != nil {
			return "", err
		}
		var doc struct {
			Owner   struct{ ID, DisplayName string }
			Buckets []struct{ Name, CreationDate string } `xml:"Buckets>Bucket"`
		}
		if err := xml.Unmarshal(res.Body.Bytes(), &doc); err != nil {
			return "", &engine.TaskError{Name: "S3.SdkClientException", Cause: "Unable to parse the ListBuckets response: " + err.Error()}
		}
		list := make([]jsonv.Value, 0, len(doc.Buckets))
		for _, b := range doc.Buckets {
			list = append(list, jsonv.ObjectOf(
				jsonv.Member{Key: "CreationDate", Value: sdkDate(b.CreationDate)},
				jsonv.Member{Key: "Name", Value: b.Name}))
		}
		return jsonv.String(jsonv.ObjectOf(
			jsonv.Member{Key: "Buckets", Value: list},
			jsonv.Member{Key: "Owner", Value: jsonv.ObjectOf(
				jsonv.Member{Key: "DisplayName", Value: doc.Owner.DisplayName},
				jsonv.Member{Key: "ID", Value: doc.Owner.ID})},
		)), nil
	case "createBucket":
		res, err := r.s3Call(ctx, http.MethodPut, path, q, nil, nil)
		if err != nil {
			return "", err
		}
		loc := res.Header.Get("Location")
		if loc == "" {
			loc = "/" + bucket
		}
		return jsonv.String(jsonv.ObjectOf(jsonv.Member{Key: "Location", Value: loc})), nil
	case "deleteBucket":
		if _, err := r.s3Call(ctx, http.MethodDelete, path, q, nil, nil); err != nil {
			return "", err
		}
		return "{}", nil
	}
	return "", &engine.TaskError{Name: "States.TaskFailed",
		Cause: "The action " + action + " of aws-sdk:s3 is not supported by Stepline yet"}
}

// s3List is ListObjectsV2 (v2) or ListObjects.
func (r *Runner) s3List(ctx context.Context, path string, o *jsonv.Object, v2 bool) (string, error) {
	q := url.Values{}
	if v2 {
		q.Set("list-type", "2")
	}
	params := []struct{ member, query string }{
		{"Prefix", "prefix"}, {"Delimiter", "delimiter"}, {"EncodingType", "encoding-type"},
		{"ContinuationToken", "continuation-token"}, {"StartAfter", "start-after"}, {"Marker", "marker"},
	}
	for _, p := range params {
		var s string
		if err := stringField(o, p.member, &s, false); err != nil {
			return "", err
		}
		if s != "" {
			q.Set(p.query, s)
		}
	}
	if v, ok := o.Get("MaxKeys"); ok && v != nil {
		n, isNumber := v.(jsonv.Number)
		i, intOK := n.Int64()
		if !isNumber || !intOK {
			return "", &engine.TaskError{Name: "States.Runtime", Cause: "The field MaxKeys must be an integer, not " + jsonv.TypeName(v)}
		}
		q.Set("max-keys", strconv.FormatInt(i, 10))
	}
	res, err := r.s3Call(ctx, http.MethodGet, path, q, nil, nil)
	if err != nil {
		return "", err
	}
	var doc struct {
		Name, Prefix, Delimiter, EncodingType    string
		Marker, NextMarker                       string
		ContinuationToken, NextContinuationToken string
		StartAfter                               string
		MaxKeys, KeyCount                        int64
		IsTruncated                              bool
		Contents                                 []struct {
			Key, LastModified, ETag, StorageClass string
			Size                                  int64
		}
		CommonPrefixes []struct{ Prefix string }
	}
	if err := xml.Unmarshal(res.Body.Bytes(), &doc); err != nil {
		return "", &engine.TaskError{Name: "S3.SdkClientException", Cause: "Unable to parse the ListObjects response: " + err.Error()}
	}
	out := jsonv.NewObject(14)
	if len(doc.CommonPrefixes) > 0 {
		cps := make([]jsonv.Value, 0, len(doc.CommonPrefixes))
		for _, cp := range doc.CommonPrefixes {
			cps = append(cps, jsonv.ObjectOf(jsonv.Member{Key: "Prefix", Value: cp.Prefix}))
		}
		out.Set("CommonPrefixes", cps)
	}
	if len(doc.Contents) > 0 {
		items := make([]jsonv.Value, 0, len(doc.Contents))
		for _, c := range doc.Contents {
			items = append(items, jsonv.ObjectOf(
				jsonv.Member{Key: "ETag", Value: c.ETag},
				jsonv.Member{Key: "Key", Value: c.Key},
				jsonv.Member{Key: "LastModified", Value: sdkDate(c.LastModified)},
				jsonv.Member{Key: "Size", Value: jsonv.Int(c.Size)},
				jsonv.Member{Key: "StorageClass", Value: c.StorageClass},
			))
		}
		out.Set("Contents", items)
	}
	if v2 && doc.ContinuationToken != "" {
		out.Set("ContinuationToken", doc.ContinuationToken)
	}
	if doc.Delimiter != "" {
		out.Set("Delimiter", doc.Delimiter)
	}
	if doc.EncodingType != "" {
		out.Set("EncodingType", doc.EncodingType)
	}
	out.Set("IsTruncated", doc.IsTruncated)
	if v2 {
		out.Set("KeyCount", jsonv.Int(doc.KeyCount))
	} else {
		out.Set("Marker", doc.Marker)
	}
	out.Set("MaxKeys", jsonv.Int(doc.MaxKeys))
	out.Set("Name", doc.Name)
	if v2 && doc.NextContinuationToken != "" {
		out.Set("NextContinuationToken", doc.NextContinuationToken)
	}
	if !v2 && doc.NextMarker != "" {
		out.Set("NextMarker", doc.NextMarker)
	}
	out.Set("Prefix", doc.Prefix)
	if v2 && doc.StartAfter != "" {
		out.Set("StartAfter", doc.StartAfter)
	}
	return jsonv.String(out), nil
}

// objectResult is GetObject's and HeadObject's result without the body, from the response's
// headers.
func objectResult(h http.Header) *jsonv.Object {
	out := jsonv.NewObject(10)
	out.Set("AcceptRanges", h.Get("Accept-Ranges"))
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil {
		out.Set("ContentLength", jsonv.Int(n))
	}
	for _, f := range []struct{ member, header string }{
		{"CacheControl", "Cache-Control"}, {"ContentDisposition", "Content-Disposition"},
		{"ContentEncoding", "Content-Encoding"}, {"ContentLanguage", "Content-Language"},
		{"ContentRange", "Content-Range"}, {"ContentType", "Content-Type"},
	} {
		if v := h.Get(f.header); v != "" {
			out.Set(f.member, v)
		}
	}
	out.Set("ETag", h.Get("ETag"))
	if t, err := http.ParseTime(h.Get("Last-Modified")); err == nil {
		out.Set("LastModified", t.UTC().Format(sdkDateLayout))
	}
	meta := jsonv.NewObject(0)
	for name, vs := range h {
		if k, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && len(vs) > 0 {
			meta.Set(k, vs[0])
		}
	}
	out.Set("Metadata", meta)
	// Every S3 object is encrypted at rest (SSE-S3) and S3 says so.
	out.Set("ServerSideEncryption", "AES256")
	return out
}

// sdkDateLayout is how the AWS SDK integrations render a timestamp.
const sdkDateLayout = "2006-01-02T15:04:05.000Z"

// sdkDate renders an S3 XML date (ISO 8601) as the integrations do; text it cannot read is
// kept.
func sdkDate(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format(sdkDateLayout)
}

// escapeKey escapes each segment of an object key for a path, keeping its slashes.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// s3Response is an S3 answer: its headers and body.
type s3Response struct {
	Header http.Header
	Body   *bytes.Buffer
}

// s3Call sends one request to the S3 handler and turns a refusal into the task error AWS
// records: S3.<Code>Exception, the message with the Java SDK's suffix as the cause.
func (r *Runner) s3Call(ctx context.Context, method, path string, q url.Values, h http.Header, body []byte) (*s3Response, error) {
	req := httptest.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
	req.URL.RawQuery = q.Encode()
	req.RequestURI = req.URL.RequestURI()
	req.Host = "s3.amazonaws.com"
	for k, vs := range h {
		req.Header[k] = vs
	}
	if body != nil {
		req.ContentLength = int64(len(body))
	}
	rec := httptest.NewRecorder()
	r.o.S3.ServeHTTP(rec, req)
	res := rec.Result()
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(res.Body, maxS3Body)); err != nil {
		return nil, &engine.TaskError{Name: "S3.SdkClientException", Cause: err.Error()}
	}
	if res.StatusCode < 300 {
		return &s3Response{Header: res.Header, Body: &buf}, nil
	}
	return nil, s3Refusal(res.StatusCode, res.Header, buf.Bytes())
}

// s3Refusal is the task error of an S3 refusal: S3.<Code>Exception, the message with the Java
// SDK's suffix as the cause.
func s3Refusal(status int, header http.Header, body []byte) error {
	var doc struct{ Code, Message, RequestId, HostId string }
	_ = xml.Unmarshal(body, &doc) // a HEAD answer has no body: the status names it
	if doc.Code == "" {
		switch status {
		case http.StatusNotFound:
			doc.Code = "NoSuchKey"
		default:
			doc.Code = strings.ReplaceAll(http.StatusText(status), " ", "")
		}
	}
	if doc.Message == "" {
		doc.Message = "null"
	}
	id := firstOf(header.Get("X-Amz-Request-Id"), doc.RequestId, newUUID())
	ext := firstOf(header.Get("X-Amz-Id-2"), doc.HostId, id)
	name := doc.Code
	if !strings.HasSuffix(name, "Exception") {
		name += "Exception"
	}
	return &engine.TaskError{Name: "S3." + name,
		Cause: doc.Message + " (Service: S3, Status Code: " + strconv.Itoa(status) + ", Request ID: " + id + ", Extended Request ID: " + ext + ")"}
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
