package project_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/project"
)

// BenchmarkLoadTemplate reads a SAM template of 50 state machines (DefinitionUri, a
// substitution naming a function by !GetAtt) and 20 Python functions, and the same project as
// stepline.yaml: what translating a template adds to Load (Deploy is the same code for both).
func BenchmarkLoadTemplate(b *testing.B) {
	tdir, ydir := b.TempDir(), b.TempDir()
	var t, y strings.Builder
	files := map[string]string{}
	t.WriteString("Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Runtime: python3.11\n    Handler: app.handler\nResources:\n")
	y.WriteString("stateMachines:\n")
	for i := range 50 {
		fmt.Fprintf(&t, "  M%d:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      Name: M%d\n      DefinitionUri: sm/m%d.json\n"+
			"      DefinitionSubstitutions:\n        Fn: !GetAtt F%d.Arn\n      Tags: {n: \"%d\"}\n", i, i, i, i%20, i)
		fmt.Fprintf(&y, "  M%d:\n    definition: sm/m%d.json\n    definitionSubstitutions: {Fn: f%d}\n    tags: {n: %d}\n", i, i, i%20, i)
		files[fmt.Sprintf("sm/m%d.json", i)] = invokeEcho
	}
	y.WriteString("functions:\n")
	for i := range 20 {
		fmt.Fprintf(&t, "  F%d:\n    Type: AWS::Serverless::Function\n    Properties:\n      FunctionName: f%d\n      CodeUri: fn/f%d\n", i, i, i)
		fmt.Fprintf(&y, "  f%d:\n    code: fn/f%d\n    runtime: python3.11\n    handler: app.handler\n", i, i)
		files[fmt.Sprintf("fn/f%d/app.py", i)] = echoPy
	}
	write(b, tdir, files)
	write(b, ydir, files)
	write(b, tdir, map[string]string{"template.yaml": t.String()})
	write(b, ydir, map[string]string{"stepline.yaml": y.String()})
	for name, dir := range map[string]string{"template": tdir, "stepline.yaml": ydir} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				p, err := project.Load(dir)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.StateMachines) != 50 || len(p.Functions) != 20 {
					b.Fatalf("%d machines, %d functions", len(p.StateMachines), len(p.Functions))
				}
			}
		})
	}
}
