package shard

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/utils/ptr"
)

// An observer remembers when it last saw each Lease change. As in
// client-go's leader election, a Lease expires a Lease duration after it
// was last seen to change, on the observer's own clock: no two clocks are
// compared. Not safe for concurrent use: each loop has its own.
type observer map[string]observation

type observation struct {
	version string
	at      time.Time
}

// see records l as read at now.
func (o observer) see(l *coordinationv1.Lease, now time.Time) {
	if seen, ok := o[l.Name]; !ok || seen.version != l.ResourceVersion {
		o[l.Name] = observation{version: l.ResourceVersion, at: now}
	}
}

// lapsedFor is how long l has gone unchanged, as seen.
func (o observer) lapsedFor(l *coordinationv1.Lease, now time.Time) time.Duration {
	return now.Sub(o[l.Name].at)
}

// expired says whether l's holder has let it lapse (or nobody holds it).
func (o observer) expired(l *coordinationv1.Lease, now time.Time) bool {
	if ptr.Deref(l.Spec.HolderIdentity, "") == "" {
		return true
	}
	return o.lapsedFor(l, now) > time.Duration(ptr.Deref(l.Spec.LeaseDurationSeconds, 0))*time.Second
}
