package project

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// CheckTools reports, in one line, what this machine lacks to run the project's code:
// python3 that imports boto3 for Python functions and pythonshell jobs (AWS's Python runtimes
// and Glue's Python shell come with boto3, so code written for them imports it unasked), node
// for Node.js functions. nil when nothing is missing.
func (p *Project) CheckTools(ctx context.Context) error {
	var python, node []string
	for _, fn := range p.Functions {
		switch {
		case fn.Endpoint != "":
		case strings.HasPrefix(fn.Runtime, "python"):
			python = append(python, "function "+fn.Name)
		case strings.HasPrefix(fn.Runtime, "nodejs"):
			node = append(node, "function "+fn.Name)
		}
	}
	for _, j := range p.Glue.Jobs {
		if j.CommandName == "pythonshell" {
			python = append(python, "job "+j.Name)
		}
	}
	if len(python) > 0 {
		if _, err := exec.LookPath("python3"); err != nil {
			return fmt.Errorf("python3 is not on PATH; the project's Python code needs it, with boto3 (%s)", who(python))
		}
		if err := exec.CommandContext(ctx, "python3", "-c", "import boto3").Run(); err != nil {
			return fmt.Errorf("python3 cannot import boto3 (pip install boto3); the project's Python code needs it, as AWS's runtimes provide it (%s)", who(python))
		}
	}
	if len(node) > 0 {
		if _, err := exec.LookPath("node"); err != nil {
			return fmt.Errorf("node is not on PATH; the project's Node.js functions need it (%s)", who(node))
		}
	}
	return nil
}

// who names the first users of a tool, and how many more there are.
func who(users []string) string {
	if len(users) == 1 {
		return users[0]
	}
	return fmt.Sprintf("%s and %d more", users[0], len(users)-1)
}
