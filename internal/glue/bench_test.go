package glue

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
)

// benchMB is the size of the CSV data BenchmarkCrawlCSV crawls (STEPLINE_GLUE_BENCH_MB, 20 by
// default: short enough for a shared machine).
func benchMB() int {
	if n, err := strconv.Atoi(os.Getenv("STEPLINE_GLUE_BENCH_MB")); err == nil && n > 0 {
		return n
	}
	return 20
}

// writeCSV writes about mb megabytes of sales rows into files of fileMB each under dir.
func writeCSV(b *testing.B, dir string, mb, fileMB int) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for f := 0; f*fileMB < mb; f++ {
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("part-%05d.csv", f)))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriterSize(out, 1<<20)
		w.WriteString("order_id,customer,amount,paid,ordered_at\n")
		written, i := 0, 0
		for written < fileMB<<20 {
			n, _ := fmt.Fprintf(w, "%d,customer %d,%d.%02d,%v,2024-01-%02d 10:%02d:00\n", i, i%997, i%5000, i%100, i%2 == 0, i%28+1, i%60)
			written += n
			i++
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		out.Close()
	}
}

// peakRSS is the process's peak resident set (VmHWM), in MB.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkCrawlCSV crawls benchMB megabytes of CSV, as one file (the crawler reads its first
// 1,000 records) and as files of a megabyte (it classifies a hundred of them, and counts the
// others by size), and reports MB/s and peak RSS. scripts/bench_crawler.sh measures the
// binary, partitioned data too.
func BenchmarkCrawlCSV(b *testing.B) {
	mb := benchMB()
	for _, fileMB := range []int{mb, 1} {
		b.Run(fmt.Sprintf("files=%dMB", fileMB), func(b *testing.B) {
			e := newEnv(b)
			writeCSV(b, filepath.Join(e.dir, "s3", "data", "sales"), mb, fileMB)
			if _, err := e.client.CreateDatabase(b.Context(), &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}}); err != nil {
				b.Fatal(err)
			}
			if _, err := e.client.CreateCrawler(b.Context(), &glue.CreateCrawlerInput{Name: aws.String("c"), Role: aws.String("r"),
				DatabaseName: aws.String("db"), Targets: &types.CrawlerTargets{S3Targets: []types.S3Target{{Path: aws.String("s3://data/sales/")}}}}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := e.client.StartCrawler(b.Context(), &glue.StartCrawlerInput{Name: aws.String("c")}); err != nil {
					b.Fatal(err)
				}
				for {
					out, err := e.client.GetCrawler(b.Context(), &glue.GetCrawlerInput{Name: aws.String("c")})
					if err != nil {
						b.Fatal(err)
					}
					if out.Crawler.State == types.CrawlerStateReady && out.Crawler.LastCrawl != nil {
						if out.Crawler.LastCrawl.Status != types.LastCrawlStatusSucceeded {
							b.Fatalf("crawl: %+v", out.Crawler.LastCrawl)
						}
						break
					}
					time.Sleep(5 * time.Millisecond) // a poll, not a spin that takes a core from the crawl
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(mb)*float64(b.N)/b.Elapsed().Seconds(), "MB/s")
			b.ReportMetric(peakRSS(), "peakRSS-MB")
			tb, err := e.client.GetTable(b.Context(), &glue.GetTableInput{DatabaseName: aws.String("db"), Name: aws.String("sales")})
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("recordCount %s, objectCount %s, sizeKey %s", tb.Table.Parameters["recordCount"], tb.Table.Parameters["objectCount"], tb.Table.Parameters["sizeKey"])
		})
	}
}
