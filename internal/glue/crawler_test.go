package glue

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/parquet-go/parquet-go"

	"github.com/stepline/stepline/internal/store"
)

func (e *env) crawl(t *testing.T, name string) *types.Crawler {
	t.Helper()
	if _, err := e.client.StartCrawler(ctx(t), &glue.StartCrawlerInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("StartCrawler: %v", err)
	}
	var c *types.Crawler
	poll(t, "crawler "+name, func() bool {
		out, err := e.client.GetCrawler(ctx(t), &glue.GetCrawlerInput{Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		c = out.Crawler
		return c.State == types.CrawlerStateReady && c.LastCrawl != nil
	})
	return c
}

func (e *env) createCrawler(t *testing.T, name, db, prefix, update string, paths ...string) {
	t.Helper()
	var targets []types.S3Target
	for _, p := range paths {
		targets = append(targets, types.S3Target{Path: aws.String(p), Exclusions: []string{"**.tmp"}})
	}
	in := &glue.CreateCrawlerInput{Name: aws.String(name), Role: aws.String("arn:aws:iam::123456789012:role/glue"),
		DatabaseName: aws.String(db), Targets: &types.CrawlerTargets{S3Targets: targets}}
	if prefix != "" {
		in.TablePrefix = aws.String(prefix)
	}
	if update != "" {
		in.SchemaChangePolicy = &types.SchemaChangePolicy{UpdateBehavior: types.UpdateBehavior(update)}
	}
	if _, err := e.client.CreateCrawler(ctx(t), in); err != nil {
		t.Fatalf("CreateCrawler: %v", err)
	}
}

func (e *env) table(t *testing.T, db, name string) *types.Table {
	t.Helper()
	out, err := e.client.GetTable(ctx(t), &glue.GetTableInput{DatabaseName: aws.String(db), Name: aws.String(name)})
	if err != nil {
		t.Fatalf("GetTable %s: %v", name, err)
	}
	return out.Table
}

func schema(cols []types.Column) string {
	var parts []string
	for _, c := range cols {
		parts = append(parts, aws.ToString(c.Name)+" "+aws.ToString(c.Type))
	}
	return strings.Join(parts, ", ")
}

func gz(t *testing.T, data string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type parquetRow struct {
	ID     int64    `parquet:"id"`
	Name   string   `parquet:"name"`
	Score  float64  `parquet:"score"`
	Active bool     `parquet:"active"`
	Tags   []string `parquet:"tags,list"`
}

func parquetFile(t *testing.T, n int) []byte {
	var b bytes.Buffer
	w := parquet.NewGenericWriter[parquetRow](&b)
	rows := make([]parquetRow, n)
	for i := range rows {
		rows[i] = parquetRow{ID: int64(i), Name: fmt.Sprint("n", i), Score: float64(i) / 2, Active: i%2 == 0, Tags: []string{"a"}}
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCrawlerInfersTables(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.CreateDatabase(ctx(t), &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("raw")}}); err != nil {
		t.Fatal(err)
	}
	var csvRows strings.Builder
	csvRows.WriteString("order_id,Customer Name,amount,paid,ordered_at,day\n")
	for i := range 50 {
		fmt.Fprintf(&csvRows, "%d,\"Smith, J%d\",%d.5,%v,2024-01-0%d 10:00:00,2024-01-0%d\n", i, i, i, i%2 == 0, i%9+1, i%9+1)
	}
	e.write(t, "data/sales/part-1.csv", []byte(csvRows.String()))
	e.write(t, "data/sales/part-2.csv.gz", gz(t, "order_id,Customer Name,amount,paid,ordered_at,day\n7,x,8,true,2024-02-01 00:00:00,2024-02-01\n"))
	e.write(t, "data/sales/_SUCCESS", nil)
	e.write(t, "data/sales/skip.tmp", []byte("not,a,table\n"))
	// No header: every column of the first row is typed like the others.
	e.write(t, "data/noheader/a.tsv", []byte("1\tfoo\t2.5\n2\tbar\t3\n"))
	// Strings only: Glue takes no header, the first row is data.
	e.write(t, "data/names/a.csv", []byte("first|last\nada|lovelace\nalan|turing\n"))
	var jl strings.Builder
	for i := range 20 {
		fmt.Fprintf(&jl, `{"id": %d, "user": {"name": "u%d", "age": %d}, "tags": ["a", "b"], "items": [{"sku": "s", "qty": 1}], "score": %d.25, "big": 9999999999}`+"\n", i, i, 20+i, i)
	}
	jl.WriteString(`{"id": 21, "user": {"name": "v", "email": "e@x"}, "extra": null, "ok": true}` + "\n")
	e.write(t, "data/events/2024/e.json", []byte(jl.String()))
	e.write(t, "data/pq/f.parquet", parquetFile(t, 1234))
	bz, _ := base64.StdEncoding.DecodeString("QlpoOTFBWSZTWY/vULMAAAtZgAAQAAU6AD4jmAAgACImQeiaNMhTTIxMTEcBWVnCKTFs4OoqR3U0nxdyRThQkI/vULM=")
	e.write(t, "data/scores/s.csv.bz2", bz) // id,name,score / 1,a,2.5 / 2,b,3
	e.write(t, "data/clicks/dt=2024-01-01/h=1/a.json", []byte(`{"url":"/a","n":1}`+"\n"))
	e.write(t, "data/clicks/dt=2024-01-02/h=12/b.json", []byte(`{"url":"/b","n":2}`+"\n"))

	e.createCrawler(t, "c1", "raw", "raw_", "", "s3://data/")
	c := e.crawl(t, "c1")
	if c.LastCrawl.Status != types.LastCrawlStatusSucceeded || aws.ToString(c.LastCrawl.LogGroup) != "/aws-glue/crawlers" ||
		aws.ToString(c.LastCrawl.MessagePrefix) == "" || c.LastCrawl.StartTime == nil {
		t.Fatalf("LastCrawl = %+v (%s)", c.LastCrawl, aws.ToString(c.LastCrawl.ErrorMessage))
	}

	sales := e.table(t, "raw", "raw_sales")
	if got, want := schema(sales.StorageDescriptor.Columns), "order_id bigint, customer name string, amount double, paid boolean, ordered_at timestamp, day date"; got != want {
		t.Errorf("sales columns = %s, want %s", got, want)
	}
	p := sales.Parameters
	if p["classification"] != "csv" || p["delimiter"] != "," || p["skip.header.line.count"] != "1" || p["objectCount"] != "2" ||
		p["UPDATED_BY_CRAWLER"] != "c1" || p["CrawlerSchemaDeserializerVersion"] != "1.0" || p["recordCount"] == "" || p["averageRecordSize"] == "" {
		t.Errorf("sales parameters = %v", p)
	}
	if aws.ToString(sales.StorageDescriptor.Location) != "s3://data/sales/" ||
		aws.ToString(sales.StorageDescriptor.SerdeInfo.SerializationLibrary) != "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe" ||
		sales.StorageDescriptor.SerdeInfo.Parameters["field.delim"] != "," {
		t.Errorf("sales storage = %+v", sales.StorageDescriptor)
	}

	noheader := e.table(t, "raw", "raw_noheader")
	if got := schema(noheader.StorageDescriptor.Columns); got != "col0 bigint, col1 string, col2 double" {
		t.Errorf("noheader columns = %s", got)
	}
	if noheader.Parameters["delimiter"] != "\t" || noheader.Parameters["skip.header.line.count"] != "" {
		t.Errorf("noheader parameters = %v", noheader.Parameters)
	}
	if got := schema(e.table(t, "raw", "raw_names").StorageDescriptor.Columns); got != "col0 string, col1 string" {
		t.Errorf("names columns = %s", got)
	}

	events := e.table(t, "raw", "raw_events")
	want := "id int, user struct<name:string,age:int,email:string>, tags array<string>, items array<struct<sku:string,qty:int>>, score double, big bigint, extra string, ok boolean"
	if got := schema(events.StorageDescriptor.Columns); got != want {
		t.Errorf("events columns = %s, want %s", got, want)
	}
	if events.Parameters["classification"] != "json" || aws.ToString(events.StorageDescriptor.SerdeInfo.SerializationLibrary) != "org.openx.data.jsonserde.JsonSerDe" {
		t.Errorf("events = %+v", events.Parameters)
	}

	pq := e.table(t, "raw", "raw_pq")
	if got := schema(pq.StorageDescriptor.Columns); got != "id bigint, name string, score double, active boolean, tags array<string>" {
		t.Errorf("parquet columns = %s", got)
	}
	if pq.Parameters["classification"] != "parquet" || pq.Parameters["recordCount"] != "1234" {
		t.Errorf("parquet parameters = %v", pq.Parameters)
	}

	clicks := e.table(t, "raw", "raw_clicks")
	if got := schema(clicks.PartitionKeys); got != "dt string, h bigint" {
		t.Errorf("clicks partition keys = %s", got)
	}
	if got := schema(clicks.StorageDescriptor.Columns); got != "url string, n int" {
		t.Errorf("clicks columns = %s", got)
	}
	parts, err := e.client.GetPartitions(ctx(t), &glue.GetPartitionsInput{DatabaseName: aws.String("raw"), TableName: aws.String("raw_clicks")})
	if err != nil || len(parts.Partitions) != 2 {
		t.Fatalf("clicks partitions: %+v, %v", parts, err)
	}
	if v := parts.Partitions[1].Values; v[0] != "2024-01-02" || v[1] != "12" ||
		aws.ToString(parts.Partitions[1].StorageDescriptor.Location) != "s3://data/clicks/dt=2024-01-02/h=12/" {
		t.Errorf("partition = %v at %s", v, aws.ToString(parts.Partitions[1].StorageDescriptor.Location))
	}
	scores := e.table(t, "raw", "raw_scores")
	if got := schema(scores.StorageDescriptor.Columns); got != "id bigint, name string, score double" ||
		scores.Parameters["compressionType"] != "bzip2" || !scores.StorageDescriptor.Compressed {
		t.Errorf("bzip2 table: %s, %v", got, scores.Parameters)
	}
	if sales.Parameters["recordCount"] != "51" || events.Parameters["recordCount"] != "21" {
		t.Errorf("recordCount of sales %s (want 51), of events %s (want 21)", sales.Parameters["recordCount"], events.Parameters["recordCount"])
	}
	if sales.Parameters["compressionType"] != "none" {
		t.Errorf("sales compressionType = %s (its first file is plain)", sales.Parameters["compressionType"])
	}
	tables, err := e.client.GetTables(ctx(t), &glue.GetTablesInput{DatabaseName: aws.String("raw")})
	if err != nil || len(tables.TableList) != 7 {
		t.Fatalf("tables: %d, %v", len(tables.TableList), err)
	}
}

func TestCrawlerSchemaChange(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.CreateDatabase(ctx(t), &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}}); err != nil {
		t.Fatal(err)
	}
	e.write(t, "b/t/a.json", []byte(`{"a":1}`+"\n"))
	e.createCrawler(t, "upd", "db", "", "", "s3://b/t/")
	e.createCrawler(t, "log", "db", "log_", "LOG", "s3://b/t/")
	e.crawl(t, "upd")
	e.crawl(t, "log")
	e.write(t, "b/t/a.json", []byte(`{"a":1.5,"b":"x"}`+"\n"))
	if c := e.crawl(t, "upd"); c.LastCrawl.Status != types.LastCrawlStatusSucceeded {
		t.Fatalf("second crawl: %+v", c.LastCrawl)
	}
	if c := e.crawl(t, "log"); c.LastCrawl.Status != types.LastCrawlStatusSucceeded {
		t.Fatalf("second crawl: %+v", c.LastCrawl)
	}
	if got := schema(e.table(t, "db", "t").StorageDescriptor.Columns); got != "a double, b string" {
		t.Errorf("UPDATE_IN_DATABASE: %s", got)
	}
	if got := schema(e.table(t, "db", "log_t").StorageDescriptor.Columns); got != "a int" {
		t.Errorf("LOG: %s", got)
	}
}

func TestCrawlerLifecycle(t *testing.T) {
	e := newEnv(t)
	c := e.client
	e.createCrawler(t, "c", "missing", "", "", "s3://b/")
	if _, err := c.CreateCrawler(ctx(t), &glue.CreateCrawlerInput{Name: aws.String("c"), Role: aws.String("r"), DatabaseName: aws.String("x"),
		Targets: &types.CrawlerTargets{S3Targets: []types.S3Target{{Path: aws.String("s3://b/")}}}}); apiCode(err) != "AlreadyExistsException" {
		t.Fatalf("duplicate crawler: %v", err)
	}
	if _, err := c.CreateCrawler(ctx(t), &glue.CreateCrawlerInput{Name: aws.String("bad"), Role: aws.String("r"), DatabaseName: aws.String("x"),
		Targets: &types.CrawlerTargets{S3Targets: []types.S3Target{{Path: aws.String("/tmp/x")}}}}); apiCode(err) != "InvalidInputException" {
		t.Fatalf("crawler over a non-S3 path: %v", err)
	}
	// A crawl into a missing database fails, saying so.
	if got := e.crawl(t, "c"); got.LastCrawl.Status != types.LastCrawlStatusFailed || !strings.Contains(aws.ToString(got.LastCrawl.ErrorMessage), "missing") {
		t.Fatalf("crawl into a missing database: %+v", got.LastCrawl)
	}
	if _, err := c.StopCrawler(ctx(t), &glue.StopCrawlerInput{Name: aws.String("c")}); apiCode(err) != "CrawlerNotRunningException" {
		t.Fatalf("StopCrawler of a ready crawler: %v", err)
	}
	if _, err := c.UpdateCrawler(ctx(t), &glue.UpdateCrawlerInput{Name: aws.String("c"), DatabaseName: aws.String("other"), TablePrefix: aws.String("p_")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetCrawler(ctx(t), &glue.GetCrawlerInput{Name: aws.String("c")})
	if err != nil || aws.ToString(got.Crawler.DatabaseName) != "other" || aws.ToString(got.Crawler.TablePrefix) != "p_" ||
		aws.ToString(got.Crawler.Targets.S3Targets[0].Path) != "s3://b/" || got.Crawler.SchemaChangePolicy.UpdateBehavior != types.UpdateBehaviorUpdateInDatabase {
		t.Fatalf("after UpdateCrawler: %+v, %v", got, err)
	}
	names, err := c.ListCrawlers(ctx(t), &glue.ListCrawlersInput{})
	if err != nil || len(names.CrawlerNames) != 1 {
		t.Fatalf("ListCrawlers = %+v, %v", names, err)
	}
	all, err := c.GetCrawlers(ctx(t), &glue.GetCrawlersInput{})
	if err != nil || len(all.Crawlers) != 1 {
		t.Fatalf("GetCrawlers = %+v, %v", all, err)
	}

	// A crawl another node runs (RUNNING in the store): starting it again is refused, and a
	// stop request is recorded for that node to act on.
	setCrawler(t, e, "c", "RUNNING", "node-b")
	if _, err := c.StartCrawler(ctx(t), &glue.StartCrawlerInput{Name: aws.String("c")}); apiCode(err) != "CrawlerRunningException" {
		t.Fatalf("StartCrawler of a running crawler: %v", err)
	}
	if _, err := c.DeleteCrawler(ctx(t), &glue.DeleteCrawlerInput{Name: aws.String("c")}); apiCode(err) != "CrawlerRunningException" {
		t.Fatalf("DeleteCrawler of a running crawler: %v", err)
	}
	if _, err := c.StopCrawler(ctx(t), &glue.StopCrawlerInput{Name: aws.String("c")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetCrawler(ctx(t), &glue.GetCrawlerInput{Name: aws.String("c")}); got.Crawler.State != types.CrawlerStateStopping {
		t.Fatalf("after StopCrawler: %s", got.Crawler.State)
	}
	if _, err := c.StopCrawler(ctx(t), &glue.StopCrawlerInput{Name: aws.String("c")}); apiCode(err) != "CrawlerStoppingException" {
		t.Fatalf("second StopCrawler: %v", err)
	}
}

// setCrawler puts a crawler into a state as a node running it would.
func setCrawler(t *testing.T, e *env, name, state, owner string) {
	t.Helper()
	ent, err := e.st.GlueGet(ctx(t), &store.GlueGetParams{Kind: store.GlueCrawler, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	var d crawlerDoc
	if err := json.Unmarshal(ent.Doc, &d); err != nil {
		t.Fatal(err)
	}
	d.Crawler.State, d.RunStarted = state, at(e.svc.o.Clock.Now())
	doc, _ := json.Marshal(d)
	if _, err := e.st.GlueUpdate(ctx(t), &store.GlueUpdateParams{Kind: store.GlueCrawler, Name: name, Doc: doc, Active: true, Owner: owner,
		Now: e.svc.o.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
}

// A crawl left RUNNING by a crash of its node ends, when that node starts again, READY with a
// failed last crawl saying why; another node's crawl is left alone.
func TestCrawlerRecoveredAfterCrash(t *testing.T) {
	e := newEnv(t)
	e.createCrawler(t, "mine", "db", "", "", "s3://b/")
	e.createCrawler(t, "theirs", "db", "", "", "s3://b/")
	e.createCrawler(t, "stopping", "db", "", "", "s3://b/")
	e.createCrawler(t, "finishing", "db", "", "", "s3://b/")
	setCrawler(t, e, "mine", "RUNNING", "local")
	setCrawler(t, e, "theirs", "RUNNING", "node-b")
	setCrawler(t, e, "finishing", "STOPPING", "local") // as a crawl goes once its tables are written
	setCrawler(t, e, "stopping", "RUNNING", "local")
	if _, err := e.client.StopCrawler(ctx(t), &glue.StopCrawlerInput{Name: aws.String("stopping")}); err != nil {
		t.Fatal(err)
	}
	e.start(t)
	// A crawl asked to stop before the crash ends as the stop would have ended it; one that
	// went STOPPING by itself was interrupted all the same.
	stopping, err := e.client.GetCrawler(ctx(t), &glue.GetCrawlerInput{Name: aws.String("stopping")})
	if err != nil || stopping.Crawler.State != types.CrawlerStateReady || stopping.Crawler.LastCrawl.Status != types.LastCrawlStatusCancelled ||
		stopping.Crawler.LastCrawl.StartTime == nil {
		t.Fatalf("recovered stopping crawler = %+v, %v", stopping, err)
	}
	finishing, err := e.client.GetCrawler(ctx(t), &glue.GetCrawlerInput{Name: aws.String("finishing")})
	if err != nil || finishing.Crawler.State != types.CrawlerStateReady || finishing.Crawler.LastCrawl.Status != types.LastCrawlStatusFailed {
		t.Fatalf("recovered finishing crawler = %+v, %v", finishing, err)
	}
	mine, err := e.client.GetCrawler(ctx(t), &glue.GetCrawlerInput{Name: aws.String("mine")})
	if err != nil || mine.Crawler.State != types.CrawlerStateReady || mine.Crawler.LastCrawl.Status != types.LastCrawlStatusFailed ||
		!strings.Contains(aws.ToString(mine.Crawler.LastCrawl.ErrorMessage), "interrupted") {
		t.Fatalf("recovered crawler = %+v, %v", mine, err)
	}
	theirs, _ := e.client.GetCrawler(ctx(t), &glue.GetCrawlerInput{Name: aws.String("theirs")})
	if theirs.Crawler.State != types.CrawlerStateRunning || theirs.Crawler.CrawlElapsedTime < 0 {
		t.Fatalf("another node's crawler = %+v", theirs.Crawler)
	}
}

// Tables whose folders are gone follow the crawler's DeleteBehavior.
func TestCrawlerDeleteBehavior(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.CreateDatabase(ctx(t), &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}}); err != nil {
		t.Fatal(err)
	}
	e.write(t, "b/keep/a.json", []byte(`{"a":1}`+"\n"))
	e.write(t, "b/gone/a.json", []byte(`{"z":1}`+"\n")) // another schema: a table of its own
	e.createCrawler(t, "dep", "db", "dep_", "", "s3://b/")
	e.createCrawler(t, "del", "db", "del_", "", "s3://b/")
	if _, err := e.client.UpdateCrawler(ctx(t), &glue.UpdateCrawlerInput{Name: aws.String("del"),
		SchemaChangePolicy: &types.SchemaChangePolicy{DeleteBehavior: types.DeleteBehaviorDeleteFromDatabase}}); err != nil {
		t.Fatal(err)
	}
	e.crawl(t, "dep")
	e.crawl(t, "del")
	if err := os.RemoveAll(filepath.Join(e.dir, "s3", "b", "gone")); err != nil {
		t.Fatal(err)
	}
	e.crawl(t, "dep")
	e.crawl(t, "del")
	if p := e.table(t, "db", "dep_gone").Parameters; p["DEPRECATED_BY_CRAWLER"] != "1" {
		t.Errorf("deprecated table parameters = %v", p)
	}
	if p := e.table(t, "db", "dep_keep").Parameters; p["DEPRECATED_BY_CRAWLER"] != "" {
		t.Errorf("kept table parameters = %v", p)
	}
	if _, err := e.client.GetTable(ctx(t), &glue.GetTableInput{DatabaseName: aws.String("db"), Name: aws.String("del_gone")}); apiCode(err) != "EntityNotFoundException" {
		t.Errorf("deleted table: %v", err)
	}
	e.table(t, "db", "del_keep")
	m, err := e.client.GetCrawlerMetrics(ctx(t), &glue.GetCrawlerMetricsInput{CrawlerNameList: []string{"del", "nope"}})
	if err != nil || len(m.CrawlerMetricsList) != 1 {
		t.Fatalf("GetCrawlerMetrics = %+v, %v", m, err)
	}
	if got := m.CrawlerMetricsList[0]; got.TablesDeleted != 1 || got.TablesCreated != 0 || got.LastRuntimeSeconds < 0 {
		t.Errorf("metrics of the second crawl = %+v", got)
	}
	all, err := e.client.GetCrawlerMetrics(ctx(t), &glue.GetCrawlerMetricsInput{})
	if err != nil || len(all.CrawlerMetricsList) != 2 || all.CrawlerMetricsList[0].TablesCreated != 0 {
		t.Fatalf("GetCrawlerMetrics of all = %+v, %v", all, err)
	}
}

// StopCrawler during a crawl ends it CANCELLED; a stop that comes after the crawl ended is
// refused as AWS refuses it (also while the crawl, done, is STOPPING on its way to READY). Which of the two happens depends on timing; both are checked.
func TestStopCrawler(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.CreateDatabase(ctx(t), &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}}); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		e.write(t, fmt.Sprintf("b/t%02d/a.json", i), fmt.Appendf(nil, `{"a%d":1}`+"\n", i)) // 60 schemas, 60 tables
	}
	e.createCrawler(t, "c", "db", "", "", "s3://b/")
	if _, err := e.client.StartCrawler(ctx(t), &glue.StartCrawlerInput{Name: aws.String("c")}); err != nil {
		t.Fatal(err)
	}
	_, stopErr := e.client.StopCrawler(ctx(t), &glue.StopCrawlerInput{Name: aws.String("c")})
	var c *types.Crawler
	poll(t, "the crawl's end", func() bool {
		out, err := e.client.GetCrawler(ctx(t), &glue.GetCrawlerInput{Name: aws.String("c")})
		if err != nil {
			t.Fatal(err)
		}
		c = out.Crawler
		return c.State == types.CrawlerStateReady && c.LastCrawl != nil
	})
	switch {
	case stopErr == nil && c.LastCrawl.Status == types.LastCrawlStatusCancelled:
		tables, _ := e.client.GetTables(ctx(t), &glue.GetTablesInput{DatabaseName: aws.String("db")})
		t.Logf("stopped after %d of 60 tables", len(tables.TableList))
	case (apiCode(stopErr) == "CrawlerNotRunningException" || apiCode(stopErr) == "CrawlerStoppingException") &&
		c.LastCrawl.Status == types.LastCrawlStatusSucceeded:
		t.Log("the crawl ended before the stop")
	default:
		t.Fatalf("StopCrawler: %v; last crawl %+v", stopErr, c.LastCrawl)
	}
}

// Sibling folders of one schema under the target are partitions of one table named after the
// target (partition_0), as Glue groups them; folders of different schemas stay tables.
func TestCrawlerGroupsSimilarFolders(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.CreateDatabase(ctx(t), &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}}); err != nil {
		t.Fatal(err)
	}
	e.write(t, "b/logs/2024/01/a.json", []byte(`{"a":1,"b":"x"}`+"\n"))
	e.write(t, "b/logs/2024/02/a.json", []byte(`{"b":"y","a":2}`+"\n"))
	e.write(t, "b/logs/2025/01/a.json", []byte(`{"a":3,"b":"z"}`+"\n"))
	e.write(t, "b/mixed/x/a.json", []byte(`{"a":1}`+"\n"))
	e.write(t, "b/mixed/y/a.json", []byte(`{"other":1}`+"\n"))
	e.createCrawler(t, "logs", "db", "", "", "s3://b/logs/")
	e.createCrawler(t, "mixed", "db", "", "", "s3://b/mixed/")
	e.crawl(t, "logs")
	e.crawl(t, "mixed")
	logs := e.table(t, "db", "logs")
	if got := schema(logs.PartitionKeys); got != "partition_0 bigint, partition_1 bigint" {
		t.Errorf("logs partition keys = %s", got)
	}
	parts, err := e.client.GetPartitions(ctx(t), &glue.GetPartitionsInput{DatabaseName: aws.String("db"), TableName: aws.String("logs")})
	if err != nil || len(parts.Partitions) != 3 || strings.Join(parts.Partitions[2].Values, "/") != "2025/01" ||
		aws.ToString(parts.Partitions[2].StorageDescriptor.Location) != "s3://b/logs/2025/01/" {
		t.Fatalf("logs partitions = %+v, %v", parts, err)
	}
	e.table(t, "db", "x")
	e.table(t, "db", "y")
}

// partitionFailingStore fails the creation of the n-th partition it is asked to create, as a
// crash or a full disk would end a crawl half way through a table.
type partitionFailingStore struct {
	store.Store
	mu   sync.Mutex
	left int // partitions to create before the failing one; negative: never fail
}

func (s *partitionFailingStore) GlueCreate(ctx context.Context, p *store.GlueCreateParams) (*store.GlueEntity, error) {
	if p.Kind == store.GluePartition {
		s.mu.Lock()
		fail := s.left == 0
		s.left--
		s.mu.Unlock()
		if fail {
			return nil, errors.New("disk I/O error (injected)")
		}
	}
	return s.Store.GlueCreate(ctx, p)
}

// A crawl that fails half way through a partitioned table leaves no table with only some of
// its partitions: the table appears, complete, only when its partitions are all written. The
// next crawl writes it whole.
func TestCrawlerWritesTableAfterItsPartitions(t *testing.T) {
	var fs *partitionFailingStore
	e := newEnv(t, func(o *Options) {
		fs = &partitionFailingStore{Store: o.Store, left: 2}
		o.Store = fs
	})
	if _, err := e.client.CreateDatabase(ctx(t), &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}}); err != nil {
		t.Fatal(err)
	}
	for d := 1; d <= 5; d++ {
		e.write(t, fmt.Sprintf("data/clicks/dt=2024-01-0%d/part-0.csv", d), []byte("page,visits\n/a,1\n/b,2\n"))
	}
	e.createCrawler(t, "c", "db", "", "", "s3://data/clicks/")
	c := e.crawl(t, "c")
	if c.LastCrawl.Status != types.LastCrawlStatusFailed || !strings.Contains(aws.ToString(c.LastCrawl.ErrorMessage), "injected") {
		t.Fatalf("crawl with a failing write: %+v", c.LastCrawl)
	}
	if _, err := e.client.GetTable(ctx(t), &glue.GetTableInput{DatabaseName: aws.String("db"), Name: aws.String("clicks")}); apiCode(err) != "EntityNotFoundException" {
		t.Fatalf("GetTable after the failed crawl: %v, want EntityNotFoundException (no half-written table)", err)
	}
	tables, err := e.client.GetTables(ctx(t), &glue.GetTablesInput{DatabaseName: aws.String("db")})
	if err != nil || len(tables.TableList) != 0 {
		t.Fatalf("GetTables after the failed crawl: %v, %v", tables, err)
	}

	fs.mu.Lock()
	fs.left = -1
	fs.mu.Unlock()
	if c := e.crawl(t, "c"); c.LastCrawl.Status != types.LastCrawlStatusSucceeded {
		t.Fatalf("second crawl: %+v", c.LastCrawl)
	}
	tb := e.table(t, "db", "clicks")
	if got := schema(tb.PartitionKeys); got != "dt string" {
		t.Errorf("partition keys = %s", got)
	}
	parts, err := e.client.GetPartitions(ctx(t), &glue.GetPartitionsInput{DatabaseName: aws.String("db"), TableName: aws.String("clicks")})
	if err != nil || len(parts.Partitions) != 5 {
		t.Fatalf("GetPartitions = %d partitions, %v; want 5", len(parts.Partitions), err)
	}
}
