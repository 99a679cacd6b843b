package task

import (
	"context"
	"errors"
	"testing"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/glue"
)

// glueAnswers answers each action with a fixed document or error and remembers the requests.
type glueAnswers struct {
	out   map[string]string
	err   map[string]error
	calls []string
}

func (g *glueAnswers) Call(_ context.Context, action string, input []byte) ([]byte, error) {
	g.calls = append(g.calls, action+" "+string(input))
	if err := g.err[action]; err != nil {
		return nil, err
	}
	return []byte(g.out[action]), nil
}

func TestGlue(t *testing.T) {
	run := `{"JobRun":{"Id":"jr_1","JobName":"j","JobRunState":"SUCCEEDED","StartedOn":1700000000.5,"CompletedOn":1700000010.25,"ExecutionTime":10}}`
	for _, tc := range []struct {
		name, resource, params string
		g                      *glueAnswers
		want                   string // output, or error name
		wantCause              string
		wantCall               string // the first call
	}{
		{name: "request-response adds JobName", resource: "arn:aws:states:::glue:startJobRun", params: `{"JobName":"j","Arguments":{"--day":"1"}}`,
			g:    &glueAnswers{out: map[string]string{"StartJobRun": `{"JobRunId":"jr_1"}`}},
			want: `{"JobName":"j","JobRunId":"jr_1"}`, wantCall: `StartJobRun {"JobName":"j","Arguments":{"--day":"1"}}`},
		{name: ".sync answers the JobRun, dates in epoch milliseconds", resource: "arn:aws:states:::glue:startJobRun.sync", params: `{"JobName":"j"}`,
			g:    &glueAnswers{out: map[string]string{"StartJobRun": `{"JobRunId":"jr_1"}`, "GetJobRun": run}},
			want: `{"Id":"jr_1","JobName":"j","JobRunState":"SUCCEEDED","StartedOn":1700000000500,"CompletedOn":1700000010250,"ExecutionTime":10}`},
		{name: ".sync of a failed run", resource: "arn:aws:states:::glue:startJobRun.sync", params: `{"JobName":"j"}`,
			g: &glueAnswers{out: map[string]string{"StartJobRun": `{"JobRunId":"jr_1"}`,
				"GetJobRun": `{"JobRun":{"Id":"jr_1","JobName":"j","JobRunState":"FAILED","ErrorMessage":"ValueError: no"}}`}},
			want: "States.TaskFailed", wantCause: `{"Id":"jr_1","JobName":"j","JobRunState":"FAILED","ErrorMessage":"ValueError: no"}`},
		{name: "refusal", resource: "arn:aws:states:::glue:startJobRun", params: `{"JobName":"nope"}`,
			g:    &glueAnswers{err: map[string]error{"StartJobRun": &glue.Error{Code: "EntityNotFoundException", Message: "Job nope not found", Status: 400}}},
			want: "Glue.EntityNotFoundException", wantCause: "Job nope not found"},
		{name: ".sync of a stopped run", resource: "arn:aws:states:::glue:startJobRun.sync", params: `{"JobName":"j"}`,
			g: &glueAnswers{out: map[string]string{"StartJobRun": `{"JobRunId":"jr_1"}`,
				"GetJobRun": `{"JobRun":{"Id":"jr_1","JobName":"j","JobRunState":"STOPPED"}}`}},
			want: `{"Id":"jr_1","JobName":"j","JobRunState":"STOPPED"}`},
		{name: "aws-sdk dates in ISO 8601", resource: "arn:aws:states:::aws-sdk:glue:getJobRun", params: `{"JobName":"j","RunId":"jr_1"}`,
			g:        &glueAnswers{out: map[string]string{"GetJobRun": run}},
			want:     `{"JobRun":{"Id":"jr_1","JobName":"j","JobRunState":"SUCCEEDED","StartedOn":"2023-11-14T22:13:20.500Z","CompletedOn":"2023-11-14T22:13:30.250Z","ExecutionTime":10}}`,
			wantCall: `GetJobRun {"JobName":"j","RunId":"jr_1"}`},
		{name: "no JobName", resource: "arn:aws:states:::glue:startJobRun", params: `{}`, g: &glueAnswers{}, want: "States.Runtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := New(Options{Glue: tc.g}).Run(context.Background(), &engine.Task{Resource: tc.resource, Parameters: tc.params})
			var te *engine.TaskError
			switch {
			case errors.As(err, &te):
				if te.Name != tc.want || tc.wantCause != "" && te.Cause != tc.wantCause {
					t.Errorf("error %s %q, want %s %q", te.Name, te.Cause, tc.want, tc.wantCause)
				}
			case err != nil:
				t.Fatal(err)
			case out != tc.want:
				t.Errorf("got  %s\nwant %s", out, tc.want)
			}
			if tc.wantCall != "" && (len(tc.g.calls) == 0 || tc.g.calls[0] != tc.wantCall) {
				t.Errorf("calls %q, want first %q", tc.g.calls, tc.wantCall)
			}
		})
	}
}
