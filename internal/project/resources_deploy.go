package project

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// bucketPlan is what deploying one bucket does.
type bucketPlan struct {
	b      *Bucket
	create bool
	// puts are the files to put (key → file), in key order; unchanged counts the others.
	puts      []objectPut
	unchanged int
}

type objectPut struct {
	key, file string
	size      int64
}

// glueCall is one Glue API call a deploy makes.
type glueCall struct {
	what   string // such as glue.crawlers.NAME, for errors
	line   int
	action string
	body   any
	create bool
}

func (p *Project) errAt(line int, key, format string, args ...any) *Error {
	return &Error{File: p.File, Line: line, Key: p.key(key), Msg: fmt.Sprintf(format, args...)}
}

// callS3 makes one S3 API call through the service's own handler.
func callS3(ctx context.Context, h http.Handler, method, target string, body io.Reader, size int64) *httptest.ResponseRecorder {
	r := httptest.NewRequestWithContext(ctx, method, target, body)
	if body != nil {
		r.ContentLength = size
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// s3Message is the code and message of an S3 error body, or the status.
func s3Message(rec *httptest.ResponseRecorder) string {
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(rec.Body.Bytes(), &e) == nil && e.Code != "" {
		return e.Code + ": " + e.Message
	}
	return fmt.Sprintf("HTTP %d", rec.Code)
}

// objectPath is the request path of a key: each segment escaped.
func objectPath(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/" + bucket + "/" + strings.Join(segs, "/")
}

// remoteObject is what ListObjectsV2 says of an object.
type remoteObject struct {
	size int64
	etag string
}

func (p *Project) listObjects(ctx context.Context, h http.Handler, b *Bucket) (map[string]remoteObject, error) {
	out := map[string]remoteObject{}
	token := ""
	for {
		q := url.Values{"list-type": {"2"}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		rec := callS3(ctx, h, http.MethodGet, "/"+b.Name+"?"+q.Encode(), nil, 0)
		if rec.Code != http.StatusOK {
			return nil, p.errAt(b.line, "buckets."+b.Name, "ListObjectsV2: %s", s3Message(rec))
		}
		var page struct {
			Contents []struct {
				Key  string `xml:"Key"`
				Size int64  `xml:"Size"`
				ETag string `xml:"ETag"`
			} `xml:"Contents"`
			IsTruncated           bool   `xml:"IsTruncated"`
			NextContinuationToken string `xml:"NextContinuationToken"`
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			return nil, p.errAt(b.line, "buckets."+b.Name, "ListObjectsV2: %v", err)
		}
		for _, c := range page.Contents {
			out[c.Key] = remoteObject{size: c.Size, etag: strings.Trim(c.ETag, `"`)}
		}
		if !page.IsTruncated || page.NextContinuationToken == "" {
			return out, nil
		}
		token = page.NextContinuationToken
	}
}

// fileMD5 is the hex MD5 of a file: the ETag S3 gives an object put in one request.
func fileMD5(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// planBucket finds whether the bucket exists and which of its folder's files are new or
// changed (by size, then by MD5 against the ETag).
func (p *Project) planBucket(ctx context.Context, h http.Handler, b *Bucket) (*bucketPlan, error) {
	bp := &bucketPlan{b: b}
	rec := callS3(ctx, h, http.MethodHead, "/"+b.Name, nil, 0)
	switch rec.Code {
	case http.StatusOK:
	case http.StatusNotFound:
		bp.create = true
	default:
		return nil, p.errAt(b.line, "buckets."+b.Name, "HeadBucket: HTTP %d", rec.Code)
	}
	if b.From == "" {
		return bp, nil
	}
	have := map[string]remoteObject{}
	if !bp.create {
		var err error
		if have, err = p.listObjects(ctx, h, b); err != nil {
			return nil, err
		}
	}
	err := filepath.WalkDir(b.From, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != b.From && slices.Contains(skipped, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(b.From, path)
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file (symbolic links are not put)", rel)
		}
		key := filepath.ToSlash(rel)
		if o, ok := have[key]; ok && o.size == info.Size() {
			sum, err := fileMD5(path)
			if err != nil {
				return err
			}
			if sum == o.etag {
				bp.unchanged++
				return nil
			}
		}
		bp.puts = append(bp.puts, objectPut{key: key, file: path, size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, p.errAt(b.line, "buckets."+b.Name+".from", "%v", err)
	}
	return bp, nil
}

func (p *Project) applyBucket(ctx context.Context, t Targets, bp *bucketPlan, sum *Summary) error {
	b := bp.b
	if bp.create {
		rec := callS3(ctx, t.S3, http.MethodPut, "/"+b.Name, nil, 0)
		if rec.Code != http.StatusOK {
			return p.errAt(b.line, "buckets."+b.Name, "CreateBucket: %s", s3Message(rec))
		}
		sum.BucketsCreated++
		t.Logger.Info("bucket created", "bucket", b.Name)
	}
	if b.EventBridge {
		// Put on every deploy, as the file says: the same configuration again changes nothing.
		rec := callS3(ctx, t.S3, http.MethodPut, "/"+b.Name+"?notification",
			strings.NewReader(eventBridgeNotification), int64(len(eventBridgeNotification)))
		if rec.Code != http.StatusOK {
			return p.errAt(b.line, "buckets."+b.Name+".notifications", "PutBucketNotificationConfiguration: %s", s3Message(rec))
		}
	}
	for _, o := range bp.puts {
		if err := p.putObject(ctx, t.S3, b, o); err != nil {
			return err
		}
	}
	sum.ObjectsPut += len(bp.puts)
	sum.ObjectsUnchanged += bp.unchanged
	if len(bp.puts) > 0 {
		t.Logger.Info("bucket filled", "bucket", b.Name, "from", b.From, "put", len(bp.puts), "unchanged", bp.unchanged)
	}
	return nil
}

// eventBridgeNotification is the notification configuration of notifications: eventbridge.
const eventBridgeNotification = `<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><EventBridgeConfiguration/></NotificationConfiguration>`

func (p *Project) putObject(ctx context.Context, h http.Handler, b *Bucket, o objectPut) error {
	f, err := os.Open(o.file)
	if err != nil {
		return p.errAt(b.line, "buckets."+b.Name+".from", "%v", err)
	}
	defer f.Close()
	r := httptest.NewRequestWithContext(ctx, http.MethodPut, objectPath(b.Name, o.key), f)
	r.ContentLength = o.size
	if ct := mime.TypeByExtension(filepath.Ext(o.key)); ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		return p.errAt(b.line, "buckets."+b.Name+".from", "PutObject %s: %s", o.key, s3Message(rec))
	}
	return nil
}

// callGlue makes one Glue API call through the service's own handler; out, when not nil,
// receives the answer.
func callGlue(ctx context.Context, h http.Handler, action string, body, out any) (code, msg string, err error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", "", err
	}
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(b))
	r.Header.Set("X-Amz-Target", "AWSGlue."+action)
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Type == "" {
			return "", fmt.Sprintf("HTTP %d", rec.Code), nil
		}
		return e.Type, e.Message, nil
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			return "", "", fmt.Errorf("%s: %w", action, err)
		}
	}
	return "", "", nil
}

func (t Targets) role(r string) string {
	if r == "" {
		return "arn:aws:iam::" + t.Account + ":role/stepline"
	}
	return r
}

// planGlue compares the glue section with what the Glue service holds and returns the calls
// that make them equal, databases first (crawlers name them).
func (p *Project) planGlue(ctx context.Context, t Targets, sum *Summary) ([]glueCall, error) {
	var calls []glueCall
	get := func(what string, line int, action string, body, out any) (bool, error) {
		code, msg, err := callGlue(ctx, t.Glue, action, body, out)
		switch {
		case err != nil:
			return false, p.errAt(line, what, "%s: %v", action, err)
		case code == "EntityNotFoundException":
			return false, nil
		case code != "":
			return false, p.errAt(line, what, "%s: %s: %s", action, code, msg)
		}
		return true, nil
	}
	for _, d := range p.Glue.Databases {
		what := "glue.databases." + d.Name
		input := map[string]any{"Name": d.Name, "Description": d.Description, "LocationUri": d.LocationURI, "Parameters": d.Parameters}
		var got struct {
			Database struct {
				Description string
				LocationURI string `json:"LocationUri"`
				Parameters  map[string]string
			}
		}
		found, err := get(what, d.line, "GetDatabase", map[string]string{"Name": d.Name}, &got)
		switch {
		case err != nil:
			return nil, err
		case !found:
			calls = append(calls, glueCall{what, d.line, "CreateDatabase", map[string]any{"DatabaseInput": input}, true})
		case got.Database.Description != d.Description || got.Database.LocationURI != d.LocationURI ||
			!maps.Equal(got.Database.Parameters, d.Parameters):
			calls = append(calls, glueCall{what, d.line, "UpdateDatabase", map[string]any{"Name": d.Name, "DatabaseInput": input}, false})
		default:
			sum.GlueUnchanged++
		}
	}
	for _, c := range p.Glue.Crawlers {
		what := "glue.crawlers." + c.Name
		targets := []map[string]any{}
		for _, tg := range c.S3Targets {
			m := map[string]any{"Path": tg.Path}
			if len(tg.Exclusions) > 0 {
				m["Exclusions"] = tg.Exclusions
			}
			targets = append(targets, m)
		}
		input := map[string]any{"Name": c.Name, "Role": t.role(c.Role), "DatabaseName": c.DatabaseName, "Description": c.Description,
			"Targets": map[string]any{"S3Targets": targets}, "TablePrefix": c.TablePrefix,
			"SchemaChangePolicy": map[string]string{"UpdateBehavior": c.UpdateBehavior, "DeleteBehavior": c.DeleteBehavior}}
		var got struct {
			Crawler struct {
				Role, DatabaseName, Description, TablePrefix, State string
				Targets                                             struct {
					S3Targets []struct {
						Path       string
						Exclusions []string
					}
				}
				SchemaChangePolicy struct{ UpdateBehavior, DeleteBehavior string }
			}
		}
		found, err := get(what, c.line, "GetCrawler", map[string]string{"Name": c.Name}, &got)
		if err != nil {
			return nil, err
		}
		if !found {
			calls = append(calls, glueCall{what, c.line, "CreateCrawler", input, true})
			continue
		}
		g := got.Crawler
		same := g.Role == t.role(c.Role) && g.DatabaseName == c.DatabaseName && g.Description == c.Description &&
			g.TablePrefix == c.TablePrefix && g.SchemaChangePolicy.UpdateBehavior == c.UpdateBehavior &&
			g.SchemaChangePolicy.DeleteBehavior == c.DeleteBehavior && len(g.Targets.S3Targets) == len(c.S3Targets)
		for i := 0; same && i < len(c.S3Targets); i++ {
			same = g.Targets.S3Targets[i].Path == c.S3Targets[i].Path && slices.Equal(g.Targets.S3Targets[i].Exclusions, c.S3Targets[i].Exclusions)
		}
		if same {
			sum.GlueUnchanged++
			continue
		}
		if g.State != "READY" {
			// Not an error: a crawl a crash interrupted ends only once the server started,
			// after this deploy, and refusing would refuse every restart.
			t.Logger.Warn(p.errAt(c.line, what, "changed, but not updated: the crawler is %s, and UpdateCrawler needs it READY; "+
				"deploy again once its crawl ended", g.State).Error())
			sum.GlueUnchanged++
			continue
		}
		calls = append(calls, glueCall{what, c.line, "UpdateCrawler", input, false})
	}
	for _, j := range p.Glue.Jobs {
		what := "glue.jobs." + j.Name
		command := map[string]string{"Name": j.CommandName, "ScriptLocation": j.ScriptLocation, "PythonVersion": j.PythonVersion}
		input := map[string]any{"Role": t.role(j.Role), "Description": j.Description, "Command": command,
			"DefaultArguments": j.DefaultArguments, "Timeout": j.Timeout, "MaxRetries": j.MaxRetries,
			"ExecutionProperty": map[string]int{"MaxConcurrentRuns": j.MaxConcurrentRuns}}
		var got struct {
			Job struct {
				Role, Description string
				Command           struct{ Name, ScriptLocation, PythonVersion string }
				DefaultArguments  map[string]string
				Timeout           int
				MaxRetries        int
				ExecutionProperty struct{ MaxConcurrentRuns int }
			}
		}
		found, err := get(what, j.line, "GetJob", map[string]string{"JobName": j.Name}, &got)
		if err != nil {
			return nil, err
		}
		if !found {
			create := maps.Clone(input)
			create["Name"] = j.Name
			calls = append(calls, glueCall{what, j.line, "CreateJob", create, true})
			continue
		}
		g := got.Job
		if g.Role == t.role(j.Role) && g.Description == j.Description && g.Command.Name == j.CommandName &&
			g.Command.ScriptLocation == j.ScriptLocation && g.Command.PythonVersion == j.PythonVersion &&
			maps.Equal(g.DefaultArguments, j.DefaultArguments) && g.Timeout == j.Timeout && g.MaxRetries == j.MaxRetries &&
			g.ExecutionProperty.MaxConcurrentRuns == j.MaxConcurrentRuns {
			sum.GlueUnchanged++
			continue
		}
		calls = append(calls, glueCall{what, j.line, "UpdateJob", map[string]any{"JobName": j.Name, "JobUpdate": input}, false})
	}
	return calls, nil
}

func (p *Project) applyGlue(ctx context.Context, t Targets, calls []glueCall, sum *Summary) error {
	for _, c := range calls {
		code, msg, err := callGlue(ctx, t.Glue, c.action, c.body, nil)
		if err != nil {
			return p.errAt(c.line, c.what, "%s: %v", c.action, err)
		}
		if code == "AlreadyExistsException" && c.create {
			// Another node sharing the database created it meanwhile.
			sum.GlueUnchanged++
			continue
		}
		if code != "" {
			return p.errAt(c.line, c.what, "%s: %s: %s", c.action, code, msg)
		}
		if c.create {
			sum.GlueCreated++
		} else {
			sum.GlueUpdated++
		}
		t.Logger.Info("glue deployed", "what", c.what, "action", c.action)
	}
	return nil
}
