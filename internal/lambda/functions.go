package lambda

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/lambda/sandbox"
	"github.com/stepline/stepline/internal/store"
)

// function is a stored function as Invoke needs it, with the sandbox's spec made once.
type function struct {
	stored *store.Function // without code
	cfg    *config
	spec   *sandbox.Spec
	readAt time.Time
}

func (s *Service) newFunction(f *store.Function, now time.Time) (*function, error) {
	c, err := decodeConfig(f)
	if err != nil {
		return nil, err
	}
	// The key changes with the code and with any setting, so that warm processes of an older
	// configuration never serve a newer one.
	sum := sha256.Sum256(f.Config)
	spec := &sandbox.Spec{
		Function: f.Name, Version: latest, Arn: s.arn(f.Name), Runtime: c.Runtime, Handler: c.Handler,
		CodeDir: filepath.Join(s.codeDir, f.CodeSha256), Key: f.CodeSha256[:min(16, len(f.CodeSha256))] + "-" + hex.EncodeToString(sum[:8]),
		Environment: c.Environment, Timeout: time.Duration(c.Timeout) * time.Second, MemoryMB: c.MemorySize,
	}
	if f.ReservedConcurrency != nil {
		spec.Concurrency, spec.Reserved = *f.ReservedConcurrency, true
	}
	return &function{stored: f, cfg: c, spec: spec, readAt: now}, nil
}

// lookup returns a function for Invoke: from the cache while it is younger than CacheTTL,
// else read again (without code) and rebuilt only when its revision or concurrency changed.
func (s *Service) lookup(ctx context.Context, name string) (*function, *Error) {
	now := s.o.Clock.Now()
	s.mu.RLock()
	cached := s.cache[name]
	s.mu.RUnlock()
	if cached != nil && now.Sub(cached.readAt) < s.o.CacheTTL {
		return cached, nil
	}
	st, err := s.o.Store.FunctionGet(ctx, &store.FunctionGetParams{Name: name})
	if errors.Is(err, store.ErrNotFound) {
		s.forget(name)
		return nil, errNotFound(s.arn(name))
	}
	if err != nil {
		return nil, s.storeError(err)
	}
	var f *function
	if cached != nil && cached.stored.RevisionID == st.RevisionID && sameReserved(cached.stored.ReservedConcurrency, st.ReservedConcurrency) {
		c := *cached
		c.readAt = now
		f = &c
	} else if f, err = s.newFunction(st, now); err != nil {
		return nil, errService(err)
	}
	s.remember(f)
	return f, nil
}

func sameReserved(a, b *int) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func (s *Service) remember(f *function) {
	s.mu.Lock()
	s.cache[f.stored.Name] = f
	s.mu.Unlock()
}

func (s *Service) forget(name string) {
	s.mu.Lock()
	delete(s.cache, name)
	s.mu.Unlock()
}

// changed drops what this node holds of a function that was updated or deleted: the cached
// configuration and its warm processes.
func (s *Service) changed(name string) {
	s.forget(name)
	s.pool.Evict(name)
}

// storeError turns a store failure into Lambda's ServiceException.
func (s *Service) storeError(err error) *Error {
	if f := store.Fault(s.o.Store, err); f != nil {
		return apiError(codeService, 503, "The service is unavailable: %v", f)
	}
	return errService(err)
}

// ensureCode makes sure the function's code is unpacked on this node, reading the zip from
// the store if another node created the function.
func (s *Service) ensureCode(ctx context.Context, f *function) *Error {
	sha := f.stored.CodeSha256
	s.mu.RLock()
	ok := s.unpacked[sha]
	s.mu.RUnlock()
	if ok {
		return nil
	}
	unlock := s.lockDigest(sha)
	defer unlock()
	if _, err := os.Stat(filepath.Join(s.codeDir, sha)); err == nil {
		s.markUnpacked(sha)
		return nil
	}
	// Read the zip only now, under the digest's lock: the invocations of a function arriving
	// together on a node that lacks its code read it from the store once.
	st, err := s.o.Store.FunctionGet(ctx, &store.FunctionGetParams{Name: f.stored.Name, WithCode: true})
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound(s.arn(f.stored.Name))
	}
	if err != nil {
		return s.storeError(err)
	}
	if got := digest(st.Code); got != sha {
		// Updated since f was read: unpack what is stored now (without its lock, which a
		// concurrent invocation may hold: the rename alone keeps two unpacks apart) and have
		// the caller read the function again.
		if e := s.materializeLocked(got, st.Code); e != nil {
			return e
		}
		s.forget(f.stored.Name)
		return errStale
	}
	return s.materializeLocked(sha, st.Code)
}

// errStale: the function changed while an invocation prepared it; it reads it again.
var errStale = &Error{Code: codeService, Status: 500, Message: "the function changed while it was being invoked; try again"}

// lockDigest serialises, in this process, the unpacking of one digest; nodes sharing DataDir
// are kept apart by the rename (see materializeLocked).
func (s *Service) lockDigest(sha string) (unlock func()) {
	muAny, _ := s.unpacking.LoadOrStore(sha, &sync.Mutex{})
	mu := muAny.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

func (s *Service) markUnpacked(sha string) {
	s.mu.Lock()
	s.unpacked[sha] = true
	s.mu.Unlock()
}

// materialize unpacks a zip into codeDir/sha unless it is there already.
func (s *Service) materialize(sha string, zipBytes []byte) *Error {
	unlock := s.lockDigest(sha)
	defer unlock()
	return s.materializeLocked(sha, zipBytes)
}

// materializeLocked is materialize under the digest's lock. It unpacks into a temporary
// folder and renames it into place, so that nobody (another invocation, another node sharing
// DataDir) ever sees half a tree; when two nodes race, the first rename wins and the other's
// copy is removed.
func (s *Service) materializeLocked(sha string, zipBytes []byte) *Error {
	final := filepath.Join(s.codeDir, sha)
	if _, err := os.Stat(final); err == nil {
		s.markUnpacked(sha)
		return nil
	}
	tmp, err := os.MkdirTemp(s.codeDir, unpackPrefix+sha[:min(12, len(sha))]+"-")
	if err != nil {
		return errService(fmt.Errorf("lambda: unpack: %w", err))
	}
	if e := unpack(tmp, zipBytes, maxUnzippedSize); e != nil {
		_ = os.RemoveAll(tmp)
		return e
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		_ = os.RemoveAll(tmp)
		return errService(fmt.Errorf("lambda: unpack: %w", err))
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		if _, serr := os.Stat(final); serr != nil {
			return errService(fmt.Errorf("lambda: unpack: %w", err))
		}
	}
	s.markUnpacked(sha)
	return nil
}

// newID returns a random (version 4) UUID, the shape of Lambda's request and revision ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// unpackPrefix names the temporary folders of unpacks in progress.
const unpackPrefix = ".unpack-"

// sweepUnpacks removes the temporary folders of unpacks that a crash interrupted. Those of
// the last hour are left alone: another node sharing DataDir may be unpacking into them.
func (s *Service) sweepUnpacks() {
	entries, err := os.ReadDir(s.codeDir)
	if err != nil {
		return
	}
	cutoff := s.o.Clock.Now().Add(-time.Hour)
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), unpackPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			if err := os.RemoveAll(filepath.Join(s.codeDir, e.Name())); err != nil {
				s.o.Logger.Warn("lambda: removing an interrupted unpack", "dir", e.Name(), "error", err)
			}
		}
	}
}
