package glue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// Crawler states and last-crawl statuses, as Glue reports them.
const (
	crawlerReady    = "READY"
	crawlerRunning  = "RUNNING"
	crawlerStopping = "STOPPING"

	crawlSucceeded = "SUCCEEDED"
	crawlFailed    = "FAILED"
	crawlCancelled = "CANCELLED"
)

// S3Target is one S3 path a crawler crawls.
type S3Target struct {
	Path       string   `json:"Path"`
	Exclusions []string `json:"Exclusions,omitempty"`
	SampleSize *int     `json:"SampleSize,omitempty"`
}

// CrawlerTargets are a crawler's targets; only S3 targets are crawled here.
type CrawlerTargets struct {
	S3Targets []S3Target `json:"S3Targets"`
}

// SchemaChangePolicy says what a crawl does with a changed or vanished table.
type SchemaChangePolicy struct {
	UpdateBehavior string `json:"UpdateBehavior,omitempty"`
	DeleteBehavior string `json:"DeleteBehavior,omitempty"`
}

// LastCrawl is the outcome of a crawler's last crawl.
type LastCrawl struct {
	Status        string `json:"Status"`
	ErrorMessage  string `json:"ErrorMessage,omitempty"`
	LogGroup      string `json:"LogGroup,omitempty"`
	LogStream     string `json:"LogStream,omitempty"`
	MessagePrefix string `json:"MessagePrefix,omitempty"`
	StartTime     *epoch `json:"StartTime,omitempty"`
}

// Crawler is a crawler as GetCrawler returns it.
type Crawler struct {
	Name                 string              `json:"Name"`
	Role                 string              `json:"Role,omitempty"`
	Targets              CrawlerTargets      `json:"Targets"`
	DatabaseName         string              `json:"DatabaseName,omitempty"`
	Description          string              `json:"Description,omitempty"`
	Classifiers          []string            `json:"Classifiers"`
	RecrawlPolicy        json.RawMessage     `json:"RecrawlPolicy,omitempty"`
	SchemaChangePolicy   *SchemaChangePolicy `json:"SchemaChangePolicy,omitempty"`
	LineageConfiguration json.RawMessage     `json:"LineageConfiguration,omitempty"`
	State                string              `json:"State"`
	TablePrefix          string              `json:"TablePrefix,omitempty"`
	Schedule             json.RawMessage     `json:"Schedule,omitempty"`
	CrawlElapsedTime     int64               `json:"CrawlElapsedTime"`
	CreationTime         *epoch              `json:"CreationTime,omitempty"`
	LastUpdated          *epoch              `json:"LastUpdated,omitempty"`
	LastCrawl            *LastCrawl          `json:"LastCrawl,omitempty"`
	Version              int64               `json:"Version"`
	Configuration        string              `json:"Configuration,omitempty"`
}

// crawlerDoc is what the store keeps of a crawler: the API's view and when the crawl in
// progress started.
type crawlerDoc struct {
	Crawler    Crawler `json:"crawler"`
	RunStarted *epoch  `json:"runStarted,omitempty"`
	// StopAsked: StopCrawler moved the crawl to STOPPING (a crawl also goes STOPPING by
	// itself once its tables are written).
	StopAsked bool          `json:"stopAsked,omitempty"`
	Metrics   *crawlMetrics `json:"metrics,omitempty"`
}

// crawlMetrics are what GetCrawlerMetrics reports of a crawler's last crawl.
type crawlMetrics struct {
	TablesCreated, TablesUpdated, TablesDeleted int
	// Runtimes are the last crawls' durations in seconds, the newest last (for the median).
	Runtimes []float64
}

// maxRuntimes is how many crawl durations the median is taken over.
const maxRuntimes = 10

// crawlerInput is CreateCrawler's and UpdateCrawler's request.
type crawlerInput struct {
	Name                 string
	Role                 *string
	DatabaseName         *string
	Description          *string
	Targets              *CrawlerTargets
	Schedule             *string
	Classifiers          []string
	TablePrefix          *string
	SchemaChangePolicy   *SchemaChangePolicy
	RecrawlPolicy        json.RawMessage
	LineageConfiguration json.RawMessage
	Configuration        *string
}

// apply sets the fields the input names on c, checking them.
func (in *crawlerInput) apply(c *Crawler) error {
	if in.Role != nil {
		c.Role = *in.Role
	}
	if in.DatabaseName != nil {
		c.DatabaseName = *in.DatabaseName
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if in.Targets != nil {
		for _, t := range in.Targets.S3Targets {
			if _, _, err := parseS3(t.Path); err != nil {
				return err
			}
		}
		c.Targets = *in.Targets
	}
	if in.Schedule != nil {
		if *in.Schedule == "" {
			c.Schedule = nil
		} else {
			c.Schedule, _ = json.Marshal(map[string]string{"ScheduleExpression": *in.Schedule, "State": "SCHEDULED"})
		}
	}
	if in.Classifiers != nil {
		c.Classifiers = in.Classifiers
	}
	if in.TablePrefix != nil {
		c.TablePrefix = *in.TablePrefix
	}
	if in.SchemaChangePolicy != nil {
		p := *in.SchemaChangePolicy
		switch p.UpdateBehavior {
		case "":
			p.UpdateBehavior = "UPDATE_IN_DATABASE"
		case "UPDATE_IN_DATABASE", "LOG":
		default:
			return invalidInput("UpdateBehavior must be UPDATE_IN_DATABASE or LOG")
		}
		switch p.DeleteBehavior {
		case "":
			p.DeleteBehavior = "DEPRECATE_IN_DATABASE"
		case "LOG", "DELETE_FROM_DATABASE", "DEPRECATE_IN_DATABASE":
		default:
			return invalidInput("DeleteBehavior must be LOG, DELETE_FROM_DATABASE or DEPRECATE_IN_DATABASE")
		}
		c.SchemaChangePolicy = &p
	}
	if in.RecrawlPolicy != nil {
		c.RecrawlPolicy = in.RecrawlPolicy
	}
	if in.LineageConfiguration != nil {
		c.LineageConfiguration = in.LineageConfiguration
	}
	if in.Configuration != nil {
		c.Configuration = *in.Configuration
	}
	if c.Role == "" {
		return invalidInput("Role is required")
	}
	if len(c.Targets.S3Targets) == 0 {
		return invalidInput("Crawler must have at least one target (Stepline crawls S3 targets)")
	}
	return nil
}

// parseS3 splits s3://bucket/prefix.
func parseS3(p string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(p, "s3://")
	if !ok {
		if rest, ok = strings.CutPrefix(p, "s3a://"); !ok {
			return "", "", invalidInput("S3 target path %q must start with s3://", p)
		}
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" || bucket == "." || bucket == ".." || strings.HasPrefix(bucket, ".") {
		return "", "", invalidInput("S3 target path %q names no bucket", p)
	}
	for _, part := range strings.Split(prefix, "/") {
		if part == ".." {
			return "", "", invalidInput("S3 target path %q may not hold ..", p)
		}
	}
	return bucket, prefix, nil
}

func (s *Service) readCrawler(ctx context.Context, name string) (*crawlerDoc, *store.GlueEntity, error) {
	e, err := s.o.Store.GlueGet(ctx, &store.GlueGetParams{Kind: store.GlueCrawler, Name: name})
	if err != nil {
		return nil, nil, storeErr(err, "Crawler with name "+name)
	}
	var d crawlerDoc
	if err := json.Unmarshal(e.Doc, &d); err != nil {
		return nil, nil, fmt.Errorf("glue: crawler %s: %w", name, err)
	}
	return &d, e, nil
}

// view is the crawler as the API shows it now: CrawlElapsedTime counts while it runs.
func (s *Service) view(d *crawlerDoc) *Crawler {
	c := d.Crawler
	if c.State != crawlerReady && d.RunStarted != nil {
		c.CrawlElapsedTime = s.o.Clock.Now().Sub(d.RunStarted.Time).Milliseconds()
	}
	if c.Classifiers == nil {
		c.Classifiers = []string{}
	}
	return &c
}

func (s *Service) createCrawler(ctx context.Context, body []byte) (any, error) {
	var in crawlerInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.checkName("name", in.Name); err != nil {
		return nil, err
	}
	now := s.o.Clock.Now()
	c := Crawler{Name: in.Name, State: crawlerReady, CreationTime: at(now), LastUpdated: at(now), Version: 1,
		SchemaChangePolicy: &SchemaChangePolicy{UpdateBehavior: "UPDATE_IN_DATABASE", DeleteBehavior: "DEPRECATE_IN_DATABASE"}}
	if err := in.apply(&c); err != nil {
		return nil, err
	}
	doc, _ := json.Marshal(crawlerDoc{Crawler: c})
	_, err := s.o.Store.GlueCreate(ctx, &store.GlueCreateParams{Kind: store.GlueCrawler, Name: c.Name, Doc: doc, Now: now})
	if errors.Is(err, store.ErrGlueAlreadyExists) {
		return nil, errorf("AlreadyExistsException", "%s already exists", c.Name)
	}
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Service) getCrawler(ctx context.Context, body []byte) (any, error) {
	var in struct{ Name string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d, _, err := s.readCrawler(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Crawler": s.view(d)}, nil
}

func (s *Service) listCrawlerEntities(ctx context.Context, body []byte) ([]*store.GlueEntity, string, error) {
	var in struct {
		MaxResults int
		NextToken  string
	}
	if err := decode(body, &in); err != nil {
		return nil, "", err
	}
	limit, err := page(in.MaxResults)
	if err != nil {
		return nil, "", err
	}
	res, err := s.o.Store.GlueList(ctx, &store.GlueListParams{Kind: store.GlueCrawler, Limit: limit, Cursor: in.NextToken})
	if err != nil {
		return nil, "", storeErr(err, "")
	}
	return res.Entities, res.NextCursor, nil
}

func (s *Service) getCrawlers(ctx context.Context, body []byte) (any, error) {
	es, next, err := s.listCrawlerEntities(ctx, body)
	if err != nil {
		return nil, err
	}
	list := []*Crawler{}
	for _, e := range es {
		var d crawlerDoc
		if err := json.Unmarshal(e.Doc, &d); err != nil {
			return nil, fmt.Errorf("glue: crawler %s: %w", e.Name, err)
		}
		list = append(list, s.view(&d))
	}
	return map[string]any{"Crawlers": list, "NextToken": omit(next)}, nil
}

func (s *Service) listCrawlers(ctx context.Context, body []byte) (any, error) {
	es, next, err := s.listCrawlerEntities(ctx, body)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, e := range es {
		names = append(names, e.Name)
	}
	return map[string]any{"CrawlerNames": names, "NextToken": omit(next)}, nil
}

func (s *Service) updateCrawler(ctx context.Context, body []byte) (any, error) {
	var in crawlerInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d, e, err := s.readCrawler(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	if d.Crawler.State != crawlerReady {
		return nil, errorf("CrawlerRunningException", "Crawler with name %s has already started", in.Name)
	}
	if err := in.apply(&d.Crawler); err != nil {
		return nil, err
	}
	d.Crawler.LastUpdated = at(s.o.Clock.Now())
	d.Crawler.Version++ // Glue counts a crawler's definitions, not its state changes
	doc, _ := json.Marshal(d)
	if _, err := s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: store.GlueCrawler, Name: in.Name, IfVersion: e.Version,
		Doc: doc, Now: s.o.Clock.Now()}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errorf("CrawlerRunningException", "Crawler with name %s has already started", in.Name)
		}
		return nil, storeErr(err, "Crawler with name "+in.Name)
	}
	return struct{}{}, nil
}

func (s *Service) deleteCrawler(ctx context.Context, body []byte) (any, error) {
	var in struct{ Name string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d, _, err := s.readCrawler(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	if d.Crawler.State != crawlerReady {
		return nil, errorf("CrawlerRunningException", "%s is running", in.Name)
	}
	if err := s.o.Store.GlueDelete(ctx, &store.GlueDeleteParams{Kind: store.GlueCrawler, Name: in.Name}); err != nil {
		return nil, storeErr(err, "Crawler with name "+in.Name)
	}
	return struct{}{}, nil
}

func newPrefix() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Service) startCrawler(ctx context.Context, body []byte) (any, error) {
	var in struct{ Name string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d, e, err := s.readCrawler(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	if d.Crawler.State != crawlerReady {
		return nil, errorf("CrawlerRunningException", "Crawler with name %s has already started", in.Name)
	}
	if d.Crawler.DatabaseName == "" {
		return nil, invalidInput("Crawler %s has no DatabaseName", in.Name)
	}
	now := s.o.Clock.Now()
	d.Crawler.State, d.RunStarted, d.Crawler.CrawlElapsedTime, d.StopAsked = crawlerRunning, at(now), 0, false
	prefix := newPrefix()
	doc, _ := json.Marshal(d)
	// The compare-and-swap on the version makes one start win when two nodes start at once.
	if _, err := s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: store.GlueCrawler, Name: in.Name, IfVersion: e.Version,
		Doc: doc, Active: true, Owner: s.o.NodeID, Now: now}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errorf("CrawlerRunningException", "Crawler with name %s has already started", in.Name)
		}
		return nil, storeErr(err, "Crawler with name "+in.Name)
	}
	cctx, cancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	s.crawls[in.Name] = cancel
	s.mu.Unlock()
	started := s.goTracked(func() {
		defer cancel()
		s.runCrawl(cctx, in.Name, prefix, now)
	})
	if !started {
		cancel()
		return nil, errorf("InternalServiceException", "the service is shutting down")
	}
	return struct{}{}, nil
}

func (s *Service) stopCrawler(ctx context.Context, body []byte) (any, error) {
	var in struct{ Name string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	for {
		d, e, err := s.readCrawler(ctx, in.Name)
		if err != nil {
			return nil, err
		}
		switch d.Crawler.State {
		case crawlerReady:
			return nil, errorf("CrawlerNotRunningException", "Crawler with name %s isn't running", in.Name)
		case crawlerStopping:
			return nil, errorf("CrawlerStoppingException", "Crawler with name %s is stopping", in.Name)
		}
		d.Crawler.State, d.StopAsked = crawlerStopping, true
		doc, _ := json.Marshal(d)
		_, err = s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: store.GlueCrawler, Name: in.Name, IfVersion: e.Version,
			Doc: doc, Active: e.Active, Owner: e.Owner, Now: s.o.Clock.Now()})
		if errors.Is(err, store.ErrConflict) {
			continue // the crawl moved on meanwhile; look again
		}
		if err != nil {
			return nil, storeErr(err, "Crawler with name "+in.Name)
		}
		break
	}
	// The crawl notices STOPPING between folders; when it runs here, it stops at once.
	s.mu.Lock()
	if cancel := s.crawls[in.Name]; cancel != nil {
		cancel()
	}
	s.mu.Unlock()
	return struct{}{}, nil
}

// finishCrawl records a crawl's end: READY, with its LastCrawl. It retries a lost
// compare-and-swap (StopCrawler writing meanwhile) and writes even while the service closes. A
// stop asked after the crawl's last look at its state comes too late: the crawl is done.
func (s *Service) finishCrawl(name string, last LastCrawl, counts *crawlLog) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		d, e, err := s.readCrawler(ctx, name)
		if err != nil {
			s.o.Logger.Error("glue: crawl end", "crawler", name, "err", err)
			return
		}
		if d.RunStarted != nil {
			d.Crawler.CrawlElapsedTime = s.o.Clock.Now().Sub(d.RunStarted.Time).Milliseconds()
		}
		if counts != nil {
			m := &crawlMetrics{TablesCreated: counts.created, TablesUpdated: counts.updated, TablesDeleted: counts.deleted}
			if d.Metrics != nil {
				m.Runtimes = d.Metrics.Runtimes
			}
			m.Runtimes = append(m.Runtimes, float64(d.Crawler.CrawlElapsedTime)/1000)
			if len(m.Runtimes) > maxRuntimes {
				m.Runtimes = m.Runtimes[len(m.Runtimes)-maxRuntimes:]
			}
			d.Metrics = m
		}
		d.Crawler.State, d.Crawler.LastCrawl, d.RunStarted, d.StopAsked = crawlerReady, &last, nil, false
		doc, _ := json.Marshal(d)
		_, err = s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: store.GlueCrawler, Name: name, IfVersion: e.Version,
			Doc: doc, Now: s.o.Clock.Now()})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			s.o.Logger.Error("glue: crawl end", "crawler", name, "err", err)
		}
		return
	}
}

// crawlStopped reports whether a stop was asked (the crawler is STOPPING). When finishing, it
// moves the crawler to STOPPING, as Glue does once a crawl has written its tables.
func (s *Service) crawlStopped(ctx context.Context, name string, finishing bool) bool {
	d, e, err := s.readCrawler(ctx, name)
	if err != nil {
		return false
	}
	if d.Crawler.State == crawlerStopping {
		return true
	}
	if finishing {
		d.Crawler.State = crawlerStopping
		doc, _ := json.Marshal(d)
		_, _ = s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: store.GlueCrawler, Name: name, IfVersion: e.Version,
			Doc: doc, Active: e.Active, Owner: e.Owner, Now: s.o.Clock.Now()})
	}
	return false
}

func (s *Service) runCrawl(ctx context.Context, name, prefix string, started time.Time) {
	defer func() {
		s.mu.Lock()
		delete(s.crawls, name)
		s.mu.Unlock()
	}()
	last := LastCrawl{Status: crawlSucceeded, LogGroup: "/aws-glue/crawlers", LogStream: name, MessagePrefix: prefix, StartTime: at(started)}
	log := s.crawlLog(name, prefix)
	defer log.close()
	log.printf("BENCHMARK : Running Start Crawl for Crawler %s", name)
	err := safely(func() error { return s.crawl(ctx, name, log) })
	switch {
	case s.ctx.Err() != nil:
		last.Status, last.ErrorMessage = crawlFailed, "Crawl was interrupted: the Stepline server stopped while the crawler ran"
	case errors.Is(err, context.Canceled) || errors.Is(err, errStopped):
		last.Status = crawlCancelled
	case err != nil:
		last.Status, last.ErrorMessage = crawlFailed, err.Error()
	}
	if last.ErrorMessage != "" {
		log.printf("ERROR : %s", last.ErrorMessage)
	}
	log.printf("BENCHMARK : Crawler has finished running and is in state READY")
	s.finishCrawl(name, last, log)
}

var errStopped = errors.New("crawl stopped")

// crawlError is a crawl's failure worded as Glue words it in LastCrawl.ErrorMessage.
type crawlError string

func (e crawlError) Error() string { return string(e) }

// recoverCrawls ends the crawls this node was running when it stopped without Close.
func (s *Service) recoverCrawls(ctx context.Context) error {
	var left []*store.GlueEntity
	for cursor := ""; ; {
		res, err := s.o.Store.GlueList(ctx, &store.GlueListParams{Kind: store.GlueCrawler, Owner: s.o.NodeID, Limit: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("glue: recover crawls: %w", err)
		}
		left = append(left, res.Entities...)
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	for _, e := range left {
		var d crawlerDoc
		if json.Unmarshal(e.Doc, &d) != nil {
			continue
		}
		start := time.Time{}
		if d.RunStarted != nil {
			start = d.RunStarted.Time
		}
		s.finishCrawl(e.Name, interruptedCrawl(&d, e.Name, fmt.Sprintf(
			"Crawl was interrupted: the Stepline server (node %s) stopped while the crawler ran; run the crawler again", s.o.NodeID), start), nil)
	}
	return nil
}

// interruptedCrawl is the last crawl of a crawler whose node stopped during the crawl: FAILED
// with msg, or CANCELLED when StopCrawler had asked it to stop, since what was asked happened.
func interruptedCrawl(d *crawlerDoc, name, msg string, start time.Time) LastCrawl {
	last := LastCrawl{Status: crawlFailed, ErrorMessage: msg, LogGroup: "/aws-glue/crawlers", LogStream: name}
	if d.StopAsked {
		last.Status, last.ErrorMessage = crawlCancelled, ""
	}
	if !start.IsZero() {
		last.StartTime = at(start)
	}
	return last
}

// ---- the crawl ----

// tableScan gathers the files of one table: the folder under the target path that holds them.
type tableScan struct {
	name     string
	folder   string // the first-level folder under the target; "" for the target itself
	location string // s3://…/ of the table's folder
	dir      string // the folder on disk
	keys     []string
	parts    map[string]*partScan
	files    []fileInfo
}

type partScan struct {
	values   []string
	location string
	files    []fileInfo
}

type fileInfo struct {
	path string
	size int64
}

// maxFilesClassified bounds how many files of one table (or partition) are read to infer its
// schema; the others are counted by size, as Glue samples files of large folders.
const maxFilesClassified = 100

func (s *Service) crawl(ctx context.Context, name string, log *crawlLog) error {
	d, _, err := s.readCrawler(ctx, name)
	if err != nil {
		return err
	}
	c := d.Crawler
	if _, _, err := s.readDatabase(ctx, c.DatabaseName); err != nil {
		var ae *Error
		if errors.As(err, &ae) && ae.Code == "EntityNotFoundException" {
			return crawlError("Database " + c.DatabaseName + " not found")
		}
		return err
	}
	crawled := map[string]bool{}
	sc := &scratch{base: filepath.Join(s.o.Dir, "glue", "crawls")}
	defer sc.remove()
	for _, target := range c.Targets.S3Targets {
		tables, err := s.scanTarget(ctx, target, c.TablePrefix, sc)
		if err != nil {
			return err
		}
		for _, t := range tables {
			crawled[t.name] = true
			if err := ctx.Err(); err != nil {
				return err
			}
			if s.crawlStopped(ctx, name, false) {
				return errStopped
			}
			if err := s.crawlTable(ctx, &c, t, log); err != nil {
				return err
			}
		}
	}
	if err := s.vanished(ctx, &c, crawled, log); err != nil {
		return err
	}
	if s.crawlStopped(ctx, name, true) {
		return errStopped
	}
	return nil
}

// vanished applies the crawler's DeleteBehavior to the tables it wrote before whose folders
// it no longer finds under its targets: DEPRECATE_IN_DATABASE (the default) marks them
// DEPRECATED_BY_CRAWLER, DELETE_FROM_DATABASE deletes them, LOG only says so.
func (s *Service) vanished(ctx context.Context, c *Crawler, crawled map[string]bool, log *crawlLog) error {
	behavior := "DEPRECATE_IN_DATABASE"
	if c.SchemaChangePolicy != nil && c.SchemaChangePolicy.DeleteBehavior != "" {
		behavior = c.SchemaChangePolicy.DeleteBehavior
	}
	db := catalogName(c.DatabaseName)
	for cursor := ""; ; {
		res, err := s.o.Store.GlueList(ctx, &store.GlueListParams{Kind: store.GlueTable, Parent: db, Limit: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, e := range res.Entities {
			var t Table
			if json.Unmarshal(e.Doc, &t) != nil || crawled[t.Name] || t.Parameters["UPDATED_BY_CRAWLER"] != c.Name ||
				t.Parameters["DEPRECATED_BY_CRAWLER"] != "" || !underTargets(t.StorageDescriptor, c.Targets.S3Targets) {
				continue
			}
			switch behavior {
			case "LOG":
				log.printf("INFO : Table %s: its folder is gone; DeleteBehavior LOG leaves it", t.Name)
			case "DELETE_FROM_DATABASE":
				log.printf("INFO : DELETE : Table %s in database %s (its folder is gone)", t.Name, db)
				if err := s.dropTable(ctx, db, t.Name); err != nil {
					return err
				}
				log.deleted++
			default:
				log.printf("INFO : DEPRECATE : Table %s in database %s (its folder is gone)", t.Name, db)
				t.Parameters["DEPRECATED_BY_CRAWLER"] = "1"
				if err := s.putTable(ctx, &t, false); err != nil {
					return err
				}
			}
		}
		if cursor = res.NextCursor; cursor == "" {
			return nil
		}
	}
}

func underTargets(sd *StorageDescriptor, targets []S3Target) bool {
	if sd == nil {
		return false
	}
	for _, t := range targets {
		if strings.HasPrefix(sd.Location, strings.TrimSuffix(t.Path, "/")+"/") {
			return true
		}
	}
	return false
}

// globRegexp compiles an exclusion pattern as Glue reads it: * within a folder, ** across.
func globRegexp(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

var nonAlnum = regexp.MustCompile(`[^a-z0-9_]`)

// tableName is how Glue names a crawled table: prefix and folder, lowercased, anything else
// than letters, digits and _ replaced by _.
func tableName(prefix, folder string) string {
	return nonAlnum.ReplaceAllString(strings.ToLower(prefix+folder), "_")
}

func (s *Service) scanTarget(ctx context.Context, target S3Target, tablePrefix string, sc *scratch) ([]*tableScan, error) {
	bucket, prefix, err := parseS3(target.Path)
	if err != nil {
		return nil, err
	}
	prefix = strings.TrimSuffix(prefix, "/")
	root := filepath.Join(s.o.Dir, "s3", bucket, filepath.FromSlash(prefix))
	if s.bound(bucket) {
		// Its objects are at its endpoint: the crawl reads copies of them.
		dir, err := sc.path()
		if err != nil {
			return nil, fmt.Errorf("crawl %s: %w", target.Path, err)
		}
		if root, err = s.download(ctx, dir, bucket, prefix); err != nil {
			return nil, fmt.Errorf("crawl %s: %w", target.Path, err)
		}
	}
	var excl []*regexp.Regexp
	for _, e := range target.Exclusions {
		re, err := globRegexp(e)
		if err != nil {
			return nil, fmt.Errorf("exclusion %q: %w", e, err)
		}
		excl = append(excl, re)
	}
	base := "s3://" + bucket + "/"
	if prefix != "" {
		base += prefix + "/"
	}
	rootName := bucket
	if prefix != "" {
		rootName = prefix[strings.LastIndex(prefix, "/")+1:]
	}
	tables := map[string]*tableScan{}
	err = filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll // an empty target: no tables
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		// Glue skips names starting with _ or . (_SUCCESS, .crc files, hidden folders).
		if b := de.Name(); strings.HasPrefix(b, "_") || strings.HasPrefix(b, ".") {
			if de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		for _, re := range excl {
			if re.MatchString(rel) || de.IsDir() && re.MatchString(rel+"/") {
				if de.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
		}
		if !de.Type().IsRegular() {
			return nil
		}
		info, err := de.Info()
		if err != nil {
			return nil
		}
		dirs := strings.Split(rel, "/")
		dirs = dirs[:len(dirs)-1]
		tdir, tname, partDirs := "", rootName, dirs
		if len(dirs) > 0 && !strings.Contains(dirs[0], "=") {
			tdir, tname, partDirs = dirs[0], dirs[0], dirs[1:]
		}
		t := tables[tdir]
		if t == nil {
			loc := base
			if tdir != "" {
				loc += tdir + "/"
			}
			t = &tableScan{name: tableName(tablePrefix, tname), folder: tdir, location: loc, dir: filepath.Join(root, tdir), parts: map[string]*partScan{}}
			for _, pd := range partDirs {
				k, _, ok := strings.Cut(pd, "=")
				if !ok {
					k = fmt.Sprintf("partition_%d", len(t.keys))
				}
				t.keys = append(t.keys, strings.ToLower(k))
			}
			tables[tdir] = t
		}
		fi := fileInfo{path: p, size: info.Size()}
		t.files = append(t.files, fi)
		if len(t.keys) > 0 && len(partDirs) == len(t.keys) {
			vals := make([]string, len(partDirs))
			for i, pd := range partDirs {
				if _, v, ok := strings.Cut(pd, "="); ok {
					vals[i] = v
				} else {
					vals[i] = pd
				}
			}
			key := strings.Join(partDirs, "/")
			ps := t.parts[key]
			if ps == nil {
				loc := t.location + key + "/"
				ps = &partScan{values: vals, location: loc}
				t.parts[key] = ps
			}
			ps.files = append(ps.files, fi)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("crawl %s: %w", target.Path, err)
	}
	out := make([]*tableScan, 0, len(tables))
	for _, t := range tables {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].location < out[j].location })
	if merged := mergeSimilar(out, tableName(tablePrefix, rootName), base, root); merged != nil {
		return []*tableScan{merged}, nil
	}
	return out, nil
}

// mergeSimilar makes one table of the target's folders when they hold files of one schema, as
// Glue does: sibling folders like 2024/ and 2025/ under the target are then partitions
// (partition_0) of a table named after the target, not tables of their own. It returns nil
// when the folders differ (classification, columns or depth), when there are fewer than two,
// or when the target holds files of its own.
func mergeSimilar(tables []*tableScan, name, base, root string) *tableScan {
	if len(tables) < 2 {
		return nil
	}
	var sig string
	for i, t := range tables {
		if t.folder == "" || len(t.keys) != len(tables[0].keys) || len(t.files) == 0 {
			return nil
		}
		fs, err := classifyFile(t.files[0].path)
		if err != nil {
			return nil
		}
		names := make([]string, len(fs.Columns))
		for j, c := range fs.Columns {
			names[j] = c.Name
		}
		sort.Strings(names)
		ts := fs.Classification + "\x00" + strings.Join(names, ",")
		if i == 0 {
			sig = ts
		} else if ts != sig {
			return nil
		}
	}
	m := &tableScan{name: name, location: base, dir: root, parts: map[string]*partScan{}, keys: []string{"partition_0"}}
	for _, k := range tables[0].keys {
		if n, ok := strings.CutPrefix(k, "partition_"); ok && isInt(n) {
			i, _ := strconv.Atoi(n)
			k = fmt.Sprintf("partition_%d", i+1)
		}
		m.keys = append(m.keys, k)
	}
	for _, t := range tables {
		m.files = append(m.files, t.files...)
		if len(t.keys) == 0 {
			m.parts[t.folder] = &partScan{values: []string{t.folder}, location: t.location, files: t.files}
			continue
		}
		for k, p := range t.parts {
			m.parts[t.folder+"/"+k] = &partScan{values: append([]string{t.folder}, p.values...), location: p.location, files: p.files}
		}
	}
	return m
}

// summary is the merged schema and statistics of a set of files.
type summary struct {
	schema  *fileSchema
	objects int
	size    int64
	records int64
	avgSize int64
}

// summarize classifies the files (up to maxFilesClassified of them) and merges their schemas;
// files no classifier recognises, or of another classification than the first, are left out.
// The record count is the classified files' estimates, extrapolated by size to the others.
// known holds files already classified in this crawl (a table's, met again in its
// partitions), and gets those classified here, up to maxFilesClassified of them.
func summarize(ctx context.Context, files []fileInfo, log *crawlLog, known map[string]*fileSchema) (*summary, error) {
	sum := &summary{}
	var sampleRecords, sampleBytes, estimate, classifiedSize, otherSize int64
	classified := 0
	for _, f := range files {
		sum.objects++
		sum.size += f.size
		if classified >= maxFilesClassified {
			otherSize += f.size
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fs := known[f.path]
		if fs == nil {
			var err error
			if fs, err = classifyFile(f.path); err != nil {
				log.printf("WARN : file %s was not classified: %v", filepath.Base(f.path), err)
				continue
			}
			if len(known) < maxFilesClassified { // a table's worth, not every partition's
				known[f.path] = fs
			}
		}
		classified++
		if sum.schema == nil {
			first := *fs // merged into: the known one stays as its file is
			sum.schema = &first
		} else if fs.Classification != sum.schema.Classification {
			log.printf("WARN : file %s is %s, the table %s; left out", filepath.Base(f.path), fs.Classification, sum.schema.Classification)
			continue
		} else {
			sum.schema.Columns = mergeColumns(sum.schema.Columns, fs.Columns)
		}
		sampleRecords += fs.Records
		sampleBytes += fs.SampleBytes
		estimate += fs.Estimate
		classifiedSize += f.size
	}
	if sum.schema == nil {
		return sum, nil
	}
	sum.records = estimate
	if otherSize > 0 && classifiedSize > 0 {
		sum.records += int64(float64(estimate) * float64(otherSize) / float64(classifiedSize))
	}
	if sampleRecords > 0 {
		sum.avgSize = sampleBytes / sampleRecords
	}
	return sum, nil
}

// mergeColumns adds b's new columns after a's and widens the types of those in both.
func mergeColumns(a, b []Column) []Column {
	out := append([]Column(nil), a...)
	for _, c := range b {
		found := false
		for i := range out {
			if out[i].Name == c.Name {
				if out[i].Type != c.Type {
					out[i].Type = widen(out[i].Type, c.Type)
				}
				found = true
				break
			}
		}
		if !found {
			out = append(out, c)
		}
	}
	return out
}

// storage builds the storage descriptor and parameters Glue writes for a classified folder.
func storage(crawler string, sum *summary, location string) (*StorageDescriptor, map[string]string) {
	fs := sum.schema
	params := map[string]string{
		"classification":                   fs.Classification,
		"compressionType":                  fs.Compression,
		"typeOfData":                       "file",
		"objectCount":                      fmt.Sprint(sum.objects),
		"sizeKey":                          fmt.Sprint(sum.size),
		"recordCount":                      fmt.Sprint(sum.records),
		"averageRecordSize":                fmt.Sprint(sum.avgSize),
		"UPDATED_BY_CRAWLER":               crawler,
		"CrawlerSchemaDeserializerVersion": "1.0",
		"CrawlerSchemaSerializerVersion":   "1.0",
	}
	sd := &StorageDescriptor{Columns: fs.Columns, Location: location, Compressed: fs.Compression != "none" && fs.Classification != classParquet,
		NumberOfBuckets: -1, BucketColumns: []string{}, SortColumns: []json.RawMessage{}}
	switch fs.Classification {
	case classCSV:
		params["delimiter"] = fs.Delimiter
		params["columnsOrdered"] = "true"
		params["areColumnsQuoted"] = fmt.Sprint(fs.Quoted)
		sd.InputFormat = "org.apache.hadoop.mapred.TextInputFormat"
		sd.OutputFormat = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
		serde := map[string]string{"field.delim": fs.Delimiter}
		if fs.Header {
			params["skip.header.line.count"] = "1"
		}
		sd.SerdeInfo = &SerDeInfo{SerializationLibrary: "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", Parameters: serde}
	case classJSON:
		sd.InputFormat = "org.apache.hadoop.mapred.TextInputFormat"
		sd.OutputFormat = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
		sd.SerdeInfo = &SerDeInfo{SerializationLibrary: "org.openx.data.jsonserde.JsonSerDe", Parameters: map[string]string{"paths": columnList(fs.Columns)}}
	case classParquet:
		sd.InputFormat = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
		sd.OutputFormat = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
		sd.SerdeInfo = &SerDeInfo{SerializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
			Parameters: map[string]string{"serialization.format": "1"}}
	}
	sd.Parameters = params
	return sd, params
}

func columnList(cs []Column) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, ",")
}

// sameSchema reports whether two column lists are equal.
func sameSchema(a, b []Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Type != b[i].Type {
			return false
		}
	}
	return true
}

func (s *Service) crawlTable(ctx context.Context, c *Crawler, t *tableScan, log *crawlLog) error {
	known := map[string]*fileSchema{}
	sum, err := summarize(ctx, t.files, log, known)
	if err != nil {
		return err
	}
	if sum.schema == nil {
		log.printf("WARN : no file under %s was classified; no table written", t.location)
		return nil
	}
	sd, params := storage(c.Name, sum, t.location)
	keys := []Column{}
	for _, k := range t.keys {
		typ := "string"
		if allNumbers(t.parts, len(keys)) {
			typ = "bigint"
		}
		keys = append(keys, Column{Name: k, Type: typ})
	}
	// A column named like a partition key is the key's: Hive tables cannot have both.
	cols := sd.Columns[:0:0]
	for _, col := range sd.Columns {
		dup := false
		for _, k := range keys {
			dup = dup || k.Name == col.Name
		}
		if !dup {
			cols = append(cols, col)
		}
	}
	sd.Columns = cols
	table := &Table{Name: t.name, DatabaseName: catalogName(c.DatabaseName), Owner: "owner", TableType: "EXTERNAL_TABLE",
		StorageDescriptor: sd, PartitionKeys: keys, Parameters: params, CatalogID: s.o.Account,
		CreatedBy: fmt.Sprintf("arn:aws:sts::%s:assumed-role/AWSGlueServiceRole/AWS-Crawler", s.o.Account)}
	old, _, err := s.readTable(ctx, c.DatabaseName, t.name)
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) || ae.Code != "EntityNotFoundException" {
			return err
		}
		old = nil
	}
	// The partitions are written before the table: a crawl that ends half way (a crash, a
	// failed write) leaves no new table with only some of its partitions, since the table, one
	// write, appears only once they all are there (partitions without their table are not
	// listed, and the next crawl writes them again).
	if err := s.crawlPartitions(ctx, c, table, t, log, known); err != nil {
		return err
	}
	if old == nil {
		log.printf("INFO : CREATE : Table %s in database %s", t.name, c.DatabaseName)
		log.created++
		return s.putTable(ctx, table, true)
	}
	changed := !sameSchema(columnsOf(old.StorageDescriptor), sd.Columns) || !sameSchema(old.PartitionKeys, keys)
	if changed && c.SchemaChangePolicy != nil && c.SchemaChangePolicy.UpdateBehavior == "LOG" {
		log.printf("INFO : The schema of table %s changed; SchemaChangePolicy LOG leaves the table as it is", t.name)
		return nil
	}
	if changed {
		log.printf("INFO : UPDATE : Table %s in database %s (schema changed)", t.name, c.DatabaseName)
		log.updated++
	}
	return s.putTable(ctx, table, false)
}

// crawlPartitions writes the partitions of a crawled table, each with the table's columns.
func (s *Service) crawlPartitions(ctx context.Context, c *Crawler, table *Table, t *tableScan, log *crawlLog, known map[string]*fileSchema) error {
	keysOf := make([]string, 0, len(t.parts))
	for k := range t.parts {
		keysOf = append(keysOf, k)
	}
	sort.Strings(keysOf)
	for _, k := range keysOf {
		ps := t.parts[k]
		psum, err := summarize(ctx, ps.files, log, known)
		if err != nil {
			return err
		}
		if psum.schema == nil {
			continue
		}
		psd, pparams := storage(c.Name, psum, ps.location)
		psd.Columns = table.StorageDescriptor.Columns
		p := &Partition{Values: ps.values, DatabaseName: table.DatabaseName, TableName: table.Name, CreationTime: at(s.o.Clock.Now()),
			StorageDescriptor: psd, Parameters: pparams, CatalogID: s.o.Account}
		if err := s.putPartition(ctx, p, true); err != nil {
			return err
		}
	}
	return nil
}

// allNumbers reports whether every partition's value of key i is an integer: Glue types such a
// key bigint.
func allNumbers(parts map[string]*partScan, i int) bool {
	if len(parts) == 0 {
		return false
	}
	for _, p := range parts {
		if i >= len(p.values) || !isInt(p.values[i]) {
			return false
		}
	}
	return true
}

// crawlLog is a crawl's log, kept as Glue's CloudWatch stream would be: lines prefixed with
// the crawl's MessagePrefix, under DIR/glue/logs/crawlers/<name>. Failing to write it never
// fails the crawl. It counts the tables the crawl created, updated and deleted, as the log's
// summary (and GetCrawlerMetrics) report them.
type crawlLog struct {
	f      *os.File
	prefix string
	s      *Service

	created, updated, deleted int
}

func (s *Service) crawlLog(name, prefix string) *crawlLog {
	dir := filepath.Join(s.o.Dir, "glue", "logs", "crawlers")
	l := &crawlLog{prefix: prefix, s: s}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		l.f, _ = os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	}
	return l
}

func (l *crawlLog) printf(format string, args ...any) {
	if l.f == nil {
		return
	}
	fmt.Fprintf(l.f, "%s [%s] %s\n", l.s.o.Clock.Now().UTC().Format(time.RFC3339Nano), l.prefix, fmt.Sprintf(format, args...))
}

func (l *crawlLog) close() {
	if l.f != nil {
		_ = l.f.Close()
	}
}

func (s *Service) getCrawlerMetrics(ctx context.Context, body []byte) (any, error) {
	var in struct {
		CrawlerNameList []string
		MaxResults      int
		NextToken       string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var docs []*crawlerDoc
	next := ""
	if len(in.CrawlerNameList) > 0 {
		if len(in.CrawlerNameList) > 100 {
			return nil, invalidInput("CrawlerNameList holds at most 100 names")
		}
		for _, n := range in.CrawlerNameList {
			d, _, err := s.readCrawler(ctx, n)
			if err != nil {
				var ae *Error
				if errors.As(err, &ae) && ae.Code == "EntityNotFoundException" {
					continue // Glue leaves unknown names out
				}
				return nil, err
			}
			docs = append(docs, d)
		}
	} else {
		limit, err := page(in.MaxResults)
		if err != nil {
			return nil, err
		}
		res, err := s.o.Store.GlueList(ctx, &store.GlueListParams{Kind: store.GlueCrawler, Limit: limit, Cursor: in.NextToken})
		if err != nil {
			return nil, storeErr(err, "")
		}
		for _, e := range res.Entities {
			var d crawlerDoc
			if err := json.Unmarshal(e.Doc, &d); err != nil {
				return nil, fmt.Errorf("glue: crawler %s: %w", e.Name, err)
			}
			docs = append(docs, &d)
		}
		next = res.NextCursor
	}
	list := []map[string]any{}
	for _, d := range docs {
		m := d.Metrics
		if m == nil {
			m = &crawlMetrics{}
		}
		last, median := 0.0, 0.0
		if n := len(m.Runtimes); n > 0 {
			last = m.Runtimes[n-1]
			sorted := append([]float64(nil), m.Runtimes...)
			sort.Float64s(sorted)
			median = sorted[n/2]
			if n%2 == 0 {
				median = (sorted[n/2-1] + sorted[n/2]) / 2
			}
		}
		list = append(list, map[string]any{"CrawlerName": d.Crawler.Name, "TimeLeftSeconds": 0, "StillEstimating": false,
			"LastRuntimeSeconds": last, "MedianRuntimeSeconds": median,
			"TablesCreated": m.TablesCreated, "TablesUpdated": m.TablesUpdated, "TablesDeleted": m.TablesDeleted})
	}
	return map[string]any{"CrawlerMetricsList": list, "NextToken": omit(next)}, nil
}
