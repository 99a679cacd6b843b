package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder stands for Step Functions and Lambda: it records what is delivered to it and fails
// the first Fail calls.
type recorder struct {
	mu    sync.Mutex
	Fail  int
	Perm  bool
	calls []call
}

type call struct{ arn, name, input string }

func (r *recorder) targets() Targets {
	return Targets{
		StartExecution: func(_ context.Context, arn, name, input string) error {
			return r.record(call{arn, name, input})
		},
		InvokeFunction: func(_ context.Context, arn string, payload []byte) error {
			return r.record(call{arn, "", string(payload)})
		},
	}
}

func (r *recorder) record(c call) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail > 0 {
		r.Fail--
		if r.Perm {
			return Permanent(errors.New("StateMachineDoesNotExist"))
		}
		return errors.New("throttled")
	}
	r.calls = append(r.calls, c)
	return nil
}

func (r *recorder) got() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

func (b *bundle) deliver(t *testing.T) int {
	t.Helper()
	n, err := b.svc.DeliverDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const sm = "arn:aws:states:eu-west-1:111122223333:stateMachine:orders"

func TestRulesLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	out := b.ok(t, "PutRule", `{"Name":"r1","EventPattern":"{\"source\":[\"shop\"]}","Description":"d"}`)
	if out["RuleArn"] != "arn:aws:events:eu-west-1:111122223333:rule/r1" {
		t.Fatalf("RuleArn = %v", out["RuleArn"])
	}
	d := b.ok(t, "DescribeRule", `{"Name":"r1"}`)
	if d["State"] != "ENABLED" || d["EventBusName"] != "default" || d["EventPattern"] != `{"source":["shop"]}` || d["Description"] != "d" {
		t.Fatalf("DescribeRule = %v", d)
	}
	b.ok(t, "DisableRule", `{"Name":"r1"}`)
	if d := b.ok(t, "DescribeRule", `{"Name":"r1"}`); d["State"] != "DISABLED" {
		t.Fatalf("after DisableRule: %v", d)
	}
	// PutRule again keeps the state and replaces the pattern.
	b.ok(t, "PutRule", `{"Name":"r1","EventPattern":"{\"source\":[\"other\"]}"}`)
	if d := b.ok(t, "DescribeRule", `{"Name":"r1"}`); d["State"] != "DISABLED" || d["EventPattern"] != `{"source":["other"]}` || d["Description"] != nil {
		t.Fatalf("after PutRule: %v", d)
	}
	b.ok(t, "EnableRule", `{"Name":"r1"}`)
	// A rule with a schedule is stored for the scheduler.
	b.ok(t, "PutRule", `{"Name":"tick","ScheduleExpression":"rate(5 minutes)"}`)
	rules, err := b.svc.ScheduledRules(context.Background())
	if err != nil || len(rules) != 1 || rules[0].Name != "tick" || rules[0].ScheduleExpression != "rate(5 minutes)" || !rules[0].Enabled() {
		t.Fatalf("ScheduledRules = %v, %v", rules, err)
	}
	b.fails(t, "PutRule", `{"Name":"bad","ScheduleExpression":"rate(0 minutes)"}`, "ValidationException")
	b.fails(t, "PutRule", `{"Name":"none"}`, "ValidationException")
	msg := b.fails(t, "PutRule", `{"Name":"bad","EventPattern":"{\"source\":\"x\"}"}`, "InvalidEventPatternException")
	if !strings.HasPrefix(msg, "Event pattern is not valid. Reason: ") {
		t.Fatalf("message = %q", msg)
	}
	b.fails(t, "DescribeRule", `{"Name":"missing"}`, "ResourceNotFoundException")
	b.fails(t, "EnableRule", `{"Name":"missing"}`, "ResourceNotFoundException")

	// Custom buses.
	bus := b.ok(t, "CreateEventBus", `{"Name":"orders"}`)
	if bus["EventBusArn"] != "arn:aws:events:eu-west-1:111122223333:event-bus/orders" {
		t.Fatalf("CreateEventBus = %v", bus)
	}
	b.fails(t, "CreateEventBus", `{"Name":"orders"}`, "ResourceAlreadyExistsException")
	b.fails(t, "PutRule", `{"Name":"x","EventBusName":"nope","EventPattern":"{}"}`, "ResourceNotFoundException")
	b.fails(t, "PutRule", `{"Name":"x","EventBusName":"orders","ScheduleExpression":"rate(1 minute)"}`, "ValidationException")
	out = b.ok(t, "PutRule", `{"Name":"r1","EventBusName":"arn:aws:events:eu-west-1:111122223333:event-bus/orders","EventPattern":"{\"source\":[\"shop\"]}"}`)
	if out["RuleArn"] != "arn:aws:events:eu-west-1:111122223333:rule/orders/r1" {
		t.Fatalf("RuleArn = %v", out["RuleArn"])
	}
	buses := b.ok(t, "ListEventBuses", `{}`)["EventBuses"].([]any)
	if len(buses) != 2 || buses[0].(map[string]any)["Name"] != "default" || buses[1].(map[string]any)["Name"] != "orders" {
		t.Fatalf("ListEventBuses = %v", buses)
	}
	if d := b.ok(t, "DescribeEventBus", `{}`); d["Name"] != "default" {
		t.Fatalf("DescribeEventBus = %v", d)
	}
	ls := b.ok(t, "ListRules", `{"NamePrefix":"r"}`)["Rules"].([]any)
	if len(ls) != 1 || ls[0].(map[string]any)["Name"] != "r1" {
		t.Fatalf("ListRules = %v", ls)
	}
	page := b.ok(t, "ListRules", `{"Limit":1}`)
	if len(page["Rules"].([]any)) != 1 || page["NextToken"] == nil {
		t.Fatalf("ListRules page = %v", page)
	}

	// Targets.
	res := b.ok(t, "PutTargets", `{"Rule":"r1","Targets":[{"Id":"a","Arn":"`+sm+`"},
		{"Id":"b","Arn":"`+sm+`","Input":"{}","InputPath":"$.detail"},
		{"Id":"c","Arn":"arn:aws:lambda:eu-west-1:111122223333:function:f","RetryPolicy":{"MaximumRetryAttempts":3,"MaximumEventAgeInSeconds":60}}]}`)
	if res["FailedEntryCount"] != 1.0 || res["FailedEntries"].([]any)[0].(map[string]any)["TargetId"] != "b" {
		t.Fatalf("PutTargets = %v", res)
	}
	ts := b.ok(t, "ListTargetsByRule", `{"Rule":"r1"}`)["Targets"].([]any)
	if len(ts) != 2 || ts[1].(map[string]any)["RetryPolicy"].(map[string]any)["MaximumRetryAttempts"] != 3.0 {
		t.Fatalf("ListTargetsByRule = %v", ts)
	}
	names := b.ok(t, "ListRuleNamesByTarget", `{"TargetArn":"`+sm+`"}`)["RuleNames"].([]any)
	if len(names) != 1 || names[0] != "r1" {
		t.Fatalf("ListRuleNamesByTarget = %v", names)
	}
	b.fails(t, "PutTargets", `{"Rule":"r1","Targets":[{"Id":"d","Arn":"x"},{"Id":"e","Arn":"x"},{"Id":"f","Arn":"x"},{"Id":"g","Arn":"x"}]}`, "LimitExceededException")
	msg = b.fails(t, "DeleteRule", `{"Name":"r1"}`, "ValidationException")
	if msg != "Rule can't be deleted since it has targets." {
		t.Fatalf("DeleteRule message = %q", msg)
	}
	b.ok(t, "RemoveTargets", `{"Rule":"r1","Ids":["a","c"]}`)
	b.ok(t, "DeleteRule", `{"Name":"r1"}`)
	b.fails(t, "DescribeRule", `{"Name":"r1"}`, "ResourceNotFoundException")
	b.ok(t, "DeleteRule", `{"Name":"r1"}`) // gone already: success, as AWS answers
	b.fails(t, "DeleteEventBus", `{"Name":"default"}`, "ValidationException")
	b.ok(t, "DeleteEventBus", `{"Name":"orders"}`)
	b.fails(t, "DescribeEventBus", `{"Name":"orders"}`, "ResourceNotFoundException")
}

func TestTestEventPattern(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ev := `{"id":"1","account":"111122223333","source":"shop","time":"2026-01-01T00:00:00Z","region":"eu-west-1","resources":[],"detail-type":"Order","detail":{"total":12}}`
	call := func(p string) map[string]any {
		body, _ := json.Marshal(map[string]string{"EventPattern": p, "Event": ev})
		return b.ok(t, "TestEventPattern", string(body))
	}
	if r := call(`{"detail":{"total":[{"numeric":[">",10]}]}}`); r["Result"] != true {
		t.Fatalf("TestEventPattern = %v", r)
	}
	if r := call(`{"detail":{"total":[{"numeric":[">",20]}]}}`); r["Result"] != false {
		t.Fatalf("TestEventPattern = %v", r)
	}
	body, _ := json.Marshal(map[string]string{"EventPattern": `{"a":[]}`, "Event": ev})
	if msg := b.fails(t, "TestEventPattern", string(body), "InvalidEventPatternException"); !strings.Contains(msg, "Empty arrays") {
		t.Fatalf("message = %q", msg)
	}
	body, _ = json.Marshal(map[string]string{"EventPattern": `{}`, "Event": `{"source":"x"}`})
	b.fails(t, "TestEventPattern", string(body), "ValidationException")
}

func TestPutEventsErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	out := b.ok(t, "PutEvents", `{"Entries":[
		{"Source":"shop","DetailType":"Order","Detail":"{}"},
		{"DetailType":"Order","Detail":"{}"},
		{"Source":"shop","Detail":"{}"},
		{"Source":"shop","DetailType":"Order"},
		{"Source":"shop","DetailType":"Order","Detail":"[1]"},
		{"Source":"aws.s3","DetailType":"Order","Detail":"{}"},
		{"Source":"shop","DetailType":"Order","Detail":"{}","EventBusName":"nope"}]}`)
	if out["FailedEntryCount"] != 6.0 {
		t.Fatalf("FailedEntryCount = %v", out)
	}
	es := out["Entries"].([]any)
	want := []string{"", "InvalidArgument", "InvalidArgument", "InvalidArgument", "MalformedDetail", "NotAuthorizedForSourceException", "ResourceNotFoundException"}
	for i, w := range want {
		e := es[i].(map[string]any)
		if w == "" {
			if id, _ := e["EventId"].(string); len(id) != 36 {
				t.Fatalf("entry %d = %v", i, e)
			}
			continue
		}
		if e["ErrorCode"] != w || e["ErrorMessage"] == "" || e["EventId"] != nil {
			t.Fatalf("entry %d = %v, want %s", i, e, w)
		}
	}
	if m := es[1].(map[string]any)["ErrorMessage"]; m != "Parameter Source is not valid. Reason: Source is a required argument." {
		t.Fatalf("message = %v", m)
	}
	b.fails(t, "PutEvents", `{"Entries":[]}`, "ValidationException")
	many := strings.Repeat(`{"Source":"a","DetailType":"b","Detail":"{}"},`, 11)
	b.fails(t, "PutEvents", `{"Entries":[`+strings.TrimSuffix(many, ",")+`]}`, "ValidationException")
	big, _ := json.Marshal(map[string]any{"Entries": []map[string]string{{"Source": "a", "DetailType": "b", "Detail": `{"x":"` + strings.Repeat("x", 256<<10) + `"}`}}})
	if msg := b.fails(t, "PutEvents", string(big), "ValidationException"); msg != "Total size of the entries in the request is over the limit." {
		t.Fatalf("message = %q", msg)
	}
}

func TestDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := &recorder{}
	b.svc.SetTargets(rec.targets())
	b.ok(t, "PutRule", `{"Name":"orders","EventPattern":"{\"source\":[\"shop\"],\"detail\":{\"total\":[{\"numeric\":[\">\",10]}]}}"}`)
	b.ok(t, "PutTargets", `{"Rule":"orders","Targets":[{"Id":"whole","Arn":"`+sm+`"},
		{"Id":"path","Arn":"`+sm+`","InputPath":"$.detail"},
		{"Id":"shaped","Arn":"`+sm+`","InputTransformer":{"InputPathsMap":{"total":"$.detail.total","who":"$.detail.customer","missing":"$.detail.nope"},
			"InputTemplate":"{\"msg\":\"<who> spent <total>\",\"total\":<total>,\"who\":<who>,\"none\":<missing>,\"rule\":\"<aws.events.rule-name>\"}"}},
		{"Id":"fn","Arn":"arn:aws:lambda:eu-west-1:111122223333:function:notify"}]}`)
	out := b.ok(t, "PutEvents", `{"Entries":[{"Source":"shop","DetailType":"Order","Detail":"{\"total\":12,\"customer\":\"ann\"}","Resources":["r1"]},
		{"Source":"shop","DetailType":"Order","Detail":"{\"total\":3}"}]}`)
	if out["FailedEntryCount"] != 0.0 {
		t.Fatalf("PutEvents = %v", out)
	}
	id := out["Entries"].([]any)[0].(map[string]any)["EventId"].(string)
	if n := b.deliver(t); n != 4 {
		t.Fatalf("delivered %d, want 4 (one matching event, four targets; the other matches nothing)", n)
	}
	got := map[string]call{}
	for _, c := range rec.got() {
		switch {
		case c.name == "":
			got["fn"] = c
		case strings.Contains(c.input, `"version"`):
			got["whole"] = c
		case strings.Contains(c.input, `"msg"`):
			got["shaped"] = c
		default:
			got["path"] = c
		}
	}
	var env Envelope
	if err := json.Unmarshal([]byte(got["whole"].input), &env); err != nil {
		t.Fatal(err)
	}
	if env.ID != id || env.Source != "shop" || env.DetailType != "Order" || env.Account != "111122223333" || env.Region != "eu-west-1" ||
		env.Time != "2026-01-02T03:04:05Z" || env.Version != "0" || len(env.Resources) != 1 || string(env.Detail) != `{"total":12,"customer":"ann"}` {
		t.Fatalf("envelope = %+v", env)
	}
	if got["fn"].input != got["whole"].input {
		t.Fatalf("Lambda got %s", got["fn"].input)
	}
	if got["path"].input != `{"customer":"ann","total":12}` {
		t.Fatalf("InputPath gave %s", got["path"].input)
	}
	if got["shaped"].input != `{"msg":"ann spent 12","total":12,"who":"ann","none":null,"rule":"orders"}` {
		t.Fatalf("InputTransformer gave %s", got["shaped"].input)
	}
	if got["whole"].name == got["path"].name || len(got["whole"].name) != 36 {
		t.Fatalf("execution names %q %q", got["whole"].name, got["path"].name)
	}
	if n := b.deliver(t); n != 0 {
		t.Fatalf("delivered %d again", n)
	}
	// A disabled rule matches nothing.
	b.ok(t, "DisableRule", `{"Name":"orders"}`)
	b.ok(t, "PutEvents", `{"Entries":[{"Source":"shop","DetailType":"Order","Detail":"{\"total\":12}"}]}`)
	if n := b.deliver(t); n != 0 {
		t.Fatalf("a disabled rule delivered %d", n)
	}
}

func TestDeliveryRetriesAndDeadLetters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := &recorder{Fail: 2}
	b.svc.SetTargets(rec.targets())
	b.ok(t, "PutRule", `{"Name":"r","EventPattern":"{\"source\":[\"shop\"]}"}`)
	b.ok(t, "PutTargets", `{"Rule":"r","Targets":[{"Id":"t","Arn":"`+sm+`","RetryPolicy":{"MaximumRetryAttempts":2},
		"DeadLetterConfig":{"Arn":"arn:aws:sqs:eu-west-1:111122223333:dlq"}}]}`)
	put := func() { b.ok(t, "PutEvents", `{"Entries":[{"Source":"shop","DetailType":"x","Detail":"{}"}]}`) }
	put()
	// Two failures, each retried after its backoff, then delivered.
	for i := range 2 {
		if n := b.deliver(t); n != 1 {
			t.Fatalf("attempt %d: %d deliveries", i, n)
		}
		if n := b.deliver(t); n != 0 {
			t.Fatalf("a retry was due before its backoff")
		}
		b.clock.T = b.clock.T.Add(b.svc.o.RetryBase << i)
	}
	if n := b.deliver(t); n != 1 || len(rec.got()) != 1 {
		t.Fatalf("third attempt: %d, calls %v", n, rec.got())
	}
	// Three failures exhaust MaximumRetryAttempts 2: the event is dead-lettered.
	rec.Fail = 3
	put()
	for range 3 {
		b.deliver(t)
		b.clock.T = b.clock.T.Add(time.Minute)
	}
	if n := b.deliver(t); n != 0 {
		t.Fatalf("still delivering after the retries ran out: %d", n)
	}
	out := b.ok(t, "ListDeadLetters", `{"DeadLetterArn":"arn:aws:sqs:eu-west-1:111122223333:dlq"}`)
	dls := out["DeadLetters"].([]any)
	if len(dls) != 1 {
		t.Fatalf("dead letters = %v", out)
	}
	dl := dls[0].(map[string]any)
	if dl["RULE_ARN"] != "arn:aws:events:eu-west-1:111122223333:rule/r" || dl["TARGET_ARN"] != sm || dl["RETRY_ATTEMPTS"] != 2.0 ||
		dl["ERROR_MESSAGE"] != "throttled" || !strings.Contains(fmt.Sprint(dl["Event"]), "shop") {
		t.Fatalf("dead letter = %v", dl)
	}
	// A permanent error dead-letters at once.
	rec.Fail, rec.Perm = 1, true
	put()
	b.deliver(t)
	if dls, _, _ := b.svc.DeadLetters(context.Background(), "arn:aws:sqs:eu-west-1:111122223333:dlq", "", 0); len(dls) != 2 {
		t.Fatalf("dead letters = %d", len(dls))
	}
}

func TestDeliveryToBus(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := &recorder{}
	b.svc.SetTargets(rec.targets())
	b.ok(t, "CreateEventBus", `{"Name":"second"}`)
	b.ok(t, "PutRule", `{"Name":"fwd","EventPattern":"{\"source\":[\"shop\"]}"}`)
	b.ok(t, "PutTargets", `{"Rule":"fwd","Targets":[{"Id":"b","Arn":"arn:aws:events:eu-west-1:111122223333:event-bus/second"}]}`)
	b.ok(t, "PutRule", `{"Name":"there","EventBusName":"second","EventPattern":"{\"detail-type\":[\"x\"]}"}`)
	b.ok(t, "PutTargets", `{"Rule":"there","EventBusName":"second","Targets":[{"Id":"sm","Arn":"`+sm+`"}]}`)
	b.ok(t, "PutEvents", `{"Entries":[{"Source":"shop","DetailType":"x","Detail":"{}"}]}`)
	b.deliver(t) // to the second bus
	b.deliver(t) // from it to the state machine
	if c := rec.got(); len(c) != 1 || !strings.Contains(c[0].input, `"source":"shop"`) {
		t.Fatalf("calls = %v", c)
	}
}

func TestRenderTemplate(t *testing.T) {
	vals := map[string]any{"s": "a\"b", "n": json.Number("3"), "o": map[string]any{"k": "v"}, "nil": nil}
	for tmpl, want := range map[string]string{
		`{"a":<s>,"b":<n>,"c":<o>,"d":<nil>}`: `{"a":"a\"b","b":3,"c":{"k":"v"},"d":null}`,
		`"<s> and <n> and <o>"`:               `"a\"b and 3 and {\"k\":\"v\"}"`,
		`instance <s> is <n>`:                 `instance a"b is 3`,
		`{"x":"<unknown>"}`:                   `{"x":"<unknown>"}`,
	} {
		if got := string(renderTemplate(tmpl, vals)); got != want {
			t.Errorf("renderTemplate(%s) = %s, want %s", tmpl, got, want)
		}
	}
}

// TestDeliverySurvivesRestartAndIsClaimedOnce: an entry accepted by one Service is delivered by
// another on the same database (a restarted or second node), and two nodes delivering at once
// deliver each event once.
func TestDeliverySurvivesRestartAndIsClaimedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.ok(t, "PutRule", `{"Name":"r","EventPattern":"{\"source\":[\"shop\"]}"}`)
	b.ok(t, "PutTargets", `{"Rule":"r","Targets":[{"Id":"t","Arn":"`+sm+`"}]}`)
	for range 20 {
		b.ok(t, "PutEvents", `{"Entries":[{"Source":"shop","DetailType":"x","Detail":"{}"}]}`)
	}
	// The first node stops before delivering; two others share the work.
	rec := &recorder{}
	var nodes []*Service
	for range 2 {
		n, err := New(Options{Store: b.svc.o.Store, Clock: b.clock, Account: "111122223333", Region: "eu-west-1"})
		if err != nil {
			t.Fatal(err)
		}
		n.SetTargets(rec.targets())
		nodes = append(nodes, n)
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, err := n.DeliverDue(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if k == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	names := map[string]int{}
	for _, c := range rec.got() {
		names[c.name]++
	}
	if len(names) != 20 {
		t.Fatalf("%d distinct executions, want 20", len(names))
	}
	for name, k := range names {
		if k != 1 {
			t.Fatalf("execution %s started %d times", name, k)
		}
	}
}
