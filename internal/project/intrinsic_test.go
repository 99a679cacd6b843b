package project

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// intrinsicTemplate is what the intrinsic cases evaluate against: parameters of each kind,
// conditions, mappings, and resources of the types whose Ref and Fn::GetAtt differ.
const intrinsicTemplate = `
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Size: {Type: Number, Default: 3}
  Zones: {Type: CommaDelimitedList, Default: "a,b,c"}
  Needed: {Type: String}
  Version: {Type: "AWS::SSM::Parameter::Value<String>", Default: /cdk/version}
Mappings:
  Sizes:
    dev: {memory: 128}
    prod: {memory: 1024}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsDev, !Equals [!Ref Size, "3"]]
  Either: {"Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": ["x", "y"]}]}
  Loop: !Not [!Condition Loop]
Resources:
  Fn:
    Type: AWS::Serverless::Function
  Named:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-named"
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: orders
  SamMachine:
    Type: AWS::Serverless::StateMachine
  Bucket:
    Type: AWS::S3::Bucket
  Role:
    Type: AWS::IAM::Role
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: jobs}
  Rule:
    Type: AWS::Events::Rule
  Db:
    Type: AWS::Glue::Database
    Properties: {DatabaseInput: {Name: lake}}
`

// evalCase parses expr as YAML and evaluates it against intrinsicTemplate.
func evalCase(t *testing.T, expr string, o LoadOptions) (string, error) {
	t.Helper()
	tp, _, err := newTmpl("template.yaml", "", []byte(intrinsicTemplate), o)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(expr), &doc); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	v, err := tp.eval(doc.Content[0], "X", 0)
	if err != nil {
		return "", err
	}
	if v == noValue {
		return "<no value>", nil
	}
	var b bytes.Buffer
	if err := writeJSON(&b, v, 0); err != nil {
		t.Fatal(err)
	}
	return b.String(), nil
}

func TestIntrinsics(t *testing.T) {
	o := LoadOptions{StackName: "shop", Parameters: map[string]string{"Needed": "yes"}}
	cases := []struct{ expr, want string }{
		{`!Ref Stage`, `"dev"`},
		{`{Ref: Size}`, `"3"`},
		{`!Ref Zones`, `["a","b","c"]`},
		{`!Ref Needed`, `"yes"`},
		{`!Ref AWS::Region`, `"us-east-1"`},
		{`!Ref AWS::AccountId`, `"123456789012"`},
		{`!Ref AWS::Partition`, `"aws"`},
		{`!Ref AWS::URLSuffix`, `"amazonaws.com"`},
		{`!Ref AWS::StackName`, `"shop"`},
		{`!Ref AWS::NoValue`, `<no value>`},
		{`[a, !Ref AWS::NoValue, b]`, `["a","b"]`},
		{`{k: !Ref AWS::NoValue, j: 1}`, `{"j":1}`},
		// Ref and GetAtt of each kind of resource, named and generated.
		{`!Ref Fn`, `"shop-Fn-Vlj2tVW5e5B5"`},
		{`!GetAtt Fn.Arn`, `"arn:aws:lambda:us-east-1:123456789012:function:shop-Fn-Vlj2tVW5e5B5"`},
		{`{"Fn::GetAtt": [Named, Arn]}`, `"arn:aws:lambda:us-east-1:123456789012:function:shop-named"`},
		{`!Ref Machine`, `"arn:aws:states:us-east-1:123456789012:stateMachine:orders"`},
		{`!GetAtt Machine.Name`, `"orders"`},
		{`!GetAtt SamMachine.Arn`, `"arn:aws:states:us-east-1:123456789012:stateMachine:SamMachine-SpDnp74f4BIs"`},
		{`!Ref Bucket`, `"shop-bucket-dh4iw576c2xh"`},
		{`!GetAtt Bucket.Arn`, `"arn:aws:s3:::shop-bucket-dh4iw576c2xh"`},
		{`!GetAtt Role.Arn`, `"arn:aws:iam::123456789012:role/shop-Role-KCbpZGpBeoNY"`},
		{`!Ref Queue`, `"https://sqs.us-east-1.amazonaws.com/123456789012/jobs"`},
		{`!GetAtt Queue.Arn`, `"arn:aws:sqs:us-east-1:123456789012:jobs"`},
		{`!GetAtt Rule.Arn`, `"arn:aws:events:us-east-1:123456789012:rule/shop-Rule-MGQQmSxIaXkZ"`},
		{`!Ref Db`, `"lake"`},
		{`!GetAtt FnRole.Arn`, `"arn:aws:iam::123456789012:role/shop-FnRole-BLnVDc9CxEHv"`},
		// Fn::Sub, both forms, with ${!Literal}.
		{`!Sub "${AWS::StackName}-${Stage}-${Fn}"`, `"shop-dev-shop-Fn-Vlj2tVW5e5B5"`},
		{`!Sub "${Fn.Arn}:$LATEST"`, `"arn:aws:lambda:us-east-1:123456789012:function:shop-Fn-Vlj2tVW5e5B5:$LATEST"`},
		{`!Sub "${!Literal} and ${ Stage }"`, `"${Literal} and dev"`},
		{`!Sub ["${A}/${B}", {A: x, B: !Ref Size}]`, `"x/3"`},
		// Fn::Join, Fn::Select, Fn::Split, as CDK nests them.
		{`!Join ["", ["arn:", !Ref AWS::Partition, ":s3:::b"]]`, `"arn:aws:s3:::b"`},
		{`!Join [",", !Ref Zones]`, `"a,b,c"`},
		{`!Select [1, !Ref Zones]`, `"b"`},
		{`!Select ["2", [x, y, z]]`, `"z"`},
		{`!Select [0, !Split ["/", "a/b/c"]]`, `"a"`},
		{`!Split [":", !GetAtt Fn.Arn]`, `["arn","aws","lambda","us-east-1","123456789012","function","shop-Fn-Vlj2tVW5e5B5"]`},
		// Fn::If and conditions.
		{`!If [IsProd, big, small]`, `"small"`},
		{`!If [IsDev, !Ref AWS::NoValue, x]`, `<no value>`},
		{`!If [Both, yes, no]`, `"yes"`},
		{`!If [Either, yes, no]`, `"no"`},
		{`!FindInMap [Sizes, !Ref Stage, memory]`, `128`},
		{`!Base64 hi`, `"aGk="`},
		{`{Definition: {States: {A: {Resource: !GetAtt Fn.Arn}}}}`, `{"Definition":{"States":{"A":{"Resource":"arn:aws:lambda:us-east-1:123456789012:function:shop-Fn-Vlj2tVW5e5B5"}}}}`},
	}
	for _, c := range cases {
		got, err := evalCase(t, c.expr, o)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %s, want %s", c.expr, got, c.want)
		}
	}
}

func TestIntrinsicOverridesAndRegions(t *testing.T) {
	o := LoadOptions{StackName: "shop", Region: "cn-north-1", Account: "111122223333",
		Parameters: map[string]string{"Stage": "prod", "Needed": "x", "Version": "21"}}
	for expr, want := range map[string]string{
		`!If [IsProd, big, small]`:               `"big"`,
		`!Ref AWS::Partition`:                    `"aws-cn"`,
		`!Ref AWS::URLSuffix`:                    `"amazonaws.com.cn"`,
		`!Ref Version`:                           `"21"`,
		`!FindInMap [Sizes, !Ref Stage, memory]`: `1024`,
		`!GetAtt Machine.Arn`:                    `"arn:aws-cn:states:cn-north-1:111122223333:stateMachine:orders"`,
	} {
		got, err := evalCase(t, expr, o)
		if err != nil || got != want {
			t.Errorf("%s = %s, %v; want %s", expr, got, err, want)
		}
	}
}

func TestIntrinsicErrors(t *testing.T) {
	o := LoadOptions{StackName: "shop"}
	cases := []struct{ expr, want string }{
		{`!Ref Nope`, "template.yaml:1: X.Ref: no parameter or resource named Nope"},
		{`!Ref Needed`, "template.yaml:1: X.Ref: parameter Needed: no Default and no value: give one with --parameter-overrides Needed=VALUE"},
		{`!Ref Version`, "template.yaml:1: X.Ref: parameter Version: an SSM parameter (/cdk/version) is not read locally: give its value with --parameter-overrides Version=VALUE"},
		{`!Ref AWS::Nothing`, "template.yaml:1: X.Ref: unknown pseudo parameter AWS::Nothing"},
		{`!GetAtt Fn`, `template.yaml:1: X.Fn::GetAtt: takes RESOURCE.ATTRIBUTE, not "Fn"`},
		{`!GetAtt Fn.Version`, `template.yaml:1: X.Fn::GetAtt: Fn (AWS::Serverless::Function) has no attribute "Version" that Stepline knows (Arn)`},
		{`!GetAtt Ghost.Arn`, "template.yaml:1: X.Fn::GetAtt: no resource named Ghost"},
		{`!GetAZs ""`, "template.yaml:1: X.Fn::GetAZs: not supported: availability zones are not local"},
		{`!ImportValue shared-vpc`, "template.yaml:1: X.Fn::ImportValue: not supported: another stack's exports are not known locally"},
		{`{"Fn::Nope": 1}`, "template.yaml:1: X.Fn::Nope: unknown intrinsic function"},
		{`!Nope x`, "template.yaml:1: X: unknown YAML tag !Nope"},
		{`!If [Missing, a, b]`, "template.yaml:1: X.Fn::If[0]: no condition named Missing under Conditions"},
		{`!If [Loop, a, b]`, "template.yaml:17: Conditions.Loop.Fn::Not[0]: condition Loop depends on itself"},
		{`!Select [5, [a]]`, "template.yaml:1: X.Fn::Select[0]: index 5 is past the list's 1 items"},
		{`!Join [",", [a, [b]]]`, "template.yaml:1: X.Fn::Join[1][1]: must be a string to be joined"},
		{`!Sub "${Zones}"`, "template.yaml:1: X.Fn::Sub: ${Zones} is a list, not a string"},
		{`!FindInMap [Sizes, test, memory]`, "template.yaml:1: X.Fn::FindInMap[1]: Mappings has no Sizes.test"},
		{"a:\n  b:\n    - !Ref Nope", "template.yaml:3: X.a.b[0].Ref: no parameter or resource named Nope"},
	}
	for _, c := range cases {
		_, err := evalCase(t, c.expr, o)
		var pe *Error
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v\n want %s…", c.expr, err, c.want)
		}
	}
}

func TestParameterChecks(t *testing.T) {
	cases := []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{"Stage": "qa", "Needed": "x"}, `template.yaml: Parameters.Stage: the override "qa" is not one of the AllowedValues (dev, prod)`},
		{map[string]string{"Size": "big", "Needed": "x"}, `template.yaml: Parameters.Size: the override "big" is not a number`},
		{map[string]string{"Colour": "red"}, "template.yaml: parameter override Colour: the template's parameters are Stage, Size, Zones, Needed, Version"},
	}
	for _, c := range cases {
		_, _, err := newTmpl("template.yaml", "", []byte(intrinsicTemplate), LoadOptions{Parameters: c.params})
		if err == nil || err.Error() != c.want {
			t.Errorf("%v: %v\n want %s", c.params, err, c.want)
		}
	}
}

func TestParseParameters(t *testing.T) {
	for in, want := range map[string]string{
		"A=1,B=2":   "A=1 B=2",
		"A=1 B=x=y": "A=1 B=x=y",
		"ParameterKey=A,ParameterValue=1 ParameterKey=B,ParameterValue=": "A=1 B=",
		`A="x y" B="a,b"`: "A=x y B=a,b",
	} {
		m := map[string]string{}
		if err := ParseParameters(in, m); err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		var got []string
		for _, k := range []string{"A", "B"} {
			got = append(got, k+"="+m[k])
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%q = %v, want %s", in, m, want)
		}
	}
	for _, bad := range []string{"A", "=1", "ParameterKey=A", `A="open`} {
		if err := ParseParameters(bad, map[string]string{}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestGeneratedNames(t *testing.T) {
	long := strings.Repeat("VeryLongLogicalId", 6)
	for _, c := range []struct{ stack, id, typ string }{
		{"my-stack", "Fn", "AWS::Lambda::Function"},
		{"my-stack", long, "AWS::Lambda::Function"},
		{"My_Stack", long, "AWS::S3::Bucket"},
		{"s", long, "AWS::StepFunctions::StateMachine"},
	} {
		name := generatedName(c.stack, c.id, c.typ)
		if generatedName(c.stack, c.id, c.typ) != name {
			t.Errorf("%s: not deterministic", name)
		}
		limit := map[string]int{"AWS::Lambda::Function": 64, "AWS::S3::Bucket": 63, "AWS::StepFunctions::StateMachine": 80}[c.typ]
		if len(name) > limit {
			t.Errorf("%s: %d characters, over %d", name, len(name), limit)
		}
		switch c.typ {
		case "AWS::Lambda::Function":
			if !functionName.MatchString(name) {
				t.Errorf("%s is not a function name", name)
			}
		case "AWS::S3::Bucket":
			if !bucketName.MatchString(name) {
				t.Errorf("%s is not a bucket name", name)
			}
		case "AWS::StepFunctions::StateMachine":
			if !validName(name) {
				t.Errorf("%s is not a state machine name", name)
			}
		}
	}
	if a, b := generatedName("s1", "Fn", "AWS::Lambda::Function"), generatedName("s2", "Fn", "AWS::Lambda::Function"); a[len(a)-12:] == b[len(b)-12:] {
		t.Errorf("two stacks' names share a suffix: %s, %s", a, b)
	}
}
