package rpc

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/routing"
)

// TargetStates reports the live state of the router's targets (the
// engine's *routing.Router).
type TargetStates interface {
	Targets() []routing.TargetStatus
}

// WithTargetStates makes GetProvider and ListProviders report the live
// state of each provider's targets from ts.
func WithTargetStates(ts TargetStates) AdminOption { return func(a *Admin) { a.targets = ts } }

var breakerToProto = map[routing.BreakerState]tollgatev1.BreakerState{
	routing.BreakerClosed:   tollgatev1.BreakerState_BREAKER_STATE_CLOSED,
	routing.BreakerOpen:     tollgatev1.BreakerState_BREAKER_STATE_OPEN,
	routing.BreakerHalfOpen: tollgatev1.BreakerState_BREAKER_STATE_HALF_OPEN,
}

// withTargetHealth fills the providers' targets from the router.
func (a *Admin) withTargetHealth(ps ...*tollgatev1.Provider) {
	if a.targets == nil {
		return
	}
	byProvider := map[string][]*tollgatev1.TargetHealth{}
	for _, t := range a.targets.Targets() {
		h := &tollgatev1.TargetHealth{Model: t.Model, Breaker: breakerToProto[t.Breaker], InFlight: int32(t.InFlight),
			ConsecutiveFailures: int32(t.Failures)}
		if t.Latency > 0 {
			h.LatencyEwma = durationpb.New(t.Latency)
		}
		byProvider[t.Provider] = append(byProvider[t.Provider], h)
	}
	for _, p := range ps {
		p.Targets = byProvider[p.GetId()]
	}
}

// keyUse is the store's optional knowledge of when keys were last used
// (pgstore answers it from the request records).
type keyUse interface {
	KeysLastUsed(ctx context.Context, ids []string) (map[string]time.Time, error)
}

// withLastUsed fills the keys' last_used_time when the store knows it. A
// failure leaves the field unset: the list is still worth answering.
func (a *Admin) withLastUsed(ctx context.Context, ks ...*tollgatev1.VirtualKey) {
	ku, ok := a.store.(keyUse)
	if !ok || len(ks) == 0 {
		return
	}
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.GetId()
	}
	used, err := ku.KeysLastUsed(ctx, ids)
	if err != nil {
		a.log.WarnContext(ctx, "keys: last use unknown", "err", err)
		return
	}
	for _, k := range ks {
		if t, ok := used[k.GetId()]; ok {
			k.LastUsedTime = timeToProto(t)
		}
	}
}
