package configsync

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Action is what a change does to a resource.
type Action string

// The actions.
const (
	Create Action = "create"
	Update Action = "update"
	// Replace deletes and re-creates a resource the API cannot change in
	// place (a key gets a new secret, an alert webhook a new signing
	// secret unless the file gives one).
	Replace Action = "replace"
	Delete  Action = "delete"
)

// FieldChange is one changed field of an update, by path
// ("targets[1].weight").
type FieldChange struct {
	Path     string
	Old, New string
}

// Change is one planned change.
type Change struct {
	Kind   Kind
	Name   string
	Action Action
	// Fields are the changed fields of an update or replacement.
	Fields []FieldChange

	cur, want *resource
}

// Plan is the ordered list of changes that make a gateway match a file.
type Plan struct {
	Changes []Change
	// Unmanaged counts the resources the gateway holds that the file does
	// not declare and that are not marked as managed by configuration (so
	// --prune leaves them), by kind.
	Unmanaged map[Kind]int
	// Orphans are the managed resources the file no longer declares, when
	// the plan was made without Prune ("kind name").
	Orphans []string
}

// PlanOptions configure Compute.
type PlanOptions struct {
	// Prune plans the deletion of managed resources the file no longer
	// declares.
	Prune bool
	// Managed reports whether a resource is marked as managed by
	// configuration; nil means none is.
	Managed func(Kind, string) bool
}

// immutable are the kinds the API cannot update in place: a change is a
// replacement (keys, webhooks) or refused (teams).
var replaceable = map[Kind]bool{KindKey: true, KindAlert: true}

// Compute plans the changes that turn cur into want.
func Compute(cur, want *State, opts PlanOptions) (*Plan, error) {
	p := &Plan{Unmanaged: map[Kind]int{}}
	var errs []string
	for _, k := range Kinds {
		for _, name := range sortedNames(want.res[k]) {
			w := want.res[k][name]
			c, ok := cur.res[k][name]
			if !ok {
				p.Changes = append(p.Changes, Change{Kind: k, Name: name, Action: Create, want: w})
				continue
			}
			if proto.Equal(c.msg, w.msg) {
				continue
			}
			fields := diffFields("", c.msg.ProtoReflect(), w.msg.ProtoReflect())
			action := Update
			switch {
			case replaceable[k]:
				action = Replace
			case k == KindTeam:
				errs = append(errs, fmt.Sprintf("team %q: %s cannot be changed in place (teams are fixed at creation)", name, paths(fields)))
				continue
			case k == KindProvider && slices.ContainsFunc(fields, func(f FieldChange) bool { return f.Path == "type" }):
				errs = append(errs, fmt.Sprintf("provider %q: the type cannot be changed; declare a provider of another id", name))
				continue
			}
			p.Changes = append(p.Changes, Change{Kind: k, Name: name, Action: action, Fields: fields, cur: c, want: w})
		}
	}
	// Deletions in reverse dependency order.
	for i := len(Kinds) - 1; i >= 0; i-- {
		k := Kinds[i]
		for _, name := range sortedNames(cur.res[k]) {
			if _, ok := want.res[k][name]; ok {
				continue
			}
			if opts.Managed == nil || !opts.Managed(k, name) {
				p.Unmanaged[k]++
				continue
			}
			if opts.Prune {
				p.Changes = append(p.Changes, Change{Kind: k, Name: name, Action: Delete, cur: cur.res[k][name]})
			} else {
				p.Orphans = append(p.Orphans, strings.ReplaceAll(string(k), "_", " ")+" "+name)
			}
		}
	}
	if len(errs) > 0 {
		return p, fmt.Errorf("the configuration cannot be applied:\n  %s", strings.Join(errs, "\n  "))
	}
	return p, nil
}

func paths(fs []FieldChange) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Path)
	}
	return strings.Join(out, ", ")
}

func sortedNames(m map[string]*resource) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Count returns the number of changes of an action.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Write prints the plan for people:
//
//   - team search
//     ~ route chat
//     targets[0].weight: 70 → 50
//   - budget old-daily
func (p *Plan) Write(w io.Writer) error {
	var b strings.Builder
	for _, c := range p.Changes {
		sign := map[Action]string{Create: "+", Update: "~", Replace: "±", Delete: "-"}[c.Action]
		fmt.Fprintf(&b, "%s %s %s", sign, strings.ReplaceAll(string(c.Kind), "_", " "), c.Name)
		if c.Action == Replace {
			b.WriteString(" (replaced: deleted and created again)")
		}
		b.WriteByte('\n')
		for _, f := range c.Fields {
			fmt.Fprintf(&b, "    %s: %s → %s\n", f.Path, f.Old, f.New)
		}
	}
	if p.Empty() {
		b.WriteString("No changes: the gateway matches the configuration.\n")
	} else {
		fmt.Fprintf(&b, "Plan: %d to create, %d to update, %d to replace, %d to delete.\n",
			p.Count(Create), p.Count(Update), p.Count(Replace), p.Count(Delete))
	}
	if len(p.Orphans) > 0 {
		fmt.Fprintf(&b, "Managed by configuration but no longer declared (apply --prune deletes them): %s.\n", strings.Join(p.Orphans, ", "))
	}
	var um []string
	for _, k := range Kinds {
		if n := p.Unmanaged[k]; n > 0 {
			um = append(um, fmt.Sprintf("%d %s", n, strings.ReplaceAll(string(k), "_", " ")))
		}
	}
	if len(um) > 0 {
		fmt.Fprintf(&b, "Not declared and not managed by configuration (left alone): %s.\n", strings.Join(um, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// diffFields lists the fields that differ between a and b (messages of
// one type), descending into messages, equal-length lists and maps.
func diffFields(prefix string, a, b protoreflect.Message) []FieldChange {
	var out []FieldChange
	fields := a.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		path := prefix + string(fd.Name())
		has1, has2 := a.Has(fd), b.Has(fd)
		if !has1 && !has2 {
			continue
		}
		v1, v2 := a.Get(fd), b.Get(fd)
		switch {
		case fd.IsList():
			l1, l2 := v1.List(), v2.List()
			if l1.Len() == l2.Len() && fd.Message() != nil {
				for j := 0; j < l1.Len(); j++ {
					out = append(out, diffFields(fmt.Sprintf("%s[%d].", path, j), l1.Get(j).Message(), l2.Get(j).Message())...)
				}
				continue
			}
			if s1, s2 := show(fd, v1, has1), show(fd, v2, has2); s1 != s2 {
				out = append(out, FieldChange{Path: path, Old: s1, New: s2})
			}
		case fd.IsMap():
			keys := map[string]bool{}
			v1.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool { keys[k.String()] = true; return true })
			v2.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool { keys[k.String()] = true; return true })
			var ks []string
			for k := range keys {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			for _, k := range ks {
				mk := protoreflect.ValueOfString(k).MapKey()
				e1, e2 := "(none)", "(none)"
				if v1.Map().Has(mk) {
					e1 = scalar(fd.MapValue(), v1.Map().Get(mk))
				}
				if v2.Map().Has(mk) {
					e2 = scalar(fd.MapValue(), v2.Map().Get(mk))
				}
				if e1 != e2 {
					out = append(out, FieldChange{Path: path + "." + k, Old: e1, New: e2})
				}
			}
		case fd.Message() != nil && has1 && has2 && !isLeafMessage(fd):
			out = append(out, diffFields(path+".", v1.Message(), v2.Message())...)
		default:
			if s1, s2 := show(fd, v1, has1), show(fd, v2, has2); s1 != s2 {
				out = append(out, FieldChange{Path: path, Old: s1, New: s2})
			}
		}
	}
	return out
}

// isLeafMessage says whether a message field is shown as one value.
func isLeafMessage(fd protoreflect.FieldDescriptor) bool {
	switch fd.Message().FullName() {
	case "google.type.Money", "google.protobuf.Duration", "google.protobuf.Timestamp", "google.protobuf.Struct":
		return true
	}
	return false
}

// show renders a field's value in one line ("(none)" when unset).
func show(fd protoreflect.FieldDescriptor, v protoreflect.Value, has bool) string {
	if !has && (fd.Message() != nil || fd.IsList()) {
		return "(none)"
	}
	if fd.IsList() {
		var parts []string
		l := v.List()
		for i := 0; i < l.Len(); i++ {
			parts = append(parts, scalar(fd, l.Get(i)))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return scalar(fd, v)
}

// scalar renders one value: enums by their short name, messages as
// compact JSON, money in dollars.
func scalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch {
	case fd.Enum() != nil:
		ev := fd.Enum().Values().ByNumber(v.Enum())
		if ev == nil {
			return fmt.Sprint(v.Enum())
		}
		prefix := strings.TrimSuffix(string(fd.Enum().Values().ByNumber(0).Name()), "UNSPECIFIED")
		return strings.ToLower(strings.TrimPrefix(string(ev.Name()), prefix))
	case fd.Message() != nil:
		m := v.Message().Interface()
		switch fd.Message().FullName() {
		case "google.type.Money":
			return "$" + string(fromMoney(asMoney(m)))
		case "google.protobuf.Duration":
			return string(fromDur(asDuration(m)))
		}
		b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
		if err != nil {
			return "?"
		}
		return strings.Join(strings.Fields(string(b)), " ")
	case fd.Kind() == protoreflect.StringKind:
		return fmt.Sprintf("%q", v.String())
	}
	return v.String()
}

func asMoney(m proto.Message) *money.Money {
	mo, _ := m.(*money.Money)
	return mo
}

func asDuration(m proto.Message) *durationpb.Duration {
	d, _ := m.(*durationpb.Duration)
	return d
}
