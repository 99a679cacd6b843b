package service

import (
	"sync"
	"time"

	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// revisionCacheTTL is how long StartExecution may use a state machine's latest revision
// without reading it again. AWS documents the same lag: executions started within seconds of
// UpdateStateMachine may still use the previous definition. Updates and deletions through this
// Service take effect at once; those made by another node within this time.
const revisionCacheTTL = time.Second

// revisionCacheMax bounds the cache; it is emptied when full, which costs one read per machine.
const revisionCacheMax = 4096

// revisionCache keeps the latest revision of the state machines executions are started from,
// which saves a database read on every StartExecution.
type revisionCache struct {
	mu sync.Mutex
	m  map[string]cachedRevision
}

type cachedRevision struct {
	sm      *store.StateMachine
	expires time.Time
}

func (c *revisionCache) get(arn string, now time.Time) *store.StateMachine {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[arn]
	if !ok || !now.Before(e.expires) {
		return nil
	}
	return e.sm
}

func (c *revisionCache) put(sm *store.StateMachine, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= revisionCacheMax {
		c.m = map[string]cachedRevision{}
	}
	c.m[sm.Arn] = cachedRevision{sm: sm, expires: now.Add(revisionCacheTTL)}
}

func (c *revisionCache) forget(arn string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, arn)
}

// restoredCacheMax bounds the executions restoredCache keeps (a restored Map over many items
// takes megabytes); it is emptied when full.
const restoredCacheMax = 8

// restoredCache keeps executions restored from their snapshots, by ARN and version. A Map Run's
// records and child executions are read from their parent's snapshot, which for a Map over many
// items is large: listing its children page by page, or describing them one by one, would
// decode it again for every call. A version identifies the snapshot, which never changes once
// written, so an entry is never stale.
type restoredCache struct {
	mu sync.Mutex
	m  map[string]cachedRestore
}

type cachedRestore struct {
	version int64
	x       *interp.Execution
}

// get returns the execution restored from arn's snapshot at version, or nil.
func (c *restoredCache) get(arn string, version int64) *interp.Execution {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[arn]; ok && e.version == version {
		return e.x
	}
	return nil
}

func (c *restoredCache) put(arn string, version int64, x *interp.Execution) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= restoredCacheMax {
		c.m = map[string]cachedRestore{}
	}
	c.m[arn] = cachedRestore{version: version, x: x}
}
