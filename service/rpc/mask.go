package rpc

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Updates follow AIP-134: the request carries the resource with the new
// values and an update_mask naming the fields to change. The handler reads
// the stored resource, copies the masked fields over it (updateMask,
// applyMask), validates the result as a whole like a created resource, and
// writes it conditionally on the version it read (readModifyWrite).

// updateMask resolves an update_mask against a resource's message type
// and returns the field paths to copy from the request. An empty mask or
// "*" means every top-level field but the fixed ones. A path names a field
// or, through singular message fields, a field of one ("retry.max_attempts");
// list and map fields are replaced as a whole. fixed names the top-level
// fields no update may name: the resource's name, output-only and
// immutable fields.
func updateMask(m *fieldmaskpb.FieldMask, desc protoreflect.MessageDescriptor, fixed ...string) ([]string, error) {
	paths := m.GetPaths()
	if len(paths) == 0 || (len(paths) == 1 && paths[0] == "*") {
		var all []string
		fields := desc.Fields()
		for i := range fields.Len() {
			if name := string(fields.Get(i).Name()); !slices.Contains(fixed, name) {
				all = append(all, name)
			}
		}
		return all, nil
	}
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if p == "*" {
			return nil, badParam("update_mask", `"*" must be the only path`)
		}
		if err := checkPath(desc, p, fixed); err != nil {
			return nil, err
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// checkPath checks that p names a field of desc that an update may set.
func checkPath(desc protoreflect.MessageDescriptor, p string, fixed []string) error {
	segs := strings.Split(p, ".")
	if slices.Contains(fixed, segs[0]) {
		return badParam("update_mask", "path "+quote(p)+" cannot be updated; updatable fields: "+strings.Join(updatable(desc, fixed), ", "))
	}
	d := desc
	for i, s := range segs {
		f := d.Fields().ByName(protoreflect.Name(s))
		if f == nil {
			return badParam("update_mask", "path "+quote(p)+" names no field of "+string(desc.Name())+"; updatable fields: "+strings.Join(updatable(desc, fixed), ", "))
		}
		if i == len(segs)-1 {
			return nil
		}
		if f.Kind() != protoreflect.MessageKind || f.IsList() || f.IsMap() {
			return badParam("update_mask", "path "+quote(p)+": "+s+" has no fields to select; name it whole")
		}
		d = f.Message()
	}
	return nil
}

func updatable(desc protoreflect.MessageDescriptor, fixed []string) []string {
	var out []string
	fields := desc.Fields()
	for i := range fields.Len() {
		if name := string(fields.Get(i).Name()); !slices.Contains(fixed, name) {
			out = append(out, name)
		}
	}
	return out
}

func quote(s string) string { return `"` + s + `"` }

// applyMask sets each path of dst to src's value; a field src does not set
// is cleared in dst.
func applyMask(dst, src proto.Message, paths []string) {
	for _, p := range paths {
		copyPath(dst.ProtoReflect(), src.ProtoReflect(), strings.Split(p, "."))
	}
}

func copyPath(dst, src protoreflect.Message, path []string) {
	f := dst.Descriptor().Fields().ByName(protoreflect.Name(path[0]))
	if len(path) == 1 {
		if src.Has(f) {
			dst.Set(f, src.Get(f))
		} else {
			dst.Clear(f)
		}
		return
	}
	copyPath(dst.Mutable(f).Message(), src.Get(f).Message(), path[1:])
}
