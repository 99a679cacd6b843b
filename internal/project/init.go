package project

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// starter is the project `stepline init` writes: a state machine that calls one Python
// function, ready for `stepline serve --project DIR`.
var starter = []struct{ name, text string }{
	{FileName, `# A Stepline project: "stepline serve --project ." deploys it, "stepline run Greeter --project ." runs it once.
stateMachines:
  Greeter:
    definition: statemachines/greeter.asl.json
    type: STANDARD
    definitionSubstitutions:
      GreetFunction: greet
    tags:
      project: starter
functions:
  greet:
    code: functions/greet
    runtime: python3.11
    handler: app.handler
    timeout: 10
`},
	{"statemachines/greeter.asl.json", `{
  "Comment": "Greets the name in the input with a Python function.",
  "StartAt": "Greet",
  "States": {
    "Greet": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {
        "FunctionName": "${GreetFunction}",
        "Payload.$": "$"
      },
      "ResultSelector": {
        "greeting.$": "$.Payload.greeting"
      },
      "End": true
    }
  }
}
`},
	{"functions/greet/app.py", `def handler(event, context):
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {"greeting": f"Hello, {name}!"}
`},
	{"README.md", "Run `stepline serve --project .`, then `aws --endpoint-url http://127.0.0.1:8083 stepfunctions start-execution " +
		"--state-machine-arn arn:aws:states:us-east-1:123456789012:stateMachine:Greeter --input '{\"name\":\"Ada\"}'` " +
		"(or once, without a server: `stepline run Greeter --project . --input '{\"name\":\"Ada\"}'`).\n"},
}

// Init writes a starter project into dir (created if need be) and returns the files it wrote.
// It refuses to overwrite anything: when one of its files exists, it writes none.
func Init(dir string) ([]string, error) {
	for _, f := range starter {
		path := filepath.Join(dir, f.name)
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("project: %s exists: stepline init writes into a folder without its files", path)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("project: %w", err)
		}
	}
	var written []string
	for _, f := range starter {
		path := filepath.Join(dir, f.name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return written, fmt.Errorf("project: %w", err)
		}
		// O_EXCL: a file created since the check above is not overwritten either.
		w, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return written, fmt.Errorf("project: %w", err)
		}
		_, err = w.WriteString(f.text)
		if err := errors.Join(err, w.Close()); err != nil {
			return written, fmt.Errorf("project: %w", err)
		}
		written = append(written, path)
	}
	return written, nil
}
