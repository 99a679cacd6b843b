package scheduler

import (
	"time"

	"github.com/stepline/stepline/internal/store"
)

// FiringName is the name of the execution the firing of row at nominal starts (or started):
// the console finds a schedule's last firings among its state machine's executions by it.
func FiringName(row *store.Schedule, nominal time.Time) string { return firingName(row, nominal) }
