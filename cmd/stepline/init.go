package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/project"
	"github.com/stepline/stepline/internal/store/dsn"
	"github.com/stepline/stepline/internal/task"
)

func cmdInit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitInvalid
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "stepline init: want exactly one folder\n%s", usage)
		return exitInvalid
	}
	files, err := project.Init(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "stepline init: %v\n", err)
		return exitFailed
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "wrote %s\n", f)
	}
	fmt.Fprintf(stdout, "run it with: stepline serve --project %s\n", pos[0])
	return exitOK
}

// projectRunner deploys a project's functions into a Lambda service of the run's own (a
// SQLite store and a data folder in a temporary folder, gone with the run) and returns the
// task Runner of `stepline serve` over it, and what to close when the run ends. Go
// functions' builds are kept in the project's .stepline folder, so a second run does not
// build them again.
func projectRunner(ctx context.Context, proj *project.Project, account, region string) (engine.Runner, func() error, error) {
	tmp, err := os.MkdirTemp("", "stepline-run-")
	if err != nil {
		return nil, nil, err
	}
	st, err := dsn.Open(ctx, "sqlite:"+filepath.Join(tmp, "run.db"))
	if err != nil {
		return nil, nil, errors.Join(err, os.RemoveAll(tmp))
	}
	lam, err := lambda.New(lambda.Options{Store: st, Account: account, Region: region, DataDir: filepath.Join(tmp, "data")})
	if err != nil {
		return nil, nil, errors.Join(err, st.Close(), os.RemoveAll(tmp))
	}
	closeAll := func() error { return errors.Join(lam.Close(), st.Close(), os.RemoveAll(tmp)) }
	if _, err := proj.Deploy(ctx, project.Targets{Lambda: lam, Account: account, Region: region,
		BuildCache: filepath.Join(proj.Dir, ".stepline", "build")}); err != nil {
		return nil, nil, errors.Join(err, closeAll())
	}
	return task.New(task.Options{Lambda: proj.Lambda(lam, region), Region: region, Account: account}), closeAll, nil
}
