// Package glue is a local AWS Glue: the Glue API (AWS JSON 1.1, X-Amz-Target AWSGlue.<Action>)
// over a Data Catalog kept in the store, crawlers that infer table schemas from the files of
// local S3 buckets (folders under the data folder) as Glue's built-in classifiers do, and jobs
// whose runs are local processes: a pythonshell script under the machine's python3, a glueetl
// script under a configured command.
//
// Catalog objects, crawlers, jobs and runs are store entities (store.GlueEntity), so they
// survive restarts and every node sharing the database sees them. A crawl or a run is carried
// out by the node that started it (the entity's Owner); when that node starts again after a
// crash, Start ends what it left running (the run FAILED, the crawler READY with its last crawl
// FAILED), each with a message saying why, so that nothing stays RUNNING forever; and while it
// runs, the node renews a lease on its work, so that another node ends the work of a node that
// died and never came back (Options.LeaseTTL).
//
// Under the data folder DIR: a bucket is DIR/s3/<bucket>/ and an object DIR/s3/<bucket>/<key>
// (the S3 service's layout), which crawlers read and where job scripts are found; the service
// writes only under DIR/glue: logs/crawlers/<crawler> (the last crawl's log),
// logs/python-jobs/{output,error}/<run id> and logs/jobs/… (a run's streams, 16 MB each at
// most), runs/<run id>/ (a run's copy of its script, removed when it ends). Job outputs are
// written by the jobs themselves, through their AWS SDK calls to this server.
//
// Crawls are bounded: a CSV file is typed from its first 1,000 records, as Glue's CSV classifier
// reads them (an uncompressed file's first 256 KB when they fit there), any other file from its
// first megabyte (decompressed), a Parquet file from its footer; at most a hundred files of a
// table or partition are classified, each once a crawl; record counts are scaled from the
// lines read to the files' sizes.
package glue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/store"
)

// Options configure a Service.
type Options struct {
	Store store.Store
	// Dir is the data folder: buckets are its s3/<bucket> folders, run logs go under glue/.
	Dir string
	// Endpoint is this server's URL, given to job processes as AWS_ENDPOINT_URL.
	Endpoint string
	// AccessKeyID and SecretAccessKey are the credentials job processes get.
	AccessKeyID, SecretAccessKey string
	Account, Region              string
	Clock                        clock.Clock
	Logger                       *slog.Logger
	// SparkCommand runs glueetl scripts: the script's path and Glue's arguments are appended
	// (for example spark-submit and its options). Without it glueetl runs fail saying so.
	SparkCommand []string
	// NodeID names this node as the owner of the crawls and runs it carries out; it must stay
	// the same across restarts of the node ("local" when empty).
	NodeID string
	// TimeoutUnit is the length of one minute of a job's Timeout (a minute when zero); tests
	// shorten it, as --wait-scale shortens Step Functions' waits.
	TimeoutUnit time.Duration
	// Python is the interpreter of pythonshell jobs ("python3" when empty).
	Python string
	// NoMemoryLimit leaves job processes unbounded; otherwise a run's capacity (MaxCapacity,
	// or WorkerType × NumberOfWorkers) bounds its process's memory, a DPU being 16 GB (see
	// package limits for how).
	NoMemoryLimit bool
	// Objects, when set, is the S3 service: the buckets it says are bound to an external
	// endpoint are crawled, and job scripts fetched from them, through it.
	Objects Objects
	// LeaseTTL is how long a node's crawl or run stays its own without being renewed (a minute
	// when zero): a node renews its work every third of it, and any node ends work whose node
	// stopped renewing (it died and did not come back), as its restart would.
	LeaseTTL time.Duration
}

// Service is the Glue service of one node. It is an http.Handler of the Glue API.
type Service struct {
	o      Options
	ctx    context.Context // cancelled by Close: ends crawls and kills runs
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	// pythonPath is the folder of the Python packages job scripts may import (awsglue).
	pythonPath string
	// crawls and runs this node carries out, to stop them at once (StopCrawler, BatchStopJobRun).
	crawls map[string]context.CancelFunc
	runs   map[string]*runProc // by run id
}

// New returns a Service; Start must be called before it serves.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Dir == "" {
		return nil, errors.New("glue: a store and a data folder are needed")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.NodeID == "" {
		o.NodeID = "local"
	}
	if o.TimeoutUnit == 0 {
		o.TimeoutUnit = time.Minute
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.AccessKeyID == "" || o.SecretAccessKey == "" {
		// A job's SDK calls need some credentials to sign with; a server without --auth takes
		// any, so these are AWS's documented example pair, as Lambda functions get.
		o.AccessKeyID, o.SecretAccessKey = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = time.Minute
	}
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{o: o, ctx: ctx, cancel: cancel, crawls: map[string]context.CancelFunc{}, runs: map[string]*runProc{}}, nil
}

// Start makes the folders the service writes and ends the crawls and runs this node left
// running when it stopped without Close (a crash): their processes died with it.
func (s *Service) Start(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(s.o.Dir, "glue", "logs"), 0o755); err != nil {
		return fmt.Errorf("glue: %w", err)
	}
	pythonPath, err := s.installRuntime()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.pythonPath = pythonPath
	s.mu.Unlock()
	if err := s.recoverCrawls(ctx); err != nil {
		return err
	}
	if err := s.recoverRuns(ctx); err != nil {
		return err
	}
	s.goTracked(s.leaseLoop)
	return nil
}

// leaseLoop renews the leases of this node's crawls and runs and ends the work of nodes that
// stopped renewing theirs.
func (s *Service) leaseLoop() {
	t := time.NewTicker(s.o.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.renewLeases(s.ctx)
		s.sweepExpired(s.ctx)
	}
}

func (s *Service) renewLeases(ctx context.Context) {
	s.mu.Lock()
	var keys []store.GlueGetParams
	for name := range s.crawls {
		keys = append(keys, store.GlueGetParams{Kind: store.GlueCrawler, Name: name})
	}
	for id, p := range s.runs {
		keys = append(keys, store.GlueGetParams{Kind: store.GlueJobRun, Parent: p.job, Name: id})
	}
	s.mu.Unlock()
	for _, k := range keys {
		for range 3 { // a write of the work itself may win the compare-and-swap; it renews too
			e, err := s.o.Store.GlueGet(ctx, &k)
			if err != nil || !e.Active || e.Owner != s.o.NodeID {
				break
			}
			_, err = s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: e.Kind, Parent: e.Parent, Name: e.Name, IfVersion: e.Version,
				Doc: e.Doc, Active: true, Owner: e.Owner, Now: s.o.Clock.Now()})
			if !errors.Is(err, store.ErrConflict) {
				break
			}
		}
	}
}

func (s *Service) sweepExpired(ctx context.Context) {
	stale := s.o.Clock.Now().Add(-s.o.LeaseTTL)
	for _, kind := range []string{store.GlueCrawler, store.GlueJobRun} {
		res, err := s.o.Store.GlueList(ctx, &store.GlueListParams{Kind: kind, AnyParent: true, StaleBefore: stale, Limit: store.MaxPageSize})
		if err != nil {
			s.o.Logger.Warn("glue: expired leases", "err", err)
			continue
		}
		for _, e := range res.Entities {
			if e.Owner == s.o.NodeID {
				continue // this node's own work is renewed, or was ended by Start
			}
			msg := fmt.Sprintf("the Stepline node %s that ran it stopped renewing its lease (it stopped)", e.Owner)
			if kind == store.GlueCrawler {
				var d crawlerDoc
				if json.Unmarshal(e.Doc, &d) != nil {
					continue
				}
				start := time.Time{}
				if d.RunStarted != nil {
					start = d.RunStarted.Time
				}
				s.finishCrawl(e.Name, interruptedCrawl(&d, e.Name, "Crawl was interrupted: "+msg, start), nil)
			} else {
				state, m := interruptedRun(e, "Job run was interrupted: "+msg)
				s.endRun(e.Parent, e.Name, state, m)
			}
		}
	}
}

// Close stops running crawls, kills job processes and waits until they are reaped and their
// ends recorded.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// go runs f as tracked work, unless the service is closed.
func (s *Service) goTracked(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// safely runs f, turning a panic into an error, so that a bug met by a crawl or a run (which
// have no request to fail) fails that crawl or run rather than the server.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return f()
}

// Error is an error as Glue sends it: {"__type": Code, "message": Message} with an HTTP status.
type Error struct {
	Code    string
	Message string
	Status  int
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	status := http.StatusBadRequest
	if code == "InternalServiceException" {
		status = http.StatusInternalServerError
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

func invalidInput(format string, args ...any) *Error {
	return errorf("InvalidInputException", format, args...)
}

func notFound(format string, args ...any) *Error {
	return errorf("EntityNotFoundException", format, args...)
}

type action func(s *Service, ctx context.Context, body []byte) (any, error)

var actions = map[string]action{
	"CreateDatabase":       (*Service).createDatabase,
	"GetDatabase":          (*Service).getDatabase,
	"GetDatabases":         (*Service).getDatabases,
	"UpdateDatabase":       (*Service).updateDatabase,
	"DeleteDatabase":       (*Service).deleteDatabase,
	"CreateTable":          (*Service).createTable,
	"GetTable":             (*Service).getTable,
	"GetTables":            (*Service).getTables,
	"UpdateTable":          (*Service).updateTable,
	"DeleteTable":          (*Service).deleteTable,
	"BatchDeleteTable":     (*Service).batchDeleteTable,
	"CreatePartition":      (*Service).createPartition,
	"BatchCreatePartition": (*Service).batchCreatePartition,
	"GetPartition":         (*Service).getPartition,
	"GetPartitions":        (*Service).getPartitions,
	"DeletePartition":      (*Service).deletePartition,
	"CreateCrawler":        (*Service).createCrawler,
	"GetCrawler":           (*Service).getCrawler,
	"GetCrawlers":          (*Service).getCrawlers,
	"ListCrawlers":         (*Service).listCrawlers,
	"UpdateCrawler":        (*Service).updateCrawler,
	"DeleteCrawler":        (*Service).deleteCrawler,
	"StartCrawler":         (*Service).startCrawler,
	"StopCrawler":          (*Service).stopCrawler,
	"GetCrawlerMetrics":    (*Service).getCrawlerMetrics,
	"CreateJob":            (*Service).createJob,
	"GetJob":               (*Service).getJob,
	"GetJobs":              (*Service).getJobs,
	"ListJobs":             (*Service).listJobs,
	"UpdateJob":            (*Service).updateJob,
	"DeleteJob":            (*Service).deleteJob,
	"StartJobRun":          (*Service).startJobRun,
	"GetJobRun":            (*Service).getJobRun,
	"GetJobRuns":           (*Service).getJobRuns,
	"BatchStopJobRun":      (*Service).batchStopJobRun,
}

// maxBody bounds a request body; Glue's largest requests (BatchCreatePartition of 100
// partitions) stay far below it.
const maxBody = 8 << 20

// ServeHTTP answers one Glue API request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSGlue.")
	if r.Method != http.MethodPost || !ok {
		writeError(w, errorf("UnknownOperationException", "expected POST with X-Amz-Target AWSGlue.<Action>"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeError(w, invalidInput("request body could not be read or is larger than %d bytes", maxBody))
		return
	}
	out, err := s.Call(r.Context(), name, body)
	if err != nil {
		writeError(w, err.(*Error))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = w.Write(out)
}

// Call runs one Glue action (its name without the AWSGlue. prefix) on a JSON request and
// returns the JSON response, or an *Error as Glue words it. It is the API without HTTP, for
// callers in the same process (Step Functions' aws-sdk:glue tasks, the project deployer).
func (s *Service) Call(ctx context.Context, action string, input []byte) ([]byte, error) {
	act := actions[action]
	if act == nil {
		return nil, errorf("UnknownOperationException", "operation %s is not supported by Stepline's Glue", action)
	}
	return s.call(ctx, action, act, input)
}

// StartJobRunOnce is StartJobRun (Call's input and answer) that starts one run per token:
// called again with the same token, it answers the run the first call started (or starts the
// run the first call reserved, when it stopped in between). Step Functions' glue:startJobRun
// tasks call it with their execution and task, so that a task dispatched again after a crash
// finds the run it started instead of starting a second one. The API has no such call.
func (s *Service) StartJobRunOnce(ctx context.Context, token string, input []byte) ([]byte, error) {
	return s.call(ctx, "StartJobRun", func(s *Service, ctx context.Context, body []byte) (any, error) {
		return s.startJobRunOnce(ctx, token, body)
	}, input)
}

func (s *Service) call(ctx context.Context, name string, act action, input []byte) ([]byte, error) {
	if len(input) == 0 {
		input = []byte("{}")
	}
	out, err := act(s, ctx, input)
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) {
			if f := store.Fault(s.o.Store, err); f != nil {
				ae = &Error{Code: "ServiceUnavailableException", Message: f.Error(), Status: http.StatusServiceUnavailable}
			} else {
				s.o.Logger.Error("glue: internal error", "action", name, "err", err)
				ae = errorf("InternalServiceException", "%s", err.Error())
			}
		}
		return nil, ae
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, errorf("InternalServiceException", "encode response: %s", err)
	}
	return b, nil
}

func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.WriteHeader(e.Status)
	b, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	_, _ = w.Write(b)
}

// decode reads a request into v; unknown fields are ignored, as AWS ignores them.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return invalidInput("request body is not valid: %s", err)
	}
	return nil
}

// epoch is a time as AWS JSON 1.1 sends it: seconds since the epoch, with milliseconds.
type epoch struct{ time.Time }

func at(t time.Time) *epoch { return &epoch{t.UTC().Truncate(time.Millisecond)} }

// MarshalJSON implements json.Marshaler.
func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(e.UnixMilli())/1000)), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (e *epoch) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	e.Time = time.UnixMilli(int64(f * 1000)).UTC()
	return nil
}

// storeErr turns the store's not-found and exists errors into Glue's, naming the entity.
func storeErr(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("%s not found", what)
	case errors.Is(err, store.ErrGlueAlreadyExists):
		return errorf("AlreadyExistsException", "%s already exists.", what)
	case errors.Is(err, store.ErrInvalidCursor):
		return invalidInput("invalid NextToken")
	}
	return err
}

// page converts MaxResults to a store limit: Glue's default page is 100 and its largest 1000.
func page(max int) (int, error) {
	switch {
	case max == 0:
		return 100, nil
	case max < 0 || max > 1000:
		return 0, invalidInput("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000", max)
	}
	return max, nil
}
