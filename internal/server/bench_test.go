package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

// passMachine is a chain of n Pass states.
func passMachine(n int) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"S0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"S%d":{"Type":"Pass","Result":%d,"ResultPath":"$.s%d",`, i, i, i)
		if i == n-1 {
			b.WriteString(`"End":true}`)
		} else {
			fmt.Fprintf(&b, `"Next":"S%d"}`, i+1)
		}
	}
	b.WriteString(`}}`)
	return b.String()
}

// BenchmarkStartExecutionHTTP measures StartExecution requests per second over HTTP with
// keep-alive from 50 concurrent clients, on SQLite, for a 10-state Pass machine (each start
// runs its execution to the end).
func BenchmarkStartExecutionHTTP(b *testing.B) {
	const clients = 50
	bb := setup(b, server.Options{})
	machine := bb.createMachine(b, "bench", passMachine(10))
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				body := fmt.Sprintf(`{"stateMachineArn":%q,"name":"x%d","input":"{\"i\":%d}"}`, machine, i, i)
				req, _ := http.NewRequest(http.MethodPost, bb.url+"/", bytes.NewBufferString(body))
				req.Header.Set("Content-Type", "application/x-amz-json-1.0")
				req.Header.Set("X-Amz-Target", "AWSStepFunctions.StartExecution")
				resp, err := hc.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d StartExecution requests failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}

// BenchmarkPassMachineLatency measures, one execution at a time, the time from sending
// StartExecution to DescribeExecution reporting SUCCEEDED for a 10-state Pass machine, and
// reports the median.
func BenchmarkPassMachineLatency(b *testing.B) {
	bb := setup(b, server.Options{})
	ctx := context.Background()
	machine := bb.createMachine(b, "latency", passMachine(10))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		out, err := bb.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Name: aws.String(fmt.Sprintf("l%d", i))})
		if err != nil {
			b.Fatal(err)
		}
		for {
			d, err := bb.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: out.ExecutionArn})
			if err != nil {
				b.Fatal(err)
			}
			if d.Status == types.ExecutionStatusSucceeded {
				break
			}
			if d.Status != types.ExecutionStatusRunning {
				b.Fatalf("execution ended %s", d.Status)
			}
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// lambdaChain is a chain of n Task states invoking the function fn by ARN, each passing its
// input through (the Go echo function returns its "data").
func lambdaChain(n int, fn string) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"T0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"T%d":{"Type":"Task","Resource":%q,"Parameters":{"data.$":"$"},`, i, fnArn(fn))
		if i == n-1 {
			b.WriteString(`"End":true}`)
		} else {
			fmt.Fprintf(&b, `"Next":"T%d"}`, i+1)
		}
	}
	b.WriteString(`}}`)
	return b.String()
}

// BenchmarkLambdaChain runs executions of a 10-state chain of Lambda tasks (a warm Go echo
// function built with aws-lambda-go, invoked by ARN) on SQLite: "latency" one execution at a
// time, start to DescribeExecution reporting SUCCEEDED (p50, and per task); "throughput" 50
// executions at a time, state transitions per second (each task state counts as one).
func BenchmarkLambdaChain(b *testing.B) {
	const states = 10
	bb := setup(b, server.Options{})
	lc := newLambdaClient(bb.url)
	createFunction(b, lc, "bench-echo", "provided.al2023", "bootstrap", goEcho(b))
	machine := bb.createMachine(b, "lambda-chain", lambdaChain(states, "bench-echo"))
	ctx := context.Background()
	run := func(name string) error {
		out, err := bb.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Name: aws.String(name), Input: aws.String(`{"n":1}`)})
		if err != nil {
			return err
		}
		for {
			d, err := bb.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: out.ExecutionArn})
			if err != nil {
				return err
			}
			switch d.Status {
			case types.ExecutionStatusSucceeded:
				return nil
			case types.ExecutionStatusRunning:
				time.Sleep(time.Millisecond)
			default:
				return fmt.Errorf("execution ended %s: %s", d.Status, aws.ToString(d.Cause))
			}
		}
	}
	if err := run("warm-up"); err != nil {
		b.Fatal(err)
	}
	b.Run("latency", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for i := range b.N {
			t0 := time.Now()
			if err := run(fmt.Sprintf("l%d-%d", b.N, i)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		p50 := lat[len(lat)/2]
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p50.Microseconds())/1000/states, "ms/task")
	})
	b.Run("throughput", func(b *testing.B) {
		// Starts from 50 clients, then one poll of the running count every 20 ms, so that
		// polling does not eat the two cores the executions need.
		const concurrent = 50
		var next, failed atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range concurrent {
			wg.Go(func() {
				for {
					i := next.Add(1)
					if i > int64(b.N) {
						return
					}
					_, err := bb.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine),
						Name: aws.String(fmt.Sprintf("t%d-%d", b.N, i)), Input: aws.String(`{"n":1}`)})
					if err != nil {
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d of %d StartExecution calls failed", n, b.N)
		}
		for {
			out, err := bb.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine),
				StatusFilter: types.ExecutionStatusRunning, MaxResults: 1})
			if err != nil {
				b.Fatal(err)
			}
			if len(out.Executions) == 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.ReportMetric(float64(b.N*states)/time.Since(start).Seconds(), "transitions/s")
	})
}
