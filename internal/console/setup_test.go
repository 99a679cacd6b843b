package console_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/console"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/dsn"
)

const role = "arn:aws:iam::123456789012:role/stepline"

// bundle is a console over a real store, engine and service, served over HTTP: the same
// pieces `stepline serve` wires, without the other AWS services.
type bundle struct {
	svc  *service.Service
	st   store.Store
	cons *console.Console
	url  string
}

func setup(t testing.TB, login bool) *bundle {
	t.Helper()
	return setupScaled(t, login, 1, 50*time.Millisecond)
}

// setupScaled is setup with the engine's wait scale and the live streams' poll interval (0:
// the console's default).
func setupScaled(t testing.TB, login bool, waitScale float64, livePoll time.Duration) *bundle {
	t.Helper()
	ctx := context.Background()
	st, err := dsn.Open(ctx, filepath.Join(t.TempDir(), "stepline.db"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Store: st, Node: "console-test", Account: "123456789012", Region: "us-east-1",
		WaitScale: waitScale, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Options{Store: st, Engine: eng, Account: "123456789012", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := console.New(console.Options{Service: svc, Store: st, Login: login, LivePoll: livePoll})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(cons)
	srv.Config.RegisterOnShutdown(cons.StopLive)
	srv.Start()
	t.Cleanup(func() {
		cons.StopLive()
		srv.Close()
		if err := eng.Stop(ctx); err != nil {
			t.Errorf("engine Stop: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
	})
	return &bundle{svc: svc, st: st, cons: cons, url: srv.URL}
}

func (b *bundle) machine(t testing.TB, name, def string) string {
	t.Helper()
	sm, err := b.svc.CreateStateMachine(context.Background(), &service.CreateStateMachineInput{Name: name, Definition: def, RoleArn: role})
	if err != nil {
		t.Fatalf("CreateStateMachine %s: %v", name, err)
	}
	return sm.Arn
}

func (b *bundle) start(t testing.TB, machine, name, input string) string {
	t.Helper()
	x, err := b.svc.StartExecution(context.Background(), &service.StartExecutionInput{StateMachineArn: machine, Name: name, Input: &input})
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	return x.Arn
}

// wait polls until the execution ended (the engine gives no signal to wait on from outside).
func (b *bundle) wait(t testing.TB, arn string) *store.Execution {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		x, err := b.svc.DescribeExecution(context.Background(), arn)
		if err != nil {
			t.Fatal(err)
		}
		if x.Status.Terminal() {
			return x
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("execution %s did not end", arn)
	return nil
}
