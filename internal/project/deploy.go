package project

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/scheduler"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

// Targets are the services a project is deployed to.
type Targets struct {
	// States receives the state machines; nil deploys none.
	States *service.Service
	// Lambda is the Lambda API's handler (*lambda.Service): functions are deployed through
	// the API's own operations, in-process.
	Lambda http.Handler
	// S3 is the S3 API's handler (*s3.Service): buckets are created and filled through it,
	// in-process; nil deploys none.
	S3 http.Handler
	// Glue is the Glue API's handler (*glue.Service): databases, crawlers and jobs are
	// created and updated through it, in-process; nil deploys none.
	Glue http.Handler
	// Events is the EventBridge API (*events.Service): connections are created and updated
	// through it, in-process; nil deploys none.
	Events Events
	// Scheduler is EventBridge Scheduler: schedules are created and updated through it,
	// in-process; nil deploys none.
	Scheduler *scheduler.Service
	// Account and Region complete ARNs (the default role, log groups).
	Account, Region string
	// BuildCache keeps Go functions' builds by the digest of their sources.
	BuildCache string
	Logger     *slog.Logger
}

// Summary counts what a deploy changed.
type Summary struct {
	MachinesCreated, MachinesUpdated, MachinesUnchanged    int
	FunctionsCreated, FunctionsUpdated, FunctionsUnchanged int
	// GoBuilt counts the Go functions compiled by this deploy (the others came from the cache).
	GoBuilt int
	// BucketsCreated counts new buckets; ObjectsPut the files put into them (new or
	// changed), ObjectsUnchanged those already there with the same size and MD5.
	BucketsCreated, ObjectsPut, ObjectsUnchanged int
	// Glue counts databases, crawlers and jobs.
	GlueCreated, GlueUpdated, GlueUnchanged int
	// Connections counts EventBridge connections.
	ConnectionsCreated, ConnectionsUpdated, ConnectionsUnchanged int
	// Schedules counts EventBridge Scheduler schedules; Rules EventBridge rules.
	SchedulesCreated, SchedulesUpdated, SchedulesUnchanged int
	RulesCreated, RulesUpdated, RulesUnchanged             int
}

// functionPlan is what deploying one function does.
type functionPlan struct {
	fn                   *Function
	zip                  []byte
	create, code, config bool
}

// machinePlan is what deploying one state machine does.
type machinePlan struct {
	sm      *StateMachine
	arn     string
	create  bool
	update  *service.UpdateStateMachineInput
	tags    []service.Tag
	logging *service.LoggingConfiguration
	roleArn string
}

// Deploy makes the services hold what the project declares, changing only what differs: an
// unchanged project changes nothing, a changed definition becomes a new revision, changed
// code or configuration an update of the function. Everything is packaged and compared
// before the first change, so that a function that does not build, or a state machine whose
// type cannot change, stops the deploy with nothing changed.
func (p *Project) Deploy(ctx context.Context, t Targets) (*Summary, error) {
	if t.Logger == nil {
		t.Logger = slog.New(slog.DiscardHandler)
	}
	sum := &Summary{}
	if p.Source != "" && p.Source != FileName {
		t.Logger.Info("project read from a template", "file", p.File, "kind", p.Source, "stack", p.StackName,
			"state_machines", len(p.StateMachines), "functions", len(p.Functions), "buckets", len(p.Buckets))
	}
	for _, s := range p.Skipped {
		t.Logger.Info("template resource skipped", "resource", s.LogicalID, "type", s.Type, "reason", s.Reason)
	}
	for _, w := range p.Warnings {
		t.Logger.Warn(w.Error())
	}
	var bplans []*bucketPlan
	if t.S3 != nil {
		for _, b := range p.Buckets {
			if b.Endpoint != "" {
				// The endpoint's bucket: not created nor filled from here.
				p.checkBound(ctx, t.S3, b, t.Logger)
				continue
			}
			bp, err := p.planBucket(ctx, t.S3, b)
			if err != nil {
				return nil, err
			}
			bplans = append(bplans, bp)
		}
	}
	var gcalls []glueCall
	if t.Glue != nil {
		var err error
		if gcalls, err = p.planGlue(ctx, t, sum); err != nil {
			return nil, err
		}
	}
	var ccalls []connectionCall
	if t.Events != nil {
		var err error
		if ccalls, err = p.planConnections(ctx, t.Events, sum); err != nil {
			return nil, err
		}
	}
	var fplans []*functionPlan
	if t.Lambda != nil {
		for _, fn := range p.Functions {
			if fn.Endpoint != "" {
				continue
			}
			fp, err := p.planFunction(ctx, t, fn, sum)
			if err != nil {
				return nil, err
			}
			fplans = append(fplans, fp)
		}
	}
	var mplans []*machinePlan
	if t.States != nil {
		for _, sm := range p.StateMachines {
			mp, err := p.planMachine(ctx, t, sm)
			if err != nil {
				return nil, err
			}
			mplans = append(mplans, mp)
		}
	}
	for _, bp := range bplans {
		if err := p.applyBucket(ctx, t, bp, sum); err != nil {
			return sum, err
		}
	}
	if err := p.applyGlue(ctx, t, gcalls, sum); err != nil {
		return sum, err
	}
	if err := p.applyConnections(ctx, t.Events, ccalls, sum); err != nil {
		return sum, err
	}
	for _, fp := range fplans {
		if err := p.applyFunction(ctx, t, fp, sum); err != nil {
			return sum, err
		}
	}
	for _, mp := range mplans {
		if err := p.applyMachine(ctx, t, mp, sum); err != nil {
			return sum, err
		}
	}
	// Last: a rule's or schedule's target exists before its first event or firing.
	if t.Events != nil {
		if err := p.deployRules(ctx, t, sum); err != nil {
			return sum, err
		}
	}
	if t.Scheduler != nil {
		if err := p.deploySchedules(ctx, t, sum); err != nil {
			return sum, err
		}
	}
	for name := range p.Reserved {
		t.Logger.Warn("project section not deployed yet: a later version of Stepline deploys it", "section", name)
	}
	return sum, nil
}

func (p *Project) errFunction(fn *Function, key, format string, args ...any) *Error {
	return &Error{File: p.File, Line: fn.line, Key: p.key(join("functions."+fn.Name, key)), Msg: fmt.Sprintf(format, args...)}
}

func (p *Project) errMachine(sm *StateMachine, key, format string, args ...any) *Error {
	return &Error{File: p.File, Line: sm.line, Key: p.key(join("stateMachines."+sm.Name, key)), Msg: fmt.Sprintf(format, args...)}
}

// key is a key path of stepline.yaml's shape as the project's file spells it.
func (p *Project) key(k string) string {
	if p.rename != nil {
		return p.rename(k)
	}
	return k
}

// lambdaConfig is the part of GetFunction's Configuration a project declares.
type lambdaConfig struct {
	Runtime     string `json:"Runtime"`
	Handler     string `json:"Handler"`
	Description string `json:"Description"`
	Timeout     int    `json:"Timeout"`
	MemorySize  int    `json:"MemorySize"`
	CodeSha256  string `json:"CodeSha256"`
	Environment *struct {
		Variables map[string]string `json:"Variables"`
	} `json:"Environment"`
}

// callLambda makes one Lambda API call through the service's own handler.
func callLambda(ctx context.Context, h http.Handler, method, path string, body any) (int, []byte, error) {
	var r *http.Request
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = httptest.NewRequestWithContext(ctx, method, path, bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequestWithContext(ctx, method, path, nil)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code, rec.Body.Bytes(), nil
}

// lambdaMessage is the message of a Lambda API error body, or the body itself.
func lambdaMessage(status int, body []byte) string {
	var e struct {
		Type    string `json:"Type"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return fmt.Sprintf("%s: %s", e.Type, e.Message)
	}
	return fmt.Sprintf("HTTP %d: %s", status, strings.TrimSpace(string(body)))
}

func withDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func (p *Project) planFunction(ctx context.Context, t Targets, fn *Function, sum *Summary) (*functionPlan, error) {
	fp := &functionPlan{fn: fn}
	var err error
	if fn.GoMain {
		var built bool
		if fp.zip, built, err = goBuild(ctx, fn, t.BuildCache); err != nil {
			return nil, p.errFunction(fn, "code", "%v", err)
		}
		if built {
			sum.GoBuilt++
		}
	} else if fp.zip, err = zipFolder(fn.Code); err != nil {
		return nil, p.errFunction(fn, "code", "packaging: %v", err)
	}
	status, body, err := callLambda(ctx, t.Lambda, http.MethodGet, "/2015-03-31/functions/"+url.PathEscape(fn.Name), nil)
	if err != nil {
		return nil, p.errFunction(fn, "", "GetFunction: %v", err)
	}
	switch status {
	case http.StatusNotFound:
		fp.create = true
		return fp, nil
	case http.StatusOK:
	default:
		return nil, p.errFunction(fn, "", "GetFunction: %s", lambdaMessage(status, body))
	}
	var got struct {
		Configuration lambdaConfig `json:"Configuration"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		return nil, p.errFunction(fn, "", "GetFunction: %v", err)
	}
	c := got.Configuration
	sha := sha256.Sum256(fp.zip)
	fp.code = c.CodeSha256 != base64.StdEncoding.EncodeToString(sha[:])
	var env map[string]string
	if c.Environment != nil {
		env = c.Environment.Variables
	}
	fp.config = c.Runtime != fn.Runtime || c.Handler != fn.Handler || c.Description != fn.Description ||
		c.Timeout != withDefault(fn.Timeout, 3) || c.MemorySize != withDefault(fn.MemorySize, 128) ||
		!(len(env) == 0 && len(fn.Environment) == 0 || maps.Equal(env, fn.Environment))
	return fp, nil
}

// settings are the configuration members CreateFunction and UpdateFunctionConfiguration take.
func (fn *Function) settings() map[string]any {
	env := fn.Environment
	if env == nil {
		env = map[string]string{}
	}
	return map[string]any{
		"Runtime": fn.Runtime, "Handler": fn.Handler, "Description": fn.Description,
		"Timeout": withDefault(fn.Timeout, 3), "MemorySize": withDefault(fn.MemorySize, 128),
		"Environment": map[string]any{"Variables": env},
	}
}

func (p *Project) applyFunction(ctx context.Context, t Targets, fp *functionPlan, sum *Summary) error {
	fn := fp.fn
	path := "/2015-03-31/functions/" + url.PathEscape(fn.Name)
	type call struct {
		op, method, path string
		body             map[string]any
		want             int
	}
	var calls []call
	switch {
	case fp.create:
		body := fn.settings()
		body["FunctionName"] = fn.Name
		body["Role"] = "arn:aws:iam::" + t.Account + ":role/stepline"
		body["Code"] = map[string]any{"ZipFile": fp.zip}
		calls = append(calls, call{"CreateFunction", http.MethodPost, "/2015-03-31/functions", body, http.StatusCreated})
		sum.FunctionsCreated++
	case fp.code || fp.config:
		if fp.config {
			calls = append(calls, call{"UpdateFunctionConfiguration", http.MethodPut, path + "/configuration", fn.settings(), http.StatusOK})
		}
		if fp.code {
			calls = append(calls, call{"UpdateFunctionCode", http.MethodPut, path + "/code", map[string]any{"ZipFile": fp.zip}, http.StatusOK})
		}
		sum.FunctionsUpdated++
	default:
		sum.FunctionsUnchanged++
		return nil
	}
	for _, c := range calls {
		status, body, err := callLambda(ctx, t.Lambda, c.method, c.path, c.body)
		if err != nil {
			return p.errFunction(fn, "", "%s: %v", c.op, err)
		}
		if status == http.StatusConflict && fp.create {
			// Another node sharing the database deployed it meanwhile: compare with theirs.
			sum.FunctionsCreated--
			again, err := p.planFunction(ctx, t, fn, &Summary{})
			if err != nil {
				return err
			}
			if again.create {
				return p.errFunction(fn, "", "%s: %s", c.op, lambdaMessage(status, body))
			}
			return p.applyFunction(ctx, t, again, sum)
		}
		if status != c.want {
			return p.errFunction(fn, "", "%s: %s", c.op, lambdaMessage(status, body))
		}
	}
	t.Logger.Info("function deployed", "function", fn.Name, "created", fp.create, "code", fp.code, "configuration", fp.config)
	return nil
}

// storeType is the store's name of a machine type.
func storeType(t asl.MachineType) store.StateMachineType {
	if t == asl.Express {
		return store.StateMachineExpress
	}
	return store.StateMachineStandard
}

func (p *Project) planMachine(ctx context.Context, t Targets, sm *StateMachine) (*machinePlan, error) {
	mp := &machinePlan{sm: sm, arn: t.States.StateMachineArn(sm.Name), roleArn: sm.RoleArn}
	if mp.roleArn == "" {
		mp.roleArn = "arn:aws:iam::" + t.Account + ":role/stepline"
	}
	mp.logging = &service.LoggingConfiguration{Level: sm.LoggingLevel, IncludeExecutionData: sm.IncludeExecutionData}
	if sm.LoggingLevel != "OFF" {
		// AWS requires a log group for any level but OFF; SAM makes one by this name.
		mp.logging.Destinations = []service.LogDestination{{CloudWatchLogsLogGroup: &service.LogGroup{
			LogGroupArn: "arn:aws:logs:" + t.Region + ":" + t.Account + ":log-group:/aws/vendedlogs/states/" + sm.Name + "-Logs:*"}}}
	}
	cur, err := t.States.DescribeStateMachine(ctx, mp.arn)
	if service.CodeOf(err) == service.CodeStateMachineDoesNotExist {
		mp.create = true
		for _, k := range slices.Sorted(maps.Keys(sm.Tags)) {
			mp.tags = append(mp.tags, service.Tag{Key: k, Value: sm.Tags[k]})
		}
		return mp, nil
	}
	if err != nil {
		return nil, p.errMachine(sm, "", "DescribeStateMachine: %v", err)
	}
	if cur.Type != storeType(sm.Type) {
		return nil, p.errMachine(sm, "type", "%s is deployed as %s, and a state machine's type cannot change: delete it to deploy it as %s",
			sm.Name, cur.Type, storeType(sm.Type))
	}
	curLog, _ := json.Marshal(cur.Logging)
	wantLog, _ := json.Marshal(mp.logging)
	if cur.Definition != sm.Definition || cur.RoleArn != mp.roleArn || !bytes.Equal(curLog, wantLog) {
		mp.update = &service.UpdateStateMachineInput{Arn: mp.arn, Definition: &sm.Definition, RoleArn: &mp.roleArn, Logging: mp.logging}
	}
	tags, err := t.States.ListTagsForResource(ctx, mp.arn)
	if err != nil {
		return nil, p.errMachine(sm, "", "ListTagsForResource: %v", err)
	}
	have := map[string]string{}
	for _, tg := range tags {
		have[tg.Key] = tg.Value
	}
	for _, k := range slices.Sorted(maps.Keys(sm.Tags)) {
		if hv, ok := have[k]; !ok || hv != sm.Tags[k] {
			mp.tags = append(mp.tags, service.Tag{Key: k, Value: sm.Tags[k]})
		}
	}
	return mp, nil
}

func (p *Project) applyMachine(ctx context.Context, t Targets, mp *machinePlan, sum *Summary) error {
	sm := mp.sm
	switch {
	case mp.create:
		if _, err := t.States.CreateStateMachine(ctx, &service.CreateStateMachineInput{Name: sm.Name, Definition: sm.Definition,
			RoleArn: mp.roleArn, Type: storeType(sm.Type), Logging: mp.logging, Tags: mp.tags}); err != nil {
			return p.errMachine(sm, "", "CreateStateMachine: %v", err)
		}
		sum.MachinesCreated++
		t.Logger.Info("state machine created", "arn", mp.arn)
		return nil
	case mp.update != nil:
		if _, err := t.States.UpdateStateMachine(ctx, mp.update); err != nil {
			return p.errMachine(sm, "", "UpdateStateMachine: %v", err)
		}
		sum.MachinesUpdated++
		t.Logger.Info("state machine updated", "arn", mp.arn)
	case len(mp.tags) > 0:
		sum.MachinesUpdated++
	default:
		sum.MachinesUnchanged++
	}
	if len(mp.tags) > 0 {
		if err := t.States.TagResource(ctx, mp.arn, mp.tags); err != nil {
			return p.errMachine(sm, "tags", "TagResource: %v", err)
		}
	}
	return nil
}
