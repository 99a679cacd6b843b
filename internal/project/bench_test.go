package project_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/project"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store/dsn"
)

// BenchmarkDeploy deploys a project of 50 state machines and 20 Python functions on SQLite:
// cold (an empty database each time) and unchanged (the same project again).
func BenchmarkDeploy(b *testing.B) {
	dir := b.TempDir()
	var y strings.Builder
	files := map[string]string{}
	y.WriteString("stateMachines:\n")
	for i := range 50 {
		fmt.Fprintf(&y, "  M%d:\n    definition: sm/m%d.json\n    definitionSubstitutions: {Fn: f%d}\n    tags: {n: %d}\n", i, i, i%20, i)
		files[fmt.Sprintf("sm/m%d.json", i)] = invokeEcho
	}
	y.WriteString("functions:\n")
	for i := range 20 {
		fmt.Fprintf(&y, "  f%d:\n    code: fn/f%d\n    runtime: python3.11\n    handler: app.handler\n", i, i)
		files[fmt.Sprintf("fn/f%d/app.py", i)] = echoPy + fmt.Sprintf("# %d\n", i)
		files[fmt.Sprintf("fn/f%d/lib/util.py", i)] = strings.Repeat("x = 1\n", 2000)
	}
	files["stepline.yaml"] = y.String()
	write(b, dir, files)
	ctx := context.Background()
	deployInto := func(b *testing.B, data string) func() *project.Summary {
		st, err := dsn.Open(ctx, "sqlite:"+filepath.Join(data, "s.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		lam, err := lambda.New(lambda.Options{Store: st, Account: "123456789012", Region: "us-east-1", DataDir: filepath.Join(data, "lambda")})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { lam.Close() })
		eng, err := engine.New(engine.Options{Store: st, Clock: clock.Real{}, Node: "bench", Account: "123456789012", Region: "us-east-1"})
		if err != nil {
			b.Fatal(err)
		}
		svc, err := service.New(service.Options{Store: st, Engine: eng, Clock: clock.Real{}, Account: "123456789012", Region: "us-east-1"})
		if err != nil {
			b.Fatal(err)
		}
		return func() *project.Summary {
			p, err := project.Load(dir)
			if err != nil {
				b.Fatal(err)
			}
			sum, err := p.Deploy(ctx, project.Targets{States: svc, Lambda: lam, Account: "123456789012", Region: "us-east-1"})
			if err != nil {
				b.Fatal(err)
			}
			return sum
		}
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			deploy := deployInto(b, b.TempDir())
			b.StartTimer()
			if sum := deploy(); sum.MachinesCreated != 50 || sum.FunctionsCreated != 20 {
				b.Fatalf("%+v", *sum)
			}
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		deploy := deployInto(b, b.TempDir())
		deploy()
		for b.Loop() {
			if sum := deploy(); sum.MachinesUnchanged != 50 || sum.FunctionsUnchanged != 20 {
				b.Fatalf("%+v", *sum)
			}
		}
	})
}
