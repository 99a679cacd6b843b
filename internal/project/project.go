// Package project reads a project folder's stepline.yaml — state machines with their
// definition files, Lambda functions with their code folders or external endpoints, S3
// buckets filled from folders, Glue databases, crawlers and jobs, and the sections later
// issues fill in — checks all of it, and deploys it idempotently through the same operations
// as the AWS API: the Step Functions service, and the Lambda, S3 and Glue APIs.
//
// Load checks everything before anything is deployed: each definition is read, substituted and
// parsed as CreateStateMachine would, each code folder is looked at; a mistake is one line
// naming the file, the line and the key (Error). Deploy then compares what the project declares
// with what the services hold and changes only what differs, so that deploying the same folder
// again makes no new revision and keeps every function's CodeSha256 and RevisionId.
package project

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stepline/stepline/internal/asl"
)

// FileName is the project file every project folder holds.
const FileName = "stepline.yaml"

// Error is a mistake in a project: the file, the line (0 when unknown), the key's path (such
// as stateMachines.Hello.definition) and what is wrong, printed as one line.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Project is a checked project folder.
type Project struct {
	// Dir is the project folder; File its stepline.yaml.
	Dir, File string
	// StateMachines and Functions are sorted by name.
	StateMachines []*StateMachine
	Functions     []*Function
	// Buckets are sorted by name; Glue's lists too.
	Buckets []*Bucket
	Glue    Glue
	// Connections are EventBridge connections (for HTTP Tasks), sorted by name.
	Connections []*Connection
	// Schedules are EventBridge Scheduler schedules, sorted by name.
	Schedules []*Schedule
	// Rules are EventBridge rules with their targets, sorted by name.
	Rules []*Rule
	// Reserved holds the sections later issues read (none today), as
	// written; Deploy leaves them alone.
	Reserved map[string]*yaml.Node
	// Warnings are names the project uses without declaring them (a bucket of an S3 path, a
	// crawler's database): they may exist outside the project, so Load does not refuse them.
	Warnings []*Error

	// Source says what the project was read from: "stepline.yaml", "SAM template",
	// "CloudFormation template" or "CDK app"; StackName is AWS::StackName for a template.
	Source, StackName string
	// Skipped are a template's resources that Stepline does not run (IAM roles, log groups,
	// APIs, …) or whose Condition is false, in template order; Deploy lists each once.
	Skipped []Skipped
	// rename turns a key path of stepline.yaml's shape into the template's (nil for
	// stepline.yaml), so that deploy errors name Resources.ID.Properties.X.
	rename func(string) string
}

// StateMachine is one entry of stateMachines.
type StateMachine struct {
	Name string
	// LogicalID is the template resource it comes from ("" in stepline.yaml): `stepline run
	// ID --project DIR` finds it by either name.
	LogicalID string
	// Construct is a CDK app's construct path of it, stack and /Resource left out
	// (Greeting for StepsStack/Greeting/Resource): the name the app's code gives it.
	Construct string
	// File is the definition file as written in the project; Definition its text after
	// substitution, as JSON (a YAML file is converted).
	File       string
	Definition string
	Parsed     *asl.StateMachine
	Type       asl.MachineType
	Tags       map[string]string
	// LoggingLevel is ALL, ERROR, FATAL or OFF; IncludeExecutionData goes with it.
	LoggingLevel         string
	IncludeExecutionData bool
	// RoleArn is "" for the default role.
	RoleArn string
	line    int
}

// Function is one entry of functions: local code, or an external endpoint.
type Function struct {
	Name string
	// Code is the code folder (absolute); empty for a function bound to an endpoint.
	Code        string
	Runtime     string
	Handler     string
	Environment map[string]string
	// Timeout (seconds) and MemorySize (MB) are 0 for Lambda's defaults.
	Timeout     int
	MemorySize  int
	Description string
	// GoMain marks code that is a Go main package, built into bootstrap at deploy.
	GoMain bool
	// Endpoint is the URL of the Lambda API that runs the function instead; Region and
	// FunctionName are what it is called there (defaults: the server's region, Name).
	Endpoint     string
	Region       string
	FunctionName string
	line         int
}

// reservedSections are top-level keys later issues own; their contents are theirs to check.
var reservedSections = []string{}

// sections are the project file's top-level keys.
var sections = append(append([]string{"stateMachines", "functions", "buckets", "glue", "schedules", "rules"}, reservedSections...), "connections")

// Load reads dir/stepline.yaml — or, without one, a SAM or CloudFormation template
// (template.yaml, template.yml, template.json) or a CDK app's synthesized
// cdk.out/STACK.template.json — and checks the whole project: every definition parses and
// validates, every code folder holds what its runtime needs. The error is an *Error.
func Load(dir string) (*Project, error) {
	return LoadWith(dir, LoadOptions{})
}

// LoadWith is Load with what a template's intrinsics need: the identity in ARNs, the stack's
// name and parameter values.
func LoadWith(dir string, o LoadOptions) (*Project, error) {
	file := filepath.Join(dir, FileName)
	text, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		tfile, kind, terr := findTemplate(dir, o.StackName)
		if terr != nil {
			return nil, terr
		}
		if tfile != "" {
			return loadTemplate(dir, tfile, kind, o)
		}
		return nil, &Error{File: file, Msg: "no project file: neither stepline.yaml nor a SAM/CloudFormation template (" +
			strings.Join(TemplateFiles, ", ") + ") nor a CDK app's cdk.out/*.template.json (stepline init " + dir + " writes a stepline.yaml)"}
	}
	if err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	if len(o.Parameters) > 0 {
		return nil, &Error{File: file, Msg: "parameter overrides are for templates; stepline.yaml takes none"}
	}
	p, err := parse(dir, file, text)
	if err == nil {
		p.Source = FileName
	}
	return p, err
}

// parse checks a project file's text; definition files and code folders are read from dir.
func parse(dir, file string, text []byte) (*Project, error) {
	p := &parser{file: file, dir: dir}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, p.yamlError(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{File: file, Msg: "the project file is empty: declare stateMachines or functions"}
	}
	top, err := p.fields(doc.Content[0], "", sections)
	if err != nil {
		return nil, err
	}
	proj := &Project{Dir: dir, File: file, Reserved: map[string]*yaml.Node{}}
	for _, s := range reservedSections {
		if n := top[s]; n != nil {
			proj.Reserved[s] = n
		}
	}
	if n := top["functions"]; n != nil {
		if err := p.entries(n, "functions", func(name string, key, v *yaml.Node) error {
			f, err := p.function(name, key, v)
			if err == nil {
				proj.Functions = append(proj.Functions, f)
			}
			return err
		}); err != nil {
			return nil, err
		}
	}
	if n := top["buckets"]; n != nil {
		if err := p.entries(n, "buckets", func(name string, key, v *yaml.Node) error {
			b, err := p.bucket(name, key, v)
			if err == nil {
				proj.Buckets = append(proj.Buckets, b)
			}
			return err
		}); err != nil {
			return nil, err
		}
	}
	if n := top["glue"]; n != nil {
		g, err := p.glue(n)
		if err != nil {
			return nil, err
		}
		proj.Glue = *g
	}
	if n := top["connections"]; n != nil {
		if err := p.entries(n, "connections", func(name string, key, v *yaml.Node) error {
			c, err := p.connection(name, key, v)
			if err == nil {
				proj.Connections = append(proj.Connections, c)
			}
			return err
		}); err != nil {
			return nil, err
		}
		slices.SortFunc(proj.Connections, func(a, b *Connection) int { return strings.Compare(a.Name, b.Name) })
	}
	if n := top["stateMachines"]; n != nil {
		if err := p.entries(n, "stateMachines", func(name string, key, v *yaml.Node) error {
			sm, err := p.stateMachine(name, key, v)
			if err == nil {
				proj.StateMachines = append(proj.StateMachines, sm)
			}
			return err
		}); err != nil {
			return nil, err
		}
	}
	if n := top["schedules"]; n != nil {
		if err := p.entries(n, "schedules", func(name string, key, v *yaml.Node) error {
			sc, err := p.schedule(name, key, v)
			if err == nil {
				proj.Schedules = append(proj.Schedules, sc)
			}
			return err
		}); err != nil {
			return nil, err
		}
		slices.SortFunc(proj.Schedules, func(a, b *Schedule) int { return strings.Compare(a.Name, b.Name) })
	}
	slices.SortFunc(proj.Functions, func(a, b *Function) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(proj.StateMachines, func(a, b *StateMachine) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(proj.Buckets, func(a, b *Bucket) int { return strings.Compare(a.Name, b.Name) })
	if n := top["rules"]; n != nil {
		if err := p.entries(n, "rules", func(name string, key, v *yaml.Node) error {
			r, err := p.rule(name, key, v)
			if err == nil {
				proj.Rules = append(proj.Rules, r)
			}
			return err
		}); err != nil {
			return nil, err
		}
		slices.SortFunc(proj.Rules, func(a, b *Rule) int { return strings.Compare(a.Name, b.Name) })
	}
	if err := proj.checkScheduleTargets(); err != nil {
		return nil, err
	}
	if err := proj.checkRuleTargets(); err != nil {
		return nil, err
	}
	proj.Warnings = proj.references()
	return proj, nil
}

// StateMachine returns the state machine declared as name (or, from a template, of that
// logical ID or CDK construct path), or nil (also of a nil Project).
func (p *Project) StateMachine(name string) *StateMachine {
	if p == nil {
		return nil
	}
	for _, sm := range p.StateMachines {
		if sm.Name == name || sm.LogicalID == name || sm.Construct == name {
			return sm
		}
	}
	return nil
}
