package rpc

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

func TestUpdateMask(t *testing.T) {
	t.Parallel()
	desc := (&tollgatev1.Route{}).ProtoReflect().Descriptor()
	all := []string{"strategy", "targets", "conditions", "retry", "breaker", "timeout", "first_chunk_timeout", "sticky", "cache", "chunk_timeout", "drop_params"}
	tests := []struct {
		name    string
		paths   []string
		want    []string
		wantErr bool
	}{
		{"empty is everything writable", nil, all, false},
		{"star is everything writable", []string{"*"}, all, false},
		{"some", []string{"timeout", "sticky", "timeout"}, []string{"timeout", "sticky"}, false},
		{"nested", []string{"retry.max_attempts"}, []string{"retry.max_attempts"}, false},
		{"star and more", []string{"*", "sticky"}, nil, true},
		{"unknown", []string{"colour"}, nil, true},
		{"unknown nested", []string{"retry.colour"}, nil, true},
		{"into a list", []string{"targets.weight"}, nil, true},
		{"into a scalar", []string{"sticky.x"}, nil, true},
		{"fixed", []string{"name"}, nil, true},
		{"output only", []string{"update_time"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := updateMask(&fieldmaskpb.FieldMask{Paths: tt.paths}, desc, routeFixed...)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Fatalf("updateMask(%v) = %v, %v; want %v (error %v)", tt.paths, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestApplyMask(t *testing.T) {
	t.Parallel()
	cur := &tollgatev1.Route{
		Name: "r", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK, Sticky: true,
		Targets: []*tollgatev1.RouteTarget{{Model: "a"}},
		Retry:   &tollgatev1.RetryPolicy{MaxAttempts: 2, BackoffBase: durationpb.New(1e8)},
	}
	in := &tollgatev1.Route{Name: "r", Retry: &tollgatev1.RetryPolicy{MaxAttempts: 5}, Targets: []*tollgatev1.RouteTarget{{Model: "b"}, {Model: "c"}}}
	got := proto.CloneOf(cur)
	applyMask(got, in, []string{"retry.max_attempts", "sticky", "targets"})
	want := &tollgatev1.Route{
		Name: "r", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
		Targets: []*tollgatev1.RouteTarget{{Model: "b"}, {Model: "c"}},
		Retry:   &tollgatev1.RetryPolicy{MaxAttempts: 5, BackoffBase: durationpb.New(1e8)},
	}
	if !proto.Equal(got, want) {
		t.Fatalf("applyMask = %v\nwant %v", got, want)
	}
	// A nested path into an unset message sets only that field.
	got = &tollgatev1.Route{Name: "r"}
	applyMask(got, &tollgatev1.Route{Breaker: &tollgatev1.CircuitBreaker{Failures: 3}}, []string{"breaker.failures"})
	if got.GetBreaker().GetFailures() != 3 || got.GetBreaker().GetCooldown() != nil {
		t.Fatalf("nested into unset: %v", got)
	}
}
