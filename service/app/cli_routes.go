package app

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

// routeCommand registers the flags of a routes command on fs and returns
// its request builder, or nil when name is not a routes command.
func routeCommand(name string, fs *flag.FlagSet) func([]string) (proto.Message, error) {
	switch name {
	case "routes create":
		return routesCreate(fs)
	case "routes list":
		return noOperands(&tollgatev1.ListRoutesRequest{})
	case "routes get":
		return func(ops []string) (proto.Message, error) {
			n, err := oneOperand(ops, "ROUTE")
			return &tollgatev1.GetRouteRequest{Name: n}, err
		}
	case "routes delete":
		var etag string
		fs.StringVar(&etag, "etag", "", "delete only if the route still has this etag")
		return func(ops []string) (proto.Message, error) {
			n, err := oneOperand(ops, "ROUTE")
			return &tollgatev1.DeleteRouteRequest{Name: n, Etag: etag}, err
		}
	}
	return nil
}

// strategies maps --strategy values to route strategies.
var strategies = map[string]tollgatev1.RouteStrategy{
	"fallback":   tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
	"weighted":   tollgatev1.RouteStrategy_ROUTE_STRATEGY_WEIGHTED,
	"latency":    tollgatev1.RouteStrategy_ROUTE_STRATEGY_LATENCY,
	"cost":       tollgatev1.RouteStrategy_ROUTE_STRATEGY_COST,
	"least-busy": tollgatev1.RouteStrategy_ROUTE_STRATEGY_LEAST_BUSY,
}

// routeFlags are the flags describing a route, for create and update.
type routeFlags struct {
	file, name, strategy, timeout string
	targets                       listFlag
	sticky, dropParams            bool
}

func (rf *routeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&rf.file, "file", "", "the route as JSON (the tollgate.v1.Route message; - for standard input)")
	fs.StringVar(&rf.name, "name", "", "the model name clients ask for (or give it as the operand)")
	fs.StringVar(&rf.strategy, "strategy", "", "fallback, weighted, latency, cost or least-busy (default fallback)")
	fs.Var(&rf.targets, "target", "a target provider/model[:weight], or a configured model name (repeatable, in priority order)")
	fs.StringVar(&rf.timeout, "timeout", "", "bound on the whole request, e.g. 30s")
	fs.BoolVar(&rf.sticky, "sticky", false, "make weighted picks stick to the end user")
	fs.BoolVar(&rf.dropParams, "drop-params", false, "leave out request parameters a target cannot honour instead of refusing the request")
}

// route builds the route the flags and the optional NAME operand describe:
// the --file route, if any, with the flags' fields over it.
func (rf *routeFlags) route(ops []string) (*tollgatev1.Route, error) {
	name := rf.name
	if len(ops) == 1 && name == "" {
		name, ops = ops[0], nil
	}
	if len(ops) != 0 {
		return nil, usageErrorf("unexpected arguments %q", ops)
	}
	r := &tollgatev1.Route{}
	if rf.file != "" {
		b, err := readCredential(rf.file)
		if err != nil {
			return nil, fmt.Errorf("--file: %w", err)
		}
		if err := protojson.Unmarshal(b, r); err != nil {
			return nil, usageErrorf("--file %s: not a route spec: %v", rf.file, err)
		}
	}
	if name != "" {
		r.Name = name
	}
	if r.GetName() == "" {
		return nil, usageErrorf("--name is required (or a \"name\" in --file)")
	}
	if rf.strategy != "" {
		s, ok := strategies[rf.strategy]
		if !ok {
			return nil, usageErrorf("--strategy %q: want fallback, weighted, latency, cost or least-busy", rf.strategy)
		}
		r.Strategy = s
	}
	if len(rf.targets) > 0 {
		r.Targets = nil
		for _, t := range rf.targets {
			rt, err := parseTarget(t)
			if err != nil {
				return nil, usageErrorf("--target %q: %v", t, err)
			}
			r.Targets = append(r.Targets, rt)
		}
	}
	if rf.timeout != "" {
		d, err := time.ParseDuration(rf.timeout)
		if err != nil || d <= 0 {
			return nil, usageErrorf("--timeout %q: want a positive duration such as 30s", rf.timeout)
		}
		r.Timeout = durationpb.New(d)
	}
	if rf.sticky {
		r.Sticky = true
	}
	if rf.dropParams {
		r.DropParams = true
	}
	return r, nil
}

// routesCreate builds a route from a spec file (the Route message as
// protobuf JSON), from flags, or from a file with flags overriding it.
func routesCreate(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	var rf routeFlags
	rf.register(fs)
	return func(ops []string) (proto.Message, error) {
		r, err := rf.route(ops)
		if err != nil {
			return nil, err
		}
		if r.GetStrategy() == tollgatev1.RouteStrategy_ROUTE_STRATEGY_UNSPECIFIED {
			r.Strategy = tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK
		}
		if len(r.GetTargets()) == 0 {
			return nil, usageErrorf("give at least one --target (or \"targets\" in --file)")
		}
		return &tollgatev1.CreateRouteRequest{Route: r}, nil
	}
}

// parseTarget parses "provider/model[:weight]" or "model[:weight]" (a
// configured model). The provider is up to the first '/', so upstream
// model names may contain '/'; a weight is a trailing ":N" of digits, so
// model names such as "llama3:8b" keep their colon.
func parseTarget(s string) (*tollgatev1.RouteTarget, error) {
	t := &tollgatev1.RouteTarget{}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && isDigits(s[i+1:]) {
		w, err := strconv.ParseInt(s[i+1:], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad weight: %w", err)
		}
		t.Weight, s = int32(w), s[:i]
	}
	if p, m, ok := strings.Cut(s, "/"); ok {
		t.ProviderId, s = p, m
		if p == "" {
			return nil, fmt.Errorf("empty provider; want provider/model[:weight]")
		}
	}
	if s == "" {
		return nil, fmt.Errorf("empty model; want provider/model[:weight]")
	}
	t.Model = s
	return t, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// formatTarget is parseTarget's inverse.
func formatTarget(t *tollgatev1.RouteTarget) string {
	s := t.GetModel()
	if t.GetProviderId() != "" {
		s = t.GetProviderId() + "/" + s
	}
	if t.GetWeight() != 0 {
		s += ":" + strconv.Itoa(int(t.GetWeight()))
	}
	return s
}

func routeRows(row func(...string), rs ...*tollgatev1.Route) {
	row("NAME", "STRATEGY", "TARGETS", "CONDITIONS", "UPDATED", "ETAG")
	for _, r := range rs {
		ts := make([]string, len(r.GetTargets()))
		for i, t := range r.GetTargets() {
			ts[i] = formatTarget(t)
		}
		row(r.GetName(), lowerEnum(r.GetStrategy(), "ROUTE_STRATEGY_"), strings.Join(ts, ","),
			countOrDash(int64(len(r.GetConditions()))), formatTime(r.GetUpdateTime()), r.GetEtag())
	}
}
