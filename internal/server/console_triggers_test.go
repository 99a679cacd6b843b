package server_test

import (
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/server"
)

// The server hands the console its EventBridge Scheduler and EventBridge: the schedules page
// lists the default schedule group, and the rules page the default bus.
func TestConsoleSchedulesAndRulesPages(t *testing.T) {
	b := setup(t, server.Options{})
	if body := page(t, b.url+"/schedules"); !strings.Contains(body, `data-group="default"`) {
		t.Errorf("the schedules page does not list the default group:\n%s", body)
	}
	if body := page(t, b.url+"/rules"); !strings.Contains(body, `data-bus="default"`) {
		t.Errorf("the rules page does not list the default bus:\n%s", body)
	}
}
