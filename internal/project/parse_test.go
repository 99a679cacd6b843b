package project

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/asl"
)

// writeFiles writes files (path → text) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const passDefinition = `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`

// baseFiles are what the error cases' projects refer to.
var baseFiles = map[string]string{
	"sm/pass.json":          passDefinition,
	"sm/bad.json":           `{"StartAt":"Nowhere","States":{"P":{"Type":"Pass","End":true}}}`,
	"sm/sub.json":           `{"StartAt":"P","States":{"P":{"Type":"${Kind}","End":true}}}`,
	"sm/flow.yaml":          "StartAt: P\nStates:\n  P:\n    Type: Pass\n    Result: {n: 1, x: 0x10, ok: true, f: 1.5, none: null, s: '<&>'}\n    End: true\n",
	"fn/py/app.py":          "def handler(event, context):\n    return event\n",
	"fn/node/index.mjs":     "export const handler = async (e) => e;\n",
	"fn/bin/bootstrap":      "#!/bin/sh\n",
	"fn/go/main.go":         "package main\n\nfunc main() {}\n",
	"fn/notmain/lib.go":     "package lib\n",
	"fn/pkg/pkg/mod.py":     "def h(e, c):\n    return e\n",
	"fn/empty/.placeholder": "",
}

func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, baseFiles)
	file := filepath.Join(dir, FileName)
	cases := []struct {
		name, yaml string
		want       string // the whole line, after "FILE:"
	}{
		{"empty", "", " the project file is empty: declare stateMachines or functions"},
		{"not a mapping", "- a\n", "1: the project file must be a mapping of sections (stateMachines, functions, buckets, glue, schedules, rules, connections)"},
		{"syntax", "stateMachines:\n  A: [\n", "2: invalid YAML: did not find expected node content"},
		{"unknown top key", "stateMachine:\n  A: {}\n", "1: stateMachine: unknown key (known: stateMachines, functions, buckets, glue, schedules, rules, connections)"},
		{"top key twice", "functions: {}\nfunctions: {}\n", "2: functions: given twice"},
		{"unknown machine key", "stateMachines:\n  A:\n    definition: sm/pass.json\n    defintion: x\n",
			"4: stateMachines.A.defintion: unknown key (known: definition, type, definitionSubstitutions, tags, logging, roleArn)"},
		{"missing definition", "stateMachines:\n  A:\n    type: STANDARD\n",
			"3: stateMachines.A.definition: missing: the definition file (JSON or YAML), relative to the project folder"},
		{"missing file", "stateMachines:\n  A:\n    definition: sm/nope.json\n", "3: stateMachines.A.definition: sm/nope.json: no such file"},
		{"invalid definition", "stateMachines:\n  A:\n    definition: sm/bad.json\n",
			"3: stateMachines.A.definition: sm/bad.json: "},
		{"bad type", "stateMachines:\n  A:\n    definition: sm/pass.json\n    type: FAST\n",
			"4: stateMachines.A.type: must be STANDARD or EXPRESS, not \"FAST\""},
		{"bad name", "stateMachines:\n  'a b':\n    definition: sm/pass.json\n",
			"2: stateMachines.a b: invalid state machine name: 1 to 80 characters, without white space or any of <>{}[]?*\"#%\\^|~`$&,;:/"},
		{"machine twice", "stateMachines:\n  A:\n    definition: sm/pass.json\n  A:\n    definition: sm/pass.json\n", "4: stateMachines.A: declared twice"},
		{"substitution missing", "stateMachines:\n  A:\n    definition: sm/sub.json\n", "3: stateMachines.A.definition: sm/sub.json: "},
		{"bad logging level", "stateMachines:\n  A:\n    definition: sm/pass.json\n    logging:\n      level: LOUD\n",
			"5: stateMachines.A.logging.level: must be ALL, ERROR, FATAL or OFF, not \"LOUD\""},
		{"bad role", "stateMachines:\n  A:\n    definition: sm/pass.json\n    roleArn: admin\n", "4: stateMachines.A.roleArn: not an IAM role ARN: \"admin\""},
		{"tags not a mapping", "stateMachines:\n  A:\n    definition: sm/pass.json\n    tags: [a]\n", "4: stateMachines.A.tags: must be a mapping of names to values"},
		{"bad runtime", "functions:\n  f:\n    code: fn/py\n    runtime: python2.7\n    handler: app.handler\n",
			"4: functions.f.runtime: unsupported runtime \"python2.7\" (Stepline runs provided.al2023, provided.al2, python3.9, python3.10, python3.11, python3.12, python3.13, nodejs18.x, nodejs20.x, nodejs22.x)"},
		{"missing runtime", "functions:\n  f:\n    code: fn/py\n", "3: functions.f.runtime: missing (one of provided.al2023, provided.al2, python3.9, python3.10, python3.11, python3.12, python3.13, nodejs18.x, nodejs20.x, nodejs22.x)"},
		{"missing code folder", "functions:\n  f:\n    code: fn/none\n    runtime: python3.11\n    handler: app.handler\n", "3: functions.f.code: fn/none: no such file"},
		{"code is a file", "functions:\n  f:\n    code: fn/py/app.py\n    runtime: python3.11\n    handler: app.handler\n", "3: functions.f.code: fn/py/app.py is not a folder"},
		{"handler module missing", "functions:\n  f:\n    code: fn/py\n    runtime: python3.11\n    handler: main.handler\n",
			"3: functions.f.code: handler \"main.handler\": no main.py in fn/py"},
		{"node module missing", "functions:\n  f:\n    code: fn/py\n    runtime: nodejs20.x\n    handler: index.handler\n",
			"3: functions.f.code: handler \"index.handler\": no index.js, .mjs or .cjs in fn/py"},
		{"no bootstrap", "functions:\n  f:\n    code: fn/notmain\n    runtime: provided.al2023\n",
			"3: functions.f.code: fn/notmain holds neither an executable bootstrap nor a Go main package (*.go files of package main)"},
		{"timeout range", "functions:\n  f:\n    code: fn/py\n    runtime: python3.11\n    handler: app.handler\n    timeout: 901\n",
			"6: functions.f.timeout: must be between 1 and 900, not 901"},
		{"memory not a number", "functions:\n  f:\n    code: fn/py\n    runtime: python3.11\n    handler: app.handler\n    memorySize: lots\n",
			"6: functions.f.memorySize: must be a whole number, not \"lots\""},
		{"reserved variable", "functions:\n  f:\n    code: fn/py\n    runtime: python3.11\n    handler: app.handler\n    environment:\n      AWS_REGION: x\n",
			"7: functions.f.environment.AWS_REGION: reserved: Lambda sets it"},
		{"unknown function key", "functions:\n  f:\n    code: fn/py\n    runtime: python3.11\n    handler: app.handler\n    memory: 128\n",
			"6: functions.f.memory: unknown key (known: code, runtime, handler, environment, timeout, memorySize, description, endpoint, region, functionName)"},
		{"endpoint and code", "functions:\n  f:\n    endpoint: http://127.0.0.1:3001\n    code: fn/py\n", "4: functions.f.code: not with endpoint: the function runs there"},
		{"bad endpoint", "functions:\n  f:\n    endpoint: localhost:3001\n", "3: functions.f.endpoint: must be an http:// or https:// URL, not \"localhost:3001\""},
		{"region without endpoint", "functions:\n  f:\n    code: fn/py\n    runtime: python3.11\n    handler: app.handler\n    region: eu-west-1\n",
			"6: functions.f.region: only with endpoint"},
		{"bad function name", "functions:\n  f.x:\n    code: fn/py\n", "2: functions.f.x: invalid function name: 1 to 64 letters, digits, - or _"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(dir, file, []byte(c.yaml))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want an *Error", err)
			}
			got := err.Error()
			if strings.Contains(got, "\n") {
				t.Errorf("error spans lines: %q", got)
			}
			want := file + ":" + c.want
			if strings.HasSuffix(c.want, ": ") {
				if !strings.HasPrefix(got, want) {
					t.Errorf("error\n %s\nwant it to start with\n %s", got, want)
				}
			} else if got != want {
				t.Errorf("error\n %s\nwant\n %s", got, want)
			}
		})
	}
}

func TestParseDefinitionDiagnostics(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, baseFiles)
	_, err := parse(dir, filepath.Join(dir, FileName), []byte("stateMachines:\n  A:\n    definition: sm/bad.json\n"))
	// The diagnostic as `stepline validate` prints it.
	_, perr := asl.Parse([]byte(baseFiles["sm/bad.json"]), asl.ParseOptions{})
	if err == nil || perr == nil || !strings.HasSuffix(err.Error(), "sm/bad.json: "+diagnostics(perr)) {
		t.Fatalf("error %v, want it to end with the definition's diagnostics %v", err, perr)
	}
	if !strings.Contains(err.Error(), "MISSING_TRANSITION_TARGET") && !strings.Contains(err.Error(), "SCHEMA_VALIDATION_FAILED") {
		t.Errorf("error %v names no AWS diagnostic code", err)
	}
}

func TestParseProject(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, baseFiles)
	text := `
stateMachines:
  Sub:
    definition: sm/sub.json
    type: EXPRESS
    definitionSubstitutions: {Kind: Pass, Unused: 1}
    tags: {team: data, n: 3}
    logging: {level: ERROR, includeExecutionData: true}
  Flow:
    definition: sm/flow.yaml
    roleArn: arn:aws:iam::123456789012:role/flow
functions:
  py: {code: fn/py, runtime: python3.12, handler: app.handler, timeout: 30, memorySize: 256, environment: {STAGE: dev}, description: d}
  node: {code: fn/node, runtime: nodejs20.x, handler: index.handler}
  bin: {code: fn/bin, runtime: provided.al2}
  go: {code: fn/go, runtime: provided.al2023}
  pkg: {code: fn/pkg, runtime: python3.11, handler: pkg.mod.h}
  far: {endpoint: "http://127.0.0.1:3001", region: eu-west-1, functionName: real-name}
rules:
  started: {eventPattern: {source: [aws.states]}, targets: [{function: py, inputPath: $.detail}]}
`
	p, err := parse(dir, filepath.Join(dir, FileName), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.StateMachines) != 2 || p.StateMachines[0].Name != "Flow" || p.StateMachines[1].Name != "Sub" {
		t.Fatalf("state machines %+v, want Flow and Sub in order", p.StateMachines)
	}
	flow, sub := p.StateMachines[0], p.StateMachines[1]
	if want := `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"n":1,"x":16,"ok":true,"f":1.5,"none":null,"s":"<&>"},"End":true}}}`; flow.Definition != want {
		t.Errorf("YAML definition as JSON\n %s\nwant\n %s", flow.Definition, want)
	}
	if flow.RoleArn != "arn:aws:iam::123456789012:role/flow" || flow.Type != asl.Standard || flow.LoggingLevel != "OFF" {
		t.Errorf("Flow %+v", flow)
	}
	if sub.Definition != `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}` || sub.Type != asl.Express ||
		sub.LoggingLevel != "ERROR" || !sub.IncludeExecutionData || sub.Tags["n"] != "3" || sub.Tags["team"] != "data" {
		t.Errorf("Sub %+v", sub)
	}
	byName := map[string]*Function{}
	for _, f := range p.Functions {
		byName[f.Name] = f
	}
	if f := byName["py"]; f.Timeout != 30 || f.MemorySize != 256 || f.Environment["STAGE"] != "dev" || f.Description != "d" || f.GoMain {
		t.Errorf("py %+v", f)
	}
	if f := byName["bin"]; f.Handler != "bootstrap" || f.GoMain {
		t.Errorf("bin %+v", f)
	}
	if f := byName["go"]; !f.GoMain {
		t.Errorf("go %+v: want a Go main package", f)
	}
	if f := byName["far"]; f.Endpoint != "http://127.0.0.1:3001" || f.Region != "eu-west-1" || f.FunctionName != "real-name" || f.Code != "" {
		t.Errorf("far %+v", f)
	}
	if len(p.Rules) != 1 || p.Rules[0].EventPattern != `{"source":["aws.states"]}` || p.Rules[0].Targets[0].ID != "py" ||
		*p.Rules[0].Targets[0].InputPath != "$.detail" {
		t.Errorf("rules %+v", p.Rules)
	}
}

func TestZipIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"b.py": "b", "a/c.py": "c", "__pycache__/x.pyc": "junk"})
	if err := os.Chmod(filepath.Join(dir, "b.py"), 0o755); err != nil {
		t.Fatal(err)
	}
	z1, err := zipFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	// New times and a new cache do not change the package.
	writeFiles(t, dir, map[string]string{"b.py": "b", "__pycache__/y.pyc": "more junk"})
	z2, err := zipFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(z1) != string(z2) {
		t.Error("zipping an unchanged folder twice gave different bytes")
	}
	writeFiles(t, dir, map[string]string{"b.py": "B"})
	z3, err := zipFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(z3) == string(z1) {
		t.Error("a changed file did not change the zip")
	}
	if err := os.Symlink("b.py", filepath.Join(dir, "link.py")); err != nil {
		t.Fatal(err)
	}
	if _, err := zipFolder(dir); err == nil || !strings.Contains(err.Error(), "link.py") {
		t.Errorf("zipping a symbolic link: %v, want an error naming it", err)
	}
}

func TestSplitFunctionName(t *testing.T) {
	for _, c := range []struct{ in, name, qual string }{
		{"f", "f", ""},
		{"f:live", "f", "live"},
		{"123456789012:function:f", "f", ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", "f", ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST", "f", "$LATEST"},
	} {
		if n, q := splitFunctionName(c.in); n != c.name || q != c.qual {
			t.Errorf("splitFunctionName(%q) = %q, %q; want %q, %q", c.in, n, q, c.name, c.qual)
		}
	}
}

func FuzzProject(f *testing.F) {
	dir := f.TempDir()
	writeFiles(f, dir, baseFiles)
	for _, s := range []string{
		"stateMachines:\n  A:\n    definition: sm/pass.json\n",
		"stateMachines:\n  A:\n    definition: sm/flow.yaml\n    definitionSubstitutions: {Kind: Pass}\n",
		"functions:\n  f: {code: fn/py, runtime: python3.11, handler: app.handler, environment: {A1: x}}\n",
		"functions:\n  f: {endpoint: 'http://x', region: r}\n",
		"a: &a [*a, *a]\nstateMachines: *a\n",
		"stateMachines:\n  A: &x\n    definition: sm/pass.json\n  B: *x\n",
		"buckets: {x: 1}\n",
		"buckets:\n  raw: {from: fn}\n  out:\nglue:\n  databases: {lake: {description: d, parameters: {a: b}}}\n",
		"glue:\n  crawlers:\n    c: {databaseName: d, targets: {s3Targets: [{path: s3://b/p, exclusions: ['*.x']}]}, schemaChangePolicy: {deleteBehavior: LOG}}\n",
		"glue:\n  jobs:\n    j: {command: {name: pythonshell, scriptLocation: s3://b/j.py}, defaultArguments: {--a: 1}, timeout: 5, maxRetries: 1}\n",
		"connections:\n  c: {authorizationType: API_KEY, authParameters: {apiKeyAuthParameters: {apiKeyName: k, apiKeyValue: '${env:HOME}'}, invocationHttpParameters: {headerParameters: [{key: a, value: b, isValueSecret: true}]}}}\n",
		"connections:\n  o: {authorizationType: OAUTH_CLIENT_CREDENTIALS, authParameters: {oAuthParameters: {authorizationEndpoint: 'https://x/t', httpMethod: POST, clientParameters: {clientID: i, clientSecret: s}, oAuthHttpParameters: {bodyParameters: [{key: a}]}}}}\n",
		"",
		"- [",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		p, err := parse(dir, filepath.Join(dir, FileName), text)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		for _, sm := range p.StateMachines {
			if sm.Parsed == nil {
				t.Fatalf("state machine %s accepted without a parsed definition", sm.Name)
			}
		}
	})
}
