package sqlite

import (
	"cmp"
	"slices"

	"github.com/stepline/stepline/internal/store"
)

// Leases live in memory, not in the executions table. A database file belongs to one process
// (see the package comment), so no other process could read them; and a lease held by a
// process that died dies with it, so the restarted process takes over at once instead of
// waiting for expiry. Leasing an execution and releasing it then write nothing, which halved
// what resuming an execution costs the writer. The lease columns of the table stay NULL.

// lease is an execution's lease.
type lease struct {
	id      int64 // the execution's row id
	owner   string
	expires int64 // microseconds, as the columns keep times
}

// leases is the lease table, by execution ARN. Its methods take leaseMu; those that change it
// run inside write transactions too, so that a commit's lease check and its UPDATE see the
// same lease.
type leaseTable map[string]*lease

// free reports whether owner may lease arn at now.
func (lt leaseTable) free(arn, owner string, now int64) bool {
	l := lt[arn]
	return l == nil || l.owner == owner || l.expires <= now
}

// held returns the ids of executions leased beyond now; never nil, which JSON would make null.
func (lt leaseTable) held(now int64) []int64 {
	ids := []int64{}
	for _, l := range lt {
		if l.expires > now {
			ids = append(ids, l.id)
		}
	}
	return ids
}

// expired returns the leases that ran out at now, oldest expiry first.
func (lt leaseTable) expired(now int64) []string {
	var arns []string
	for arn, l := range lt {
		if l.expires <= now {
			arns = append(arns, arn)
		}
	}
	slices.SortFunc(arns, func(a, b string) int { return cmp.Or(cmp.Compare(lt[a].expires, lt[b].expires), cmp.Compare(a, b)) })
	return arns
}

// overlay reports x's lease on x.
func (s *Store) overlay(xs ...*store.Execution) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	for _, x := range xs {
		x.LeaseOwner, x.LeaseExpiresAt = "", nil
		if l := s.leases[x.Arn]; l != nil {
			exp := fromMicro(l.expires)
			x.LeaseOwner, x.LeaseExpiresAt = l.owner, &exp
		}
	}
}

// setLease leases x (row id) to owner until expires and reports it on x.
func (s *Store) setLease(x *store.Execution, id int64, owner string, expires int64) {
	s.leases[x.Arn] = &lease{id: id, owner: owner, expires: expires}
	exp := fromMicro(expires)
	x.LeaseOwner, x.LeaseExpiresAt = owner, &exp
}
