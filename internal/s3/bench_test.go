package s3_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkObjects puts and gets objects of 1 KiB and 10 MiB through loopback HTTP, raw (no SDK
// signing or retries, so that what is measured is the server's round trip: the body received,
// MD5'd, synced and renamed into place; or opened and sent). It reports MB/s and the median
// request time (p50-ms).
func BenchmarkObjects(b *testing.B) {
	f := newFixture(b, "us-east-1")
	req, _ := http.NewRequest(http.MethodPut, f.url+"/bench", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		b.Fatalf("CreateBucket: %v %v", resp, err)
	}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for _, size := range []int{1 << 10, 10 << 20} {
		body := randomBytes(size, uint64(size))
		name := fmt.Sprintf("%dKiB", size>>10)
		b.Run("Put/"+name, func(b *testing.B) {
			b.SetBytes(int64(size))
			times := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				start := time.Now()
				req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/bench/%s/%d", f.url, name, i%16), bytes.NewReader(body))
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("PutObject: %d", resp.StatusCode)
				}
				times = append(times, time.Since(start))
				i++
			}
			reportP50(b, times)
		})
		b.Run("Get/"+name, func(b *testing.B) {
			b.SetBytes(int64(size))
			times := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				resp, err := c.Get(f.url + "/bench/" + name + "/0")
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || n != int64(size) {
					b.Fatalf("GetObject: %d, %d bytes", resp.StatusCode, n)
				}
				times = append(times, time.Since(start))
			}
			reportP50(b, times)
		})
	}
}

func reportP50(b *testing.B, times []time.Duration) {
	if len(times) == 0 {
		return
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
}
