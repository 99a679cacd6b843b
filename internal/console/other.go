package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The function and catalog pages ask the Lambda and Glue services in-process, through the
// same operations their APIs serve.

// fnConfig is the part of a Lambda function's configuration the pages show.
type fnConfig struct {
	FunctionName  string
	FunctionArn   string
	Runtime       string
	Handler       string
	Role          string
	Description   string
	CodeSize      int64
	CodeSha256    string
	Timeout       int
	MemorySize    int
	LastModified  string
	State         string
	PackageType   string
	Architectures []string
	Environment   *struct{ Variables map[string]string }
}

// lambdaCall runs one Lambda API request in-process and decodes its JSON answer.
func (c *Console) lambdaCall(ctx context.Context, path string, out any) error {
	if c.o.Lambda == nil {
		return errNoService
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	rec := httptest.NewRecorder()
	c.o.Lambda.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		var e struct{ Message string }
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		return fmt.Errorf("console: Lambda %s: %d %s", path, rec.Code, e.Message)
	}
	return json.Unmarshal(rec.Body.Bytes(), out)
}

var errNoService = fmt.Errorf("console: this server runs without that service")

func (c *Console) functions(w http.ResponseWriter, r *http.Request) {
	var all []fnConfig
	marker := ""
	for {
		var page struct {
			Functions  []fnConfig
			NextMarker string
		}
		path := "/2015-03-31/functions/?MaxItems=50"
		if marker != "" {
			path += "&Marker=" + url.QueryEscape(marker)
		}
		if err := c.lambdaCall(r.Context(), path, &page); err != nil {
			c.failErr(w, err)
			return
		}
		all = append(all, page.Functions...)
		if marker = page.NextMarker; marker == "" {
			break
		}
	}
	slices.SortFunc(all, func(a, b fnConfig) int { return strings.Compare(a.FunctionName, b.FunctionName) })
	c.render(w, "functions", map[string]any{"Title": "Functions", "Nav": "functions", "Functions": all})
}

// logStream is the end of one log stream file of a function: its processes' output.
type logStream struct {
	Name     string
	Modified time.Time
	Text     string
	Cut      bool
}

// logTail is how much of each recent stream the function page shows.
const (
	logTail    = 16 << 10
	logStreams = 3
)

func (c *Console) function(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var out struct{ Configuration fnConfig }
	if err := c.lambdaCall(r.Context(), "/2015-03-31/functions/"+url.PathEscape(name), &out); err != nil {
		c.fail(w, http.StatusNotFound, "Function not found", err.Error())
		return
	}
	data := map[string]any{"Title": name, "Nav": "functions", "F": out.Configuration}
	if c.o.LambdaLogs != "" {
		dir := filepath.Join(c.o.LambdaLogs, name)
		if id := r.URL.Query().Get("request"); id != "" {
			data["Request"], data["RequestLog"] = id, invocationLog(dir, id)
		}
		data["Logs"] = recentLogs(dir)
	}
	c.render(w, "function", data)
}

// recentLogs reads the ends of a function's newest log streams (LogDir/<function>/YYYY/MM/DD/
// stream, as CloudWatch lays them out).
func recentLogs(dir string) []logStream {
	var files []logStream
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, logStream{Name: filepath.ToSlash(rel), Modified: info.ModTime()})
		}
		return nil
	})
	slices.SortFunc(files, func(a, b logStream) int { return b.Modified.Compare(a.Modified) })
	if len(files) > logStreams {
		files = files[:logStreams]
	}
	for i := range files {
		if l, ok := tailFile(filepath.Join(dir, filepath.FromSlash(files[i].Name))); ok {
			files[i].Text, files[i].Cut = l.Text, l.Cut
		}
	}
	return files
}

// invocationStreams bounds how many of a function's newest log streams are searched for one
// invocation's lines.
const invocationStreams = 50

// invocationLog finds one invocation's lines in a function's log streams: from its START
// line to its REPORT line, as the sandbox writes them. "" when none of the newest streams has
// it.
func invocationLog(dir, requestID string) string {
	start, report := "START RequestId: "+requestID, "REPORT RequestId: "+requestID
	var files []logStream
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				files = append(files, logStream{Name: path, Modified: info.ModTime()})
			}
		}
		return nil
	})
	slices.SortFunc(files, func(a, b logStream) int { return b.Modified.Compare(a.Modified) })
	for i, f := range files {
		if i == invocationStreams {
			break
		}
		b, err := os.ReadFile(f.Name)
		if err != nil {
			continue
		}
		text := string(b)
		from := strings.Index(text, start)
		if from < 0 {
			continue
		}
		rest := text[from:]
		if to := strings.Index(rest, report); to >= 0 {
			end := to + strings.IndexByte(rest[to:]+"\n", '\n')
			return rest[:min(end, len(rest))]
		}
		return rest
	}
	return ""
}

// glueCall runs one Glue action in-process.
func (c *Console) glueCall(ctx context.Context, action string, in, out any) error {
	if c.o.Glue == nil {
		return errNoService
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("console: Glue %s: %w", action, err)
	}
	res, err := c.o.Glue.Call(ctx, action, body)
	if err != nil {
		return fmt.Errorf("console: Glue %s: %w", action, err)
	}
	return json.Unmarshal(res, out)
}

// epoch is a Glue timestamp: seconds since 1970 in JSON.
type epoch float64

func (e epoch) String() string {
	if e == 0 {
		return "—"
	}
	return fmtTime(time.UnixMilli(int64(float64(e) * 1000)))
}

type glueColumn struct{ Name, Type, Comment string }

type glueTable struct {
	Name              string
	DatabaseName      string
	Description       string
	TableType         string
	CreateTime        epoch
	UpdateTime        epoch
	PartitionKeys     []glueColumn
	Parameters        map[string]string
	StorageDescriptor struct {
		Columns  []glueColumn
		Location string
	}
}

type glueCrawler struct {
	Name         string
	State        string
	DatabaseName string
	Targets      struct{ S3Targets []struct{ Path string } }
	LastCrawl    *struct {
		Status       string
		ErrorMessage string
		StartTime    epoch
	}
}

type glueJobRun struct {
	Id            string
	JobName       string
	JobRunState   string
	Arguments     map[string]string
	Attempt       int
	StartedOn     epoch
	CompletedOn   epoch
	ExecutionTime int
	ErrorMessage  string
}

type glueJob struct {
	Name    string
	Command struct{ Name, ScriptLocation string }
	Runs    []glueJobRun
}

// jobRuns is how many recent runs of each job the catalog page lists.
const jobRuns = 5

func (c *Console) catalog(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var dbs struct {
		DatabaseList []struct {
			Name, Description string
			Tables            []glueTable
		}
	}
	if err := c.glueCall(ctx, "GetDatabases", map[string]any{}, &dbs); err != nil {
		c.failErr(w, err)
		return
	}
	for i := range dbs.DatabaseList {
		var ts struct{ TableList []glueTable }
		if err := c.glueCall(ctx, "GetTables", map[string]any{"DatabaseName": dbs.DatabaseList[i].Name}, &ts); err == nil {
			dbs.DatabaseList[i].Tables = ts.TableList
		}
	}
	var crawlers struct{ Crawlers []glueCrawler }
	if err := c.glueCall(ctx, "GetCrawlers", map[string]any{}, &crawlers); err != nil {
		c.failErr(w, err)
		return
	}
	var jobs struct{ Jobs []glueJob }
	if err := c.glueCall(ctx, "GetJobs", map[string]any{}, &jobs); err != nil {
		c.failErr(w, err)
		return
	}
	for i := range jobs.Jobs {
		var runs struct{ JobRuns []glueJobRun }
		if err := c.glueCall(ctx, "GetJobRuns", map[string]any{"JobName": jobs.Jobs[i].Name, "MaxResults": jobRuns}, &runs); err == nil {
			jobs.Jobs[i].Runs = runs.JobRuns
		}
	}
	c.render(w, "catalog", map[string]any{"Title": "Catalog", "Nav": "catalog", "Databases": dbs.DatabaseList,
		"Crawlers": crawlers.Crawlers, "Jobs": jobs.Jobs})
}

func (c *Console) table(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	db, name := r.PathValue("db"), r.PathValue("table")
	var t struct{ Table glueTable }
	if err := c.glueCall(ctx, "GetTable", map[string]any{"DatabaseName": db, "Name": name}, &t); err != nil {
		c.fail(w, http.StatusNotFound, "Table not found", err.Error())
		return
	}
	var parts struct {
		Partitions []struct {
			Values            []string
			CreationTime      epoch
			StorageDescriptor struct{ Location string }
		}
	}
	_ = c.glueCall(ctx, "GetPartitions", map[string]any{"DatabaseName": db, "TableName": name}, &parts)
	c.render(w, "table", map[string]any{"Title": db + "." + name, "Nav": "catalog", "T": t.Table, "Partitions": parts.Partitions})
}

// jobRun shows one Glue job run: its state and the ends of its output and error logs.
func (c *Console) jobRun(w http.ResponseWriter, r *http.Request) {
	job, id := r.PathValue("job"), r.PathValue("run")
	var out struct{ JobRun glueJobRun }
	if err := c.glueCall(r.Context(), "GetJobRun", map[string]any{"JobName": job, "RunId": id}, &out); err != nil || out.JobRun.Id == "" {
		c.fail(w, http.StatusNotFound, "Job run not found", fmt.Sprintf("No run %s of the job %s: %v", id, job, err))
		return
	}
	data := map[string]any{"Title": job + " " + id, "Nav": "catalog", "Run": out.JobRun, "Job": job}
	if c.o.GlueLogs != "" && !strings.ContainsAny(id, `/\`) {
		var logs []logStream
		for _, group := range []string{"python-jobs", "jobs"} {
			for _, stream := range []string{"output", "error"} {
				path := filepath.Join(c.o.GlueLogs, group, stream, id)
				if l, ok := tailFile(path); ok {
					l.Name = "/aws-glue/" + group + "/" + stream
					logs = append(logs, l)
				}
			}
		}
		data["Logs"] = logs
	}
	c.render(w, "jobrun", data)
}

// tailFile reads the end of a file.
func tailFile(path string) (logStream, bool) {
	f, err := os.Open(path)
	if err != nil {
		return logStream{}, false
	}
	defer f.Close()
	l := logStream{}
	if st, err := f.Stat(); err == nil {
		l.Modified = st.ModTime()
		if st.Size() > logTail {
			_, _ = f.Seek(-logTail, io.SeekEnd)
			l.Cut = true
		}
	}
	b, _ := io.ReadAll(io.LimitReader(f, logTail))
	l.Text = string(b)
	return l, true
}
