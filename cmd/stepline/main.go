// Command stepline runs Amazon States Language state machines: `stepline serve` serves the AWS
// APIs on one port, `stepline run` executes one definition in-process, `stepline validate`
// checks one as AWS would, `stepline init` writes a starter project folder.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/inproc"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/mock"
	"github.com/stepline/stepline/internal/project"
	"github.com/stepline/stepline/internal/task"
)

const usage = `usage:
  stepline serve [--addr 127.0.0.1:8083] [--db ./stepline.db | sqlite:PATH | postgres://…] [--data DIR] [--project DIR]
                 [--wait-scale F] [--account ID] [--region NAME] [--node NAME] [--auth FILE] [--insecure]
                 [--stack-name NAME] [--parameter-overrides K=V[,K=V]]
  stepline run FILE|NAME [--input JSON | --input @FILE] [--json] [--history] [--wait-scale F] [--type STANDARD|EXPRESS]
               [--name EXECUTION] [--project DIR] [--account ID] [--region NAME]
               [--stack-name NAME] [--parameter-overrides K=V[,K=V]]
  stepline serve|run … [--mock-config FILE (default $SFN_MOCK_CONFIG)]; run also [--test-case NAME]
  stepline serve|run … [--ca-bundle FILE] (CAs that HTTP Tasks trust besides the system's; run: with --project)
  stepline validate FILE [--type STANDARD|EXPRESS]
  stepline init DIR
`

// Exit codes of `stepline run`.
const (
	exitOK      = 0
	exitFailed  = 1
	exitInvalid = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitInvalid
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdout, stderr)
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "init":
		return cmdInit(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "stepline: unknown command %q\n%s", args[0], usage)
	return exitInvalid
}

// parseArgs parses flags that may come before or after the positional arguments, as the
// documented `stepline run FILE --input …` form needs.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	input := fs.String("input", "{}", "execution input: JSON text, or @FILE to read it from a file")
	asJSON := fs.Bool("json", false, "print one JSON object {status, output, error, cause}")
	withHistory := fs.Bool("history", false, "with --json, add the execution history as \"events\"")
	waitScale := fs.Float64("wait-scale", 1, "multiply every wait (Wait states, retries, timeouts) by this factor; 0 skips waiting")
	name := fs.String("name", "", "execution name (default: a random UUID)")
	account := fs.String("account", "123456789012", "AWS account id used in ARNs")
	region := fs.String("region", "us-east-1", "AWS region used in ARNs")
	typ := fs.String("type", "STANDARD", "state machine type: STANDARD or EXPRESS")
	mockConfig := fs.String("mock-config", os.Getenv("SFN_MOCK_CONFIG"), "Step Functions Local mock configuration file (default $SFN_MOCK_CONFIG), for --test-case")
	testCase := fs.String("test-case", "", "run under this test case of the mock configuration, for the state machine named as FILE (without its extension) or NAME")
	projectDir := fs.String("project", "", "project folder: the run deploys it on a server of its own (database and files in DIR/.stepline), "+
		"so the code reaches Lambda, S3 and Glue; FILE may name one of its state machines")
	caBundle := fs.String("ca-bundle", "", "with --project: PEM file of CA certificates HTTP Tasks trust besides the system's")
	var po project.LoadOptions
	templateFlags(fs, &po)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitInvalid
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "stepline run: want exactly one definition file (or, with --project, state machine name)\n%s", usage)
		return exitInvalid
	}
	if *caBundle != "" && *projectDir == "" {
		// HTTP Tasks need a connection, which only a project (or a server) declares.
		fmt.Fprintln(stderr, "stepline run: --ca-bundle is for HTTP Tasks, whose connections come from a project: add --project DIR")
		return exitInvalid
	}
	if *waitScale < 0 {
		fmt.Fprintln(stderr, "stepline run: --wait-scale must not be negative")
		return exitInvalid
	}
	mtype, err := machineType(*typ)
	if err != nil {
		fmt.Fprintf(stderr, "stepline run: %v\n", err)
		return exitInvalid
	}
	if *testCase != "" && *mockConfig == "" {
		fmt.Fprintln(stderr, "stepline run: --test-case needs a mock configuration: --mock-config FILE or SFN_MOCK_CONFIG")
		return exitInvalid
	}
	var mocks *mock.Config
	if *testCase != "" {
		if mocks, err = mock.Load(*mockConfig); err != nil {
			fmt.Fprintf(stderr, "stepline run: %v\n", err)
			return exitInvalid
		}
	}
	var proj *project.Project
	if *projectDir != "" {
		po.Account, po.Region = *account, *region
		if proj, err = project.LoadWith(*projectDir, po); err != nil {
			fmt.Fprintf(stderr, "stepline run: %v\n", err)
			return exitInvalid
		}
	}
	smName := strings.TrimSuffix(filepath.Base(pos[0]), filepath.Ext(pos[0]))
	var def *asl.StateMachine
	declared := proj.StateMachine(pos[0])
	if declared != nil {
		// A state machine the project declares: its definition (substituted) and its type.
		def, mtype, smName = declared.Parsed, declared.Type, declared.Name
	} else {
		if _, err := os.Stat(pos[0]); err != nil && proj != nil {
			var names []string
			for _, sm := range proj.StateMachines {
				names = append(names, cmp.Or(sm.Construct, sm.LogicalID, sm.Name))
			}
			fmt.Fprintf(stderr, "stepline run: %s is neither a file nor a state machine of the project (%s)\n", pos[0], strings.Join(names, ", "))
			return exitInvalid
		}
		var code int
		if def, code = load(pos[0], mtype, stderr); def == nil {
			return code
		}
	}
	in := *input
	if strings.HasPrefix(in, "@") {
		b, err := os.ReadFile(in[1:])
		if err != nil {
			fmt.Fprintf(stderr, "stepline run: reading input: %v\n", err)
			return exitInvalid
		}
		in = string(b)
	}
	if proj != nil {
		r := &projectRun{proj: proj, opts: po, machine: smName, mtype: mtype, input: in, execName: *name, asJSON: *asJSON,
			withHistory: *withHistory, waitScale: *waitScale, account: *account, region: *region}
		if mocks != nil {
			r.mockConfig, r.testCase = *mockConfig, *testCase
		}
		r.caBundle = *caBundle
		if declared == nil {
			b, err := os.ReadFile(pos[0])
			if err != nil {
				fmt.Fprintf(stderr, "stepline run: %v\n", err)
				return exitInvalid
			}
			r.definition = string(b)
		}
		return runOnServer(ctx, r, stdout, stderr)
	}
	execName := *name
	if execName == "" {
		execName = newUUID()
	}
	// As AWS names them: an Express execution's ARN is an express: ARN with a unique suffix,
	// and one whose outcome is waited for (as here) is a synchronous one, whose context object
	// has no RedriveCount.
	execArn := fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", *region, *account, smName, execName)
	if mtype == asl.Express {
		execArn = fmt.Sprintf("arn:aws:states:%s:%s:express:%s:%s:%s", *region, *account, smName, execName, newUUID())
	}
	var runTask func(context.Context, interp.ScheduleTask) interp.Event
	var tc *interp.TestCase
	if mocks != nil {
		if _, err := mocks.TestCase(smName, *testCase); err != nil {
			fmt.Fprintf(stderr, "stepline run: --test-case: %v (the file configures: %s)\n", err, strings.Join(mocks.StateMachines(), ", "))
			return exitInvalid
		}
		// Mocked states answer from the file; the others reach a runner without services, as
		// a one-shot run has none (run --project has them all).
		tc = &interp.TestCase{StateMachine: smName, Name: *testCase}
		runTask = engine.InprocTask(task.New(task.Options{Mocks: mocks, Account: *account, Region: *region}), execArn)
	}
	res, err := inproc.Run(ctx, inproc.Options{
		Definition:       def,
		Input:            in,
		StateMachineName: smName,
		ExecutionName:    execName,
		RoleArn:          "arn:aws:iam::" + *account + ":role/stepline",
		Account:          *account,
		Region:           *region,
		Type:             mtype,
		Sync:             mtype == asl.Express,
		ExecutionArn:     execArn,
		WaitScale:        *waitScale,
		RunTask:          runTask,
		TestCase:         tc,
	})
	if err != nil {
		var ie *interp.InputError
		if errors.As(err, &ie) {
			fmt.Fprintf(stderr, "stepline run: InvalidExecutionInput: %v\n", ie.Err)
			return exitInvalid
		}
		fmt.Fprintf(stderr, "stepline run: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		fmt.Fprintf(stdout, "%s\n", res.JSON(*withHistory))
	} else {
		fmt.Fprintln(stdout, res.Status)
		if res.Output != nil {
			fmt.Fprintln(stdout, *res.Output)
		}
		if res.Error != nil {
			fmt.Fprintf(stdout, "error: %s\n", *res.Error)
		}
		if res.Cause != nil {
			fmt.Fprintf(stdout, "cause: %s\n", *res.Cause)
		}
	}
	if res.Status != interp.Succeeded {
		return exitFailed
	}
	return exitOK
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	typ := fs.String("type", "STANDARD", "state machine type: STANDARD or EXPRESS")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitInvalid
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "stepline validate: want exactly one definition file\n%s", usage)
		return exitInvalid
	}
	mtype, err := machineType(*typ)
	if err != nil {
		fmt.Fprintf(stderr, "stepline validate: %v\n", err)
		return exitInvalid
	}
	if def, code := load(pos[0], mtype, stdout); def == nil {
		return code
	}
	fmt.Fprintln(stdout, "OK")
	return exitOK
}

// templateFlags are the flags of a template project (SAM, CloudFormation, CDK): the stack's
// name and parameter overrides.
func templateFlags(fs *flag.FlagSet, po *project.LoadOptions) {
	fs.StringVar(&po.StackName, "stack-name", "", "a template project's AWS::StackName (default: the folder's name, or the CDK stack's)")
	fs.Func("parameter-overrides", "a template project's parameters: K=V[,K=V] (or SAM CLI's ParameterKey=K,ParameterValue=V); repeatable",
		func(s string) error {
			if po.Parameters == nil {
				po.Parameters = map[string]string{}
			}
			return project.ParseParameters(s, po.Parameters)
		})
}

func machineType(s string) (asl.MachineType, error) {
	switch s {
	case "STANDARD":
		return asl.Standard, nil
	case "EXPRESS":
		return asl.Express, nil
	}
	return 0, fmt.Errorf("--type must be STANDARD or EXPRESS, not %q", s)
}

// load reads and parses a definition, printing diagnostics one a line to w when it is invalid.
func load(file string, t asl.MachineType, w io.Writer) (*asl.StateMachine, int) {
	b, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(w, "stepline: %v\n", err)
		return nil, exitInvalid
	}
	def, err := asl.Parse(b, asl.ParseOptions{Type: t})
	if err != nil {
		var de *asl.DefinitionError
		if errors.As(err, &de) {
			for _, d := range de.Diagnostics {
				if d.Location != "" {
					fmt.Fprintf(w, "%s: %s at %s\n", d.Code, d.Message, d.Location)
				} else {
					fmt.Fprintf(w, "%s: %s\n", d.Code, d.Message)
				}
			}
		} else {
			fmt.Fprintf(w, "stepline: %v\n", err)
		}
		return nil, exitInvalid
	}
	return def, exitOK
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
