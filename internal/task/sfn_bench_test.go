package task_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

// BenchmarkNestedSync measures a parent whose one Task state runs a child with .sync, start to
// end on SQLite, one at a time: the overhead of a nested execution per child (the child is a
// Pass state, which ends in its StartExecution, and one that waits once, seen by polling).
func BenchmarkNestedSync(b *testing.B) {
	for _, tc := range []struct{ name, child string }{
		{"pass", passChild},
		{"wait", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":0,"End":true}}}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := newWorld(b, openSQLite(b), "n1", nil)
			child := w.machine(b, "child", tc.child)
			p := w.machine(b, "parent", parent("arn:aws:states:::states:startExecution.sync", `{"StateMachineArn":"`+child+`"}`))
			b.ResetTimer()
			for i := range b.N {
				in := `{}`
				x, err := w.svc.StartExecution(context.Background(), &service.StartExecutionInput{StateMachineArn: p, Name: fmt.Sprint("p", i), Input: &in})
				if err != nil {
					b.Fatal(err)
				}
				for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
					got, err := w.svc.DescribeExecution(context.Background(), x.Arn)
					if err != nil {
						b.Fatal(err)
					}
					if got.Status.Terminal() {
						if got.Status != store.StatusSucceeded {
							b.Fatalf("%s", got.Status)
						}
						break
					}
					if time.Now().After(deadline) {
						b.Fatal("parent never ended")
					}
				}
			}
		})
	}
}
