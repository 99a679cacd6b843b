package project

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/templates")

// describe writes what a template project became, one thing a line, for the golden files.
func describe(p *Project) string {
	var b strings.Builder
	dir, _ := filepath.Abs(p.Dir)
	rel := func(path string) string {
		path, _ = filepath.Abs(path)
		r, err := filepath.Rel(dir, path)
		if err != nil {
			return path
		}
		return filepath.ToSlash(r)
	}
	kv := func(m map[string]string) string {
		var s []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			s = append(s, k+"="+m[k])
		}
		return "{" + strings.Join(s, ", ") + "}"
	}
	fmt.Fprintf(&b, "source: %s, stack %s, file %s\n", p.Source, p.StackName, rel(p.File))
	for _, sm := range p.StateMachines {
		fmt.Fprintf(&b, "state machine %s (logical ID %s, construct %q): type %v, role %q, logging %s/%v, tags %s, file %s\n  %s\n",
			sm.Name, sm.LogicalID, sm.Construct, sm.Type, sm.RoleArn, sm.LoggingLevel, sm.IncludeExecutionData, kv(sm.Tags), sm.File, sm.Definition)
	}
	for _, f := range p.Functions {
		fmt.Fprintf(&b, "function %s: %s %s, code %s, timeout %d, memory %d, environment %s\n",
			f.Name, f.Runtime, f.Handler, rel(f.Code), f.Timeout, f.MemorySize, kv(f.Environment))
	}
	for _, bk := range p.Buckets {
		from := ""
		if bk.From != "" {
			from = ", from " + rel(bk.From)
		}
		fmt.Fprintf(&b, "bucket %s%s\n", bk.Name, from)
	}
	for _, d := range p.Glue.Databases {
		fmt.Fprintf(&b, "glue database %s: %q %q %s\n", d.Name, d.Description, d.LocationURI, kv(d.Parameters))
	}
	for _, c := range p.Glue.Crawlers {
		fmt.Fprintf(&b, "glue crawler %s: database %s, role %s, targets %+v, %s/%s\n", c.Name, c.DatabaseName, c.Role, c.S3Targets, c.UpdateBehavior, c.DeleteBehavior)
	}
	for _, j := range p.Glue.Jobs {
		fmt.Fprintf(&b, "glue job %s: %s %s %s, arguments %s, timeout %d, retries %d, concurrent %d, role %s\n", j.Name, j.CommandName,
			j.ScriptLocation, j.PythonVersion, kv(j.DefaultArguments), j.Timeout, j.MaxRetries, j.MaxConcurrentRuns, j.Role)
	}
	for _, s := range p.Schedules {
		fmt.Fprintf(&b, "schedule %s/%s: %s %q, target %s, input %s, state %s, window %d", s.Group, s.Name, s.Expression, s.Timezone, s.Target+s.StateMachine+s.Function, s.Input, s.State, s.FlexibleWindow)
		if s.StartDate != nil || s.EndDate != nil {
			fmt.Fprintf(&b, ", dates %v %v", s.StartDate, s.EndDate)
		}
		b.WriteString("\n")
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(&b, "skipped %s (%s) at line %d: %s\n", s.LogicalID, s.Type, s.Line, s.Reason)
	}
	for _, r := range p.Rules {
		fmt.Fprintf(&b, "rule %s/%s: pattern %s, schedule %q, state %s, description %q\n", r.Bus, r.Name, r.EventPattern, r.ScheduleExpression, r.State, r.Description)
		for _, tg := range r.Targets {
			fmt.Fprintf(&b, "  target %s: state machine %q, function %q, arn %q", tg.ID, tg.StateMachine, tg.Function, tg.Arn)
			if tg.Input != nil {
				fmt.Fprintf(&b, ", input %s", *tg.Input)
			}
			if tg.InputPath != nil {
				fmt.Fprintf(&b, ", inputPath %s", *tg.InputPath)
			}
			if tg.InputTransformer != nil {
				fmt.Fprintf(&b, ", transformer %s %s", kv(tg.InputTransformer.InputPathsMap), tg.InputTransformer.InputTemplate)
			}
			b.WriteString("\n")
		}
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning %s\n", strings.Replace(w.Error(), p.Dir, "DIR", 1))
	}
	return b.String()
}

// TestTemplateGolden translates each template project (the SAM example, a synthesized CDK
// app, a plain CloudFormation template) and compares it with its golden file.
func TestTemplateGolden(t *testing.T) {
	cases := []struct {
		name, dir string
		o         LoadOptions
	}{
		{"sam", "../../examples/sam-app", LoadOptions{StackName: "sam-app"}},
		{"sam-prod", "../../examples/sam-app", LoadOptions{StackName: "orders", Parameters: map[string]string{"Stage": "prod"}}},
		{"cdk", "testdata/templates/cdk", LoadOptions{}},
		{"cfn", "testdata/templates/cfn", LoadOptions{}},
		{"sam-events", "testdata/templates/sam-events", LoadOptions{StackName: "events"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := LoadWith(c.dir, c.o)
			if err != nil {
				t.Fatal(err)
			}
			got := describe(p)
			golden := filepath.Join("testdata", "templates", c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (go test -run TestTemplateGolden -update rewrites it):\n%s", c.dir, golden, got)
			}
		})
	}
}

// TestTemplateFound: stepline.yaml wins over a template; a CDK app needs its cdk.out; two
// stacks need --stack-name.
func TestTemplateFound(t *testing.T) {
	tmpl := "Resources:\n  B:\n    Type: AWS::S3::Bucket\n"
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"template.yaml": tmpl, FileName: "buckets:\n  only-mine: {}\n"})
	if p, err := Load(dir); err != nil || p.Source != FileName || p.Buckets[0].Name != "only-mine" {
		t.Errorf("beside stepline.yaml: %+v, %v", p, err)
	}
	if _, err := LoadWith(dir, LoadOptions{Parameters: map[string]string{"A": "1"}}); err == nil ||
		!strings.HasSuffix(err.Error(), "parameter overrides are for templates; stepline.yaml takes none") {
		t.Errorf("overrides for stepline.yaml: %v", err)
	}

	for _, name := range TemplateFiles {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{name: tmpl})
		p, err := Load(dir)
		if err != nil || p.Source != "CloudFormation template" || filepath.Base(p.File) != name || p.StackName != filepath.Base(dir) {
			t.Errorf("%s: %+v, %v", name, p, err)
		}
	}

	// sam build's template is read unless the template changed after the build.
	sam := t.TempDir()
	writeFiles(t, sam, map[string]string{"template.yaml": tmpl, ".aws-sam/build/template.yaml": tmpl})
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(sam, "template.yaml"), old, old); err != nil {
		t.Fatal(err)
	}
	if p, err := Load(sam); err != nil || p.File != filepath.Join(sam, ".aws-sam", "build", "template.yaml") || p.StackName != filepath.Base(sam) {
		t.Errorf("after sam build: %+v, %v", p, err)
	}
	if err := os.Chtimes(filepath.Join(sam, ".aws-sam", "build", "template.yaml"), old.Add(-time.Hour), old.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if p, err := Load(sam); err != nil || p.File != filepath.Join(sam, "template.yaml") {
		t.Errorf("template changed after sam build: %+v, %v", p, err)
	}

	cdk := t.TempDir()
	writeFiles(t, cdk, map[string]string{"cdk.json": `{"app": "node app.js"}`})
	if _, err := Load(cdk); err == nil || !strings.HasSuffix(err.Error(), "cdk.json: a CDK app without cdk.out/*.template.json: synthesize it first (npx cdk synth)") {
		t.Errorf("CDK app without cdk.out: %v", err)
	}
	writeFiles(t, cdk, map[string]string{"cdk.out/One.template.json": `{"Resources":{"B":{"Type":"AWS::S3::Bucket"}}}`,
		"cdk.out/Two.template.json": `{"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}`})
	if _, err := Load(cdk); err == nil || !strings.HasSuffix(err.Error(), "cdk.out: several stacks (One, Two): choose one with --stack-name") {
		t.Errorf("two stacks: %v", err)
	}
	p, err := LoadWith(cdk, LoadOptions{StackName: "Two"})
	if err != nil || p.StackName != "Two" || len(p.Skipped) != 1 || p.Skipped[0].LogicalID != "Q" {
		t.Errorf("--stack-name Two: %+v, %v", p, err)
	}

	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no project file: neither stepline.yaml nor a SAM/CloudFormation template") {
		t.Errorf("an empty folder: %v", err)
	}
}

// TestTemplateErrors: each mistake is one line with the file, the line and the resource's
// property path, and nothing is returned half-made.
func TestTemplateErrors(t *testing.T) {
	files := map[string]string{
		"fn/app.py":   "def handler(e, c):\n    return e\n",
		"fn/code.zip": "PK",
		"sm/ok.json":  `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
		"sm/bad.json": `{"StartAt":"Nowhere","States":{"P":{"Type":"Pass","End":true}}}`,
	}
	const fn = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
	cases := []struct{ name, template, want string }{
		{"syntax", "Resources:\n  F: [\n", "2: invalid YAML: did not find expected node content"},
		{"not a mapping", "- a\n", " the template must be a mapping with Resources"},
		{"unknown section", "Resource:\n  F: {}\n", "1: Resource: unknown template section"},
		{"no resources", "Description: x\n", "1: Resources: missing: the template declares no resources"},
		{"no type", "Resources:\n  F:\n    Properties: {}\n", "3: Resources.F.Type: missing: the resource's type"},
		{"unknown resource key", "Resources:\n  F:\n    Type: AWS::S3::Bucket\n    Propertes: {}\n", "4: Resources.F.Propertes: unknown key"},
		{"bad logical ID", "Resources:\n  my-fn:\n    Type: AWS::S3::Bucket\n", "2: Resources.my-fn: a logical ID is letters and digits only"},
		{"missing runtime", fn + "      CodeUri: fn\n      Handler: app.handler\n", "2: Resources.F.Properties.Runtime: missing"},
		{"bad runtime", fn + "      CodeUri: fn\n      Handler: app.handler\n      Runtime: python2.7\n",
			`7: Resources.F.Properties.Runtime: unsupported runtime "python2.7"`},
		{"missing code folder", fn + "      CodeUri: nope/\n      Handler: app.handler\n      Runtime: python3.12\n",
			"5: Resources.F.Properties.CodeUri: nope: no such file"},
		{"code is a zip", fn + "      CodeUri: fn/code.zip\n      Handler: app.handler\n      Runtime: python3.12\n",
			"5: Resources.F.Properties.CodeUri: code.zip is a file: Stepline packages code from a folder"},
		{"handler missing", fn + "      CodeUri: fn\n      Handler: main.handler\n      Runtime: python3.12\n",
			`5: Resources.F.Properties.CodeUri: handler "main.handler": no main.py in fn`},
		{"S3 code", fn + "      CodeUri: {Bucket: b, Key: k.zip}\n      Handler: app.handler\n      Runtime: python3.12\n",
			"5: Resources.F.Properties.CodeUri: s3://b/k.zip is not on this machine"},
		{"bad timeout", fn + "      CodeUri: fn\n      Handler: app.handler\n      Runtime: python3.12\n      Timeout: 9000\n",
			"8: Resources.F.Properties.Timeout: must be between 1 and 900, not 9000"},
		{"bad variable", fn + "      CodeUri: fn\n      Handler: app.handler\n      Runtime: python3.12\n      Environment:\n        Variables:\n          AWS_REGION: x\n",
			"10: Resources.F.Properties.Environment.Variables.AWS_REGION: reserved: Lambda sets it"},
		{"inline code of another runtime", "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: provided.al2023\n      Handler: x\n      Code:\n        ZipFile: echo\n",
			"8: Resources.F.Properties.Code.ZipFile: inline code runs on a python or nodejs runtime"},
		{"intrinsic in a property", fn + "      CodeUri: fn\n      Handler: !GetAtt Nope.Arn\n      Runtime: python3.12\n",
			"6: Resources.F.Properties.Handler.Fn::GetAtt: no resource named Nope"},
		{"no definition", "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties: {Type: STANDARD}\n",
			"2: Resources.M.Properties.Definition: missing: one of Definition, DefinitionUri"},
		{"two definitions", "Resources:\n  M:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n      DefinitionString: x\n      DefinitionS3Location: sm/ok.json\n",
			"6: Resources.M.Properties.DefinitionS3Location: give one of DefinitionString and DefinitionS3Location, not both"},
		{"missing definition file", "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      DefinitionUri: sm/none.json\n",
			"5: Resources.M.Properties.DefinitionUri: sm/none.json: no such file"},
		{"invalid definition", "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      DefinitionUri: sm/bad.json\n",
			"5: Resources.M.Properties.DefinitionUri: sm/bad.json: MISSING_TRANSITION_TARGET"},
		{"invalid inline definition", "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      Definition:\n        StartAt: X\n        States: {}\n",
			"6: Resources.M.Properties.Definition: template.yaml: "},
		{"bad machine type", "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      DefinitionUri: sm/ok.json\n      Type: FAST\n",
			`6: Resources.M.Properties.Type: must be STANDARD or EXPRESS, not "FAST"`},
		{"bad tags", "Resources:\n  M:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n      DefinitionS3Location: sm/ok.json\n      Tags: {a: b}\n",
			"6: Resources.M.Properties.Tags: must be a list of {Key, Value}"},
		{"S3 definition", "Resources:\n  M:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n      DefinitionS3Location: {Bucket: b, Key: k.json}\n",
			"5: Resources.M.Properties.DefinitionS3Location: s3://b/k.json is not on this machine"},
		{"bad bucket name", "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties: {BucketName: Not_Valid}\n",
			"2: Resources.B: invalid bucket name"},
		{"bucket from a missing folder", "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Metadata:\n      stepline: {from: nope}\n",
			"5: Resources.B.Metadata.stepline.from: nope: no such file"},
		{"bad job", "Resources:\n  J:\n    Type: AWS::Glue::Job\n    Properties:\n      Command: {Name: spark, ScriptLocation: s3://b/x.py}\n",
			`5: Resources.J.Properties.Command.Name: must be pythonshell or glueetl, not "spark"`},
		{"crawler without targets", "Resources:\n  C:\n    Type: AWS::Glue::Crawler\n    Properties: {DatabaseName: d}\n",
			"2: Resources.C.Properties.Targets: missing"},
		{"condition missing", "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Condition: Nope\n",
			"4: Resources.B.Condition: no condition named Nope under Conditions"},
		{"parameter without type", "Parameters:\n  P: {Default: x}\nResources:\n  B:\n    Type: AWS::S3::Bucket\n",
			"2: Parameters.P.Type: missing"},
		{"default not allowed", "Parameters:\n  P: {Type: String, Default: x, AllowedValues: [a]}\nResources:\n  B:\n    Type: AWS::S3::Bucket\n",
			`2: Parameters.P.Default: "x" is not one of the AllowedValues (a)`},
		{"name cycle", "Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties: {BucketName: !Ref A}\n",
			"2: Resources.A: its name depends on itself"},
		{"container image", fn + "      PackageType: Image\n      ImageUri: x\n",
			"5: Resources.F.Properties.PackageType: container image functions are not run"},
		{"bad SAM schedule", "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      DefinitionUri: sm/ok.json\n      Events:\n        T: {Type: Schedule, Properties: {Schedule: 'at(2030-01-01T00:00:00)'}}\n",
			`7: Resources.M.Properties.Events.T.Properties.Schedule: must be rate(…) or cron(…), not "at(2030-01-01T00:00:00)"`},
		{"bad ScheduleV2 state", "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      DefinitionUri: sm/ok.json\n      Events:\n        T: {Type: ScheduleV2, Properties: {ScheduleExpression: rate(1 hour), State: OFF}}\n",
			`7: Resources.M.Properties.Events.T.Properties.State: must be ENABLED or DISABLED, not "OFF"`},
		{"rule without pattern", "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties: {State: ENABLED}\n",
			"2: Resources.R: needs an eventPattern or a scheduleExpression"},
		{"rule target without Arn", "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern: {source: [x]}\n      Targets: [{Id: a}]\n",
			"6: Resources.R.Properties.Targets[0].Arn: missing"},
		{"two rules of one name", "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties: {Name: r, ScheduleExpression: rate(1 hour)}\n  S:\n    Type: AWS::Events::Rule\n    Properties: {Name: r, ScheduleExpression: rate(2 hours)}\n",
			"5: Resources.S: a second rule named r on bus default"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, files)
			writeFiles(t, dir, map[string]string{"template.yaml": c.template})
			p, err := Load(dir)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %+v, %v; want an *Error", p, err)
			}
			want := filepath.Join(dir, "template.yaml") + ":" + c.want
			if msg := err.Error(); !strings.HasPrefix(msg, want) || strings.Contains(msg, "\n") {
				t.Errorf("got  %s\nwant %s…", msg, want)
			}
		})
	}
}

// TestTemplateSkipped: resources Stepline does not run are listed, whatever their
// properties hold (an unresolvable Fn::ImportValue included), and so are SAM events that are
// neither rules nor schedules; a Schedule event becomes a rule.
func TestTemplateSkipped(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"fn/app.py": "def handler(e, c):\n    return e\n",
		"template.yaml": `Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties: {StageName: !ImportValue elsewhere}
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Handler: app.handler
      Runtime: python3.12
      Events:
        Tick: {Type: Schedule, Properties: {Schedule: rate(1 minute)}}
        Get: {Type: Api, Properties: {Path: /, Method: get, RestApiId: !Ref Api}}
`})
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Skipped {
		got = append(got, s.LogicalID+" "+s.Type)
	}
	if want := "Api AWS::Serverless::Api|F.Get SAM event Api"; strings.Join(got, "|") != want {
		t.Errorf("skipped %q, want %q", strings.Join(got, "|"), want)
	}
	if p.Skipped[1].Reason != "Stepline does not run SAM Api events" || p.Source != "SAM template" {
		t.Errorf("reasons %+v, source %s", p.Skipped, p.Source)
	}
	if len(p.Rules) != 1 || p.Rules[0].ScheduleExpression != "rate(1 minute)" || len(p.Rules[0].Targets) != 1 ||
		p.Rules[0].Targets[0].Function != p.Functions[0].Name || p.Rules[0].Targets[0].ID != "FTickLambdaTarget" {
		t.Errorf("rules %+v", p.Rules)
	}
}

// TestInlineCode: SAM's InlineCode and CloudFormation's Code.ZipFile become the handler's
// module in a folder under .stepline, packaged as any code folder; unchanged, it is not
// rewritten, so the deployed CodeSha256 stays.
func TestInlineCode(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"template.yaml": `Resources:
  Py:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Code:
        ZipFile: |
          def handler(event, context):
              return event
  Js:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: main.handler
      InlineCode: "exports.handler = async (e) => e;"
`})
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range p.Functions {
		entries, _ := os.ReadDir(f.Code)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(f.Code, e.Name()))
			files[filepath.Base(f.Code)+"/"+e.Name()] = string(b)
		}
	}
	want := map[string]string{"Py/index.py": "def handler(event, context):\n    return event\n", "Js/main.js": "exports.handler = async (e) => e;"}
	if fmt.Sprint(files) != fmt.Sprint(want) {
		t.Errorf("inline code folders hold %v, want %v", files, want)
	}
	st, _ := os.Stat(filepath.Join(dir, ".stepline", "inline", "Py", "index.py"))
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
	again, _ := os.Stat(filepath.Join(dir, ".stepline", "inline", "Py", "index.py"))
	if st == nil || again == nil || !again.ModTime().Equal(st.ModTime()) {
		t.Error("unchanged inline code was rewritten")
	}
}

// TestGlobals: SAM's Globals.Function merge into each function: mappings key by key, the
// function's own values winning, an intrinsic replaced whole.
func TestGlobals(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"fn/app.py": "def handler(e, c):\n    return e\n", "template.yaml": `Transform: AWS::Serverless-2016-10-31
Parameters:
  Size: {Type: Number, Default: 512}
Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
    Timeout: 30
    MemorySize: {"Fn::If": [Never, 1024, 256]}
    Environment:
      Variables: {AA: global, BB: global}
Conditions:
  Never: !Equals [a, b]
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      MemorySize: {Ref: Size}
      Environment:
        Variables: {BB: own, CC: own}
  G:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Timeout: 5
  H:
    Type: AWS::Serverless::Function
    IgnoreGlobals: [Timeout, Environment]
    Properties:
      CodeUri: fn
`})
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range p.Functions {
		got = append(got, fmt.Sprintf("%s %s %s %d %d %v", strings.Split(f.Name, "-")[1], f.Runtime, f.Handler, f.Timeout, f.MemorySize, f.Environment))
	}
	want := "F python3.12 app.handler 30 512 map[AA:global BB:own CC:own]|G python3.12 app.handler 5 256 map[AA:global BB:global]|H python3.12 app.handler 0 256 map[]"
	if strings.Join(got, "|") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
}

// TestSAMConfig: samconfig.toml's parameter_overrides (default environment) give parameters
// their values, the command line's winning.
func TestSAMConfig(t *testing.T) {
	tmpl := "Parameters:\n  Stage: {Type: String}\n  Size: {Type: Number, Default: 1}\n  Name: {Type: String, Default: n}\n" +
		"Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub '${Stage}-${Size}-${Name}'\n"
	for _, c := range []struct{ conf, want string }{
		{"version = 0.1\n[default.deploy.parameters]\nstack_name = \"x\"\nparameter_overrides = \"Stage=\\\"prod\\\" Size=5\"\n", "prod-5-n"},
		{"[default.global.parameters]\nparameter_overrides = [\"Stage=qa\", \"Name=g\"]\n[default.deploy.parameters]\nparameter_overrides = 'Size=7'\n" +
			"[prod.deploy.parameters]\nparameter_overrides = \"Stage=prod\"\n", "qa-7-g"},
	} {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"template.yaml": tmpl, "samconfig.toml": c.conf})
		p, err := Load(dir)
		if err != nil || p.Buckets[0].Name != c.want {
			t.Errorf("%q: %+v, %v; want bucket %s", c.conf, p, err, c.want)
			continue
		}
		p, err = LoadWith(dir, LoadOptions{Parameters: map[string]string{"Stage": "dev"}})
		if err != nil || !strings.HasPrefix(p.Buckets[0].Name, "dev-") {
			t.Errorf("%q with Stage=dev: %+v, %v", c.conf, p, err)
		}
	}
}

// TestCDKAssetFromManifest: a CDK asset is found through the assets manifest when the
// resource's metadata does not name it (as for DefinitionS3Location).
func TestCDKAssetFromManifest(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"cdk.out/S.assets.json": `{"files":{"abc":{"source":{"path":"asset.abc.json","packaging":"file"},
"destinations":{"d":{"bucketName":"cdk-assets","objectKey":"abc.json"}}}}}`,
		"cdk.out/asset.abc.json": `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
		"cdk.out/S.template.json": `{"Resources":{"M":{"Type":"AWS::StepFunctions::StateMachine",
"Properties":{"DefinitionS3Location":{"Bucket":{"Fn::Sub":"cdk-assets"},"Key":"abc.json"}}}}}`,
	})
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.StateMachines) != 1 || p.StateMachines[0].Parsed == nil || p.Source != "CDK app" || p.StackName != "S" {
		t.Errorf("%+v", p)
	}
}

// FuzzTemplate: no template makes the translation panic or hang, and every refusal is one
// *Error line.
func FuzzTemplate(f *testing.F) {
	for _, dir := range []string{"../../examples/sam-app", "testdata/templates/cfn"} {
		for _, name := range TemplateFiles {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				f.Add(string(b))
			}
		}
	}
	if b, err := os.ReadFile("testdata/templates/cdk/cdk.out/StepsStack.template.json"); err == nil {
		f.Add(string(b))
	}
	f.Add("Resources:\n  A: &a\n    Type: AWS::S3::Bucket\n  B: *a\n")
	f.Add("Conditions:\n  C: !Not [!Condition C]\nResources:\n  A:\n    Type: AWS::S3::Bucket\n    Condition: C\n")
	f.Add("a: &a [!Join ['', [x, x]]]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\nResources: {X: {Type: AWS::S3::Bucket, Properties: {BucketName: !Join ['', *c]}}}\n")
	dir := f.TempDir()
	writeFiles(f, dir, map[string]string{"fn/app.py": "def handler(e, c):\n    return e\n",
		"sm/ok.json": `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`})
	f.Fuzz(func(t *testing.T, text string) {
		p, err := parseTemplate(dir, filepath.Join(dir, "template.yaml"), "", []byte(text), LoadOptions{StackName: "fuzz"})
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("not an *Error: %T %v", err, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("more than one line: %q", err.Error())
			}
			return
		}
		for _, sm := range p.StateMachines {
			if sm.Parsed == nil {
				t.Fatalf("state machine %s without a parsed definition", sm.Name)
			}
		}
	})
}
