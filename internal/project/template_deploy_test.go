package project_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// copyDir copies a folder (without what runs left in it) to a folder of the test's own.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if d.Name() == ".stepline" || d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// samState is what the API reports of the SAM example's deployment.
type samState struct {
	machineArn, revision, definition string
	tags                             map[string]string
	functions                        map[string]string // name → CodeSha256 + RevisionId
}

func observeSAM(t *testing.T, s *testServer) samState {
	t.Helper()
	ctx := context.Background()
	st := samState{tags: map[string]string{}, functions: map[string]string{}}
	list, err := s.sfn.ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.StateMachines) != 1 || !strings.HasPrefix(aws.ToString(list.StateMachines[0].Name), "OrderStateMachine-") {
		t.Fatalf("state machines %+v, want one OrderStateMachine-SUFFIX", list.StateMachines)
	}
	st.machineArn = aws.ToString(list.StateMachines[0].StateMachineArn)
	d, err := s.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: &st.machineArn})
	if err != nil {
		t.Fatal(err)
	}
	st.revision, st.definition = aws.ToString(d.RevisionId), aws.ToString(d.Definition)
	tags, err := s.sfn.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: &st.machineArn})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range tags.Tags {
		st.tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	fns, err := s.lambda.ListFunctions(ctx, &awslambda.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns.Functions {
		st.functions[aws.ToString(f.FunctionName)] = aws.ToString(f.CodeSha256) + " " + aws.ToString(f.RevisionId)
	}
	return st
}

// TestDeploySAMTemplate: the SAM example deploys through the same code as stepline.yaml,
// names its resources as CloudFormation would (the definition's !GetAtt Fn.Arn naming the
// deployed functions), redeploys unchanged, and a changed definition is one new revision.
func TestDeploySAMTemplate(t *testing.T) {
	dir := copyDir(t, "../../examples/sam-app")
	db := filepath.Join(t.TempDir(), "s.db")
	s := mustServe(t, db, dir)
	first := observeSAM(t, s)
	s.stop(t)
	revs, vers, machines, fns := counts(t, db)
	if revs != 1 || vers != 0 || machines != 1 || fns != 2 {
		t.Fatalf("after the first deploy: %d revisions, %d versions, %d machines, %d functions; want 1, 0, 1, 2", revs, vers, machines, fns)
	}
	stack := filepath.Base(dir)
	for _, name := range []string{"CheckStockFunction", "ShipOrderFunction"} {
		found := false
		for fn := range first.functions {
			if strings.HasPrefix(fn, stack+"-"+name+"-") {
				found = true
				if !strings.Contains(first.definition, "arn:aws:lambda:us-east-1:123456789012:function:"+fn) {
					t.Errorf("the definition does not name %s:\n%s", fn, first.definition)
				}
			}
		}
		if !found {
			t.Errorf("no function %s-%s-SUFFIX among %v", stack, name, first.functions)
		}
	}
	if first.tags["stage"] != "dev" || first.tags["stateMachine:createdBy"] != "SAM" {
		t.Errorf("tags %v", first.tags)
	}

	s = mustServe(t, db, dir)
	again := observeSAM(t, s)
	s.stop(t)
	if r, v, m, f := counts(t, db); r != revs || v != vers || m != machines || f != fns {
		t.Errorf("after an unchanged deploy: %d revisions, %d versions, %d machines, %d functions; want %d, %d, %d, %d", r, v, m, f, revs, vers, machines, fns)
	}
	if fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("an unchanged deploy changed what the API reports:\n %+v\nthen\n %+v", first, again)
	}

	// A changed definition file is one new revision of the same state machine.
	def := filepath.Join(dir, "statemachine", "order.asl.json")
	write(t, dir, map[string]string{"statemachine/order.asl.json": strings.Replace(mustRead(t, def), "not enough stock", "out of stock", 1)})
	s = mustServe(t, db, dir)
	changed := observeSAM(t, s)
	s.stop(t)
	if r, _, m, f := counts(t, db); r != revs+1 || m != machines || f != fns {
		t.Errorf("after a changed definition: %d revisions, %d machines, %d functions; want %d, %d, %d", r, m, f, revs+1, machines, fns)
	}
	if changed.machineArn != first.machineArn || changed.revision == first.revision || fmt.Sprint(changed.functions) != fmt.Sprint(first.functions) {
		t.Errorf("changed definition: %+v\nwas %+v", changed, first)
	}
}

// TestDeployTemplateMistake: a template mistake stops the server before anything is
// deployed, with one line naming the template, line and property.
func TestDeployTemplateMistake(t *testing.T) {
	dir := copyDir(t, "../../examples/sam-app")
	tmpl := filepath.Join(dir, "template.yaml")
	write(t, dir, map[string]string{"template.yaml": strings.Replace(mustRead(t, tmpl), "CodeUri: functions/ship_order/", "CodeUri: functions/shipping/", 1)})
	db := filepath.Join(t.TempDir(), "s.db")
	_, err := serve(t, db, dir)
	want := tmpl + ":60: Resources.ShipOrderFunction.Properties.CodeUri: functions/shipping: no such file"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if _, err := os.Stat(db); err == nil {
		if r, _, m, f := counts(t, db); r+m+f != 0 {
			t.Errorf("a refused template deployed %d revisions, %d machines, %d functions", r, m, f)
		}
	}
}
