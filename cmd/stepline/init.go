package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/stepline/stepline/internal/project"
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
