package glue

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	s3svc "github.com/stepline/stepline/internal/s3"
	"github.com/stepline/stepline/internal/s3/s3test"
)

// TestBoundBucketCrawlAndScript: a crawler over a bucket bound to an external endpoint (a real
// moto_server) reads its objects through the S3 service, as a job's script is fetched from it.
func TestBoundBucketCrawlAndScript(t *testing.T) {
	motoURL := s3test.StartMoto(t)
	keys := credentials.NewStaticCredentialsProvider("AKIDREMOTE", "remote", "")
	moto := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(motoURL), UsePathStyle: true, Credentials: keys})
	if _, err := moto.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("lake-remote")}); err != nil {
		t.Fatal(err)
	}
	put := func(key, body string) {
		if _, err := moto.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("lake-remote"), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	put("sales/dt=2024-01-01/a.csv", "id,amount,paid\n1,2.5,true\n2,3.5,false\n")
	put("sales/dt=2024-01-02/b.csv", "id,amount,paid\n3,4.5,true\n")
	put("sales/", "") // a folder marker, as the console makes: no file
	put("scripts/job.py", "print('remote script ran')\n")
	objects, err := s3svc.New(s3svc.Options{Dir: t.TempDir(), Remotes: map[string]s3svc.Remote{
		"lake":    {Endpoint: motoURL, Region: "us-east-1", Bucket: "lake-remote", Credentials: keys},
		"missing": {Endpoint: motoURL, Region: "us-east-1", Bucket: "not-there", Credentials: keys}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objects.Close() })
	e := newEnv(t, func(o *Options) { o.Objects = objects })
	if _, err := e.client.CreateDatabase(ctx(t), &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}}); err != nil {
		t.Fatal(err)
	}
	e.createCrawler(t, "remote", "db", "", "", "s3://lake/sales/")
	c := e.crawl(t, "remote")
	if c.LastCrawl.Status != types.LastCrawlStatusSucceeded {
		t.Fatalf("crawl: %s %s", c.LastCrawl.Status, aws.ToString(c.LastCrawl.ErrorMessage))
	}
	tb := e.table(t, "db", "sales")
	if got := schema(tb.StorageDescriptor.Columns); got != "id bigint, amount double, paid boolean" {
		t.Errorf("columns %s", got)
	}
	if len(tb.PartitionKeys) != 1 || aws.ToString(tb.PartitionKeys[0].Name) != "dt" || aws.ToString(tb.StorageDescriptor.Location) != "s3://lake/sales/" {
		t.Errorf("table %+v", tb)
	}
	parts, err := e.client.GetPartitions(ctx(t), &glue.GetPartitionsInput{DatabaseName: aws.String("db"), TableName: aws.String("sales")})
	if err != nil || len(parts.Partitions) != 2 {
		t.Fatalf("GetPartitions: %v, %+v", err, parts)
	}
	if left, _ := os.ReadDir(filepath.Join(e.dir, "glue", "crawls")); len(left) != 0 {
		t.Errorf("the crawl left its copies: %v", left)
	}

	// A remote prefix without objects is an empty target, as a local one is.
	e.createCrawler(t, "gone", "db", "", "", "s3://lake/nothing-here/")
	if c := e.crawl(t, "gone"); c.LastCrawl.Status != types.LastCrawlStatusSucceeded {
		t.Errorf("an empty remote prefix: %s %s", c.LastCrawl.Status, aws.ToString(c.LastCrawl.ErrorMessage))
	}

	// A bucket missing at its endpoint fails the crawl with the endpoint's error.
	e.createCrawler(t, "missing", "db", "", "", "s3://missing/x/")
	if c := e.crawl(t, "missing"); c.LastCrawl.Status != types.LastCrawlStatusFailed ||
		!strings.Contains(aws.ToString(c.LastCrawl.ErrorMessage), "NoSuchBucket") {
		t.Errorf("a bucket missing at its endpoint: %s %s", c.LastCrawl.Status, aws.ToString(c.LastCrawl.ErrorMessage))
	}

	in := &glue.CreateJobInput{Name: aws.String("remote-job"), Role: aws.String("arn:aws:iam::123456789012:role/glue"),
		Command: &types.JobCommand{Name: aws.String("pythonshell"), ScriptLocation: aws.String("s3://lake/scripts/job.py")}}
	if _, err := e.client.CreateJob(ctx(t), in); err != nil {
		t.Fatal(err)
	}
	id := e.startRun(t, "remote-job", nil)
	r := e.waitRun(t, "remote-job", id, ended)
	if r.JobRunState != types.JobRunStateSucceeded {
		t.Fatalf("run: %s %s", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
	out, err := os.ReadFile(filepath.Join(e.dir, "glue", "logs", "python-jobs", "output", id))
	if err != nil || string(out) != "remote script ran\n" {
		t.Errorf("the script's output %q, %v", out, err)
	}
	in.Name, in.Command.ScriptLocation = aws.String("missing-script"), aws.String("s3://lake/scripts/none.py")
	if _, err := e.client.CreateJob(ctx(t), in); err != nil {
		t.Fatal(err)
	}
	id = e.startRun(t, "missing-script", nil)
	r = e.waitRun(t, "missing-script", id, ended)
	if r.JobRunState != types.JobRunStateFailed || !strings.Contains(aws.ToString(r.ErrorMessage), "NoSuchKey") {
		t.Errorf("a missing remote script: %s %s", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
}

// TestStaleScratch: a crawl's scratch folder left by a dead server goes after a day, and not
// before (another node sharing the folder may be crawling).
func TestStaleScratch(t *testing.T) {
	base := t.TempDir()
	old, fresh := filepath.Join(base, "crawl-old"), filepath.Join(base, "crawl-fresh")
	for _, d := range []string{old, fresh} {
		if err := os.MkdirAll(filepath.Join(d, "b"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	removeStaleScratch(base)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the stale scratch folder is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh scratch folder was removed: %v", err)
	}
}
