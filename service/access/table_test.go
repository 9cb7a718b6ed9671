package access_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	c "github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/service/access"
)

// TestEveryProcedureHasARule fails when a procedure of a guarded service
// has no entry in access.Rules (a new RPC would be refused until it has
// one), and when an entry names no procedure.
func TestEveryProcedureHasARule(t *testing.T) {
	t.Parallel()
	_ = tollgatev1.File_tollgate_v1_identity_proto // the descriptors are registered by importing the package
	seen := map[string]bool{}
	for _, name := range access.GuardedServices {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			proc := "/" + name + "/" + string(methods.Get(i).Name())
			seen[proc] = true
			rule, ok := access.Rules[proc]
			if !ok {
				t.Errorf("%s has no entry in access.Rules", proc)
				continue
			}
			if rule.Perm == "" {
				t.Errorf("%s: rule without a permission", proc)
			}
		}
	}
	for proc := range access.Rules {
		if !seen[proc] {
			t.Errorf("access.Rules has %s, which no guarded service has", proc)
		}
	}
}

// TestReadsNeedReadPermissions checks the table against the protos: a
// procedure marked NO_SIDE_EFFECTS needs a read permission (or Self or
// Public), any other a write permission.
func TestReadsNeedReadPermissions(t *testing.T) {
	t.Parallel()
	for _, name := range access.GuardedServices {
		d, _ := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			md := methods.Get(i)
			proc := "/" + name + "/" + string(md.Name())
			rule := access.Rules[proc]
			read := md.Options().(*descriptorpb.MethodOptions).GetIdempotencyLevel() == descriptorpb.MethodOptions_NO_SIDE_EFFECTS
			perm := string(rule.Perm)
			isReadPerm := strings.HasSuffix(perm, ".read") || rule.Perm == access.Self || rule.Perm == access.Public
			if read != isReadPerm {
				t.Errorf("%s: NO_SIDE_EFFECTS=%v but needs %s", proc, read, perm)
			}
		}
	}
}

// principal returns a principal holding roles.
func principal(t *testing.T, roles ...string) *access.Principal {
	t.Helper()
	rs, err := access.ParseRoles(roles)
	if err != nil {
		t.Fatal(err)
	}
	return &access.Principal{Type: access.TypeUser, Subject: "u1", Roles: rs}
}

func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	type want struct {
		perm access.Permission
		ok   bool
		all  bool
	}
	tests := []struct {
		name  string
		roles []string
		want  []want
	}{
		{"owner", []string{"owner"}, []want{{access.PrincipalsWrite, true, true}, {access.CatalogWrite, true, true}, {access.AuditRead, true, true}}},
		{"admin", []string{"admin"}, []want{{access.PrincipalsWrite, false, false}, {access.PrincipalsRead, true, true},
			{access.CatalogWrite, true, true}, {access.CredentialsWrite, true, true}, {access.KeysWrite, true, true}}},
		{"team-admin", []string{"team-admin:search"}, []want{{access.KeysWrite, true, false}, {access.BudgetsWrite, true, false},
			{access.UsageRead, true, false}, {access.CatalogRead, true, true}, {access.CatalogWrite, false, false},
			{access.TeamsWrite, false, false}, {access.PoliciesWrite, false, false}, {access.AuditRead, false, false}}},
		{"viewer", []string{"viewer"}, []want{{access.CatalogRead, true, true}, {access.AuditRead, true, true},
			{access.PrincipalsRead, false, false}, {access.KeysWrite, false, false}, {access.CredentialsWrite, false, false}}},
		{"auditor", []string{"auditor"}, []want{{access.PrincipalsRead, true, true}, {access.AuditRead, true, true}, {access.BudgetsWrite, false, false}}},
		{"billing", []string{"billing"}, []want{{access.UsageRead, true, true}, {access.BudgetsRead, true, true},
			{access.BudgetsWrite, false, false}, {access.KeysRead, false, false}, {access.CatalogRead, false, false}}},
		{"billing and team-admin", []string{"team-admin:search", "billing"}, []want{{access.UsageRead, true, true}, {access.KeysWrite, true, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := principal(t, tt.roles...)
			for _, w := range tt.want {
				d, err := access.Decide(p, w.perm)
				if (err == nil) != w.ok {
					t.Errorf("%s: err = %v, want allowed=%v", w.perm, err, w.ok)
					continue
				}
				if err != nil && !errors.Is(err, access.ErrPermissionDenied) {
					t.Errorf("%s: err = %v, not ErrPermissionDenied", w.perm, err)
				}
				if w.ok && d.All != w.all {
					t.Errorf("%s: all = %v, want %v (teams %v)", w.perm, d.All, w.all, d.Teams)
				}
			}
		})
	}
}

func TestDecisionRoleUsedIsTheLeastPrivileged(t *testing.T) {
	t.Parallel()
	d, err := access.Decide(principal(t, "owner", "viewer"), access.UsageRead)
	if err != nil || d.Role != "viewer" {
		t.Fatalf("role = %q, %v; want viewer", d.Role, err)
	}
	d, err = access.Decide(principal(t, "team-admin:b", "team-admin:a"), access.KeysWrite)
	if err != nil || d.All || !slices.Equal(d.Teams, []string{"a", "b"}) {
		t.Fatalf("decision = %+v, %v", d, err)
	}
}

func TestParseRole(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "root", "team-admin", "team-admin:", "team-admin:Search", "admin:x", "key"} {
		if _, err := access.ParseRole(bad); err == nil {
			t.Errorf("ParseRole(%q) accepted", bad)
		}
	}
	r, err := access.ParseRole("team-admin:search")
	if err != nil || r.String() != "team-admin:search" {
		t.Fatalf("ParseRole = %v, %v", r, err)
	}
}

// lookup is an in-memory access.Lookup.
type lookup map[string]string

func (l lookup) KeyTeam(_ context.Context, id string) (string, bool, error) {
	t, ok := l["key/"+id]
	return t, ok, nil
}
func (l lookup) BudgetTeam(_ context.Context, id string) (string, bool, error) {
	t, ok := l["budget/"+id]
	return t, ok, nil
}
func (l lookup) RateLimitTeam(_ context.Context, id string) (string, bool, error) {
	t, ok := l["limit/"+id]
	return t, ok, nil
}

var _ access.Lookup = lookup(nil)

// TestTeamRules runs the team extraction of the team-scoped rules.
func TestTeamRules(t *testing.T) {
	t.Parallel()
	l := lookup{"key/key_s": "search", "key/key_b": "batch", "budget/b-s": "search", "budget/b-b": "batch", "limit/l-b": "batch"}
	tests := []struct {
		proc string
		msg  any
		want []string
	}{
		{c.TeamServiceCreateKeyProcedure, &tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{TeamId: "search"}}, []string{"search"}},
		{c.TeamServiceRevokeKeyProcedure, &tollgatev1.RevokeKeyRequest{Id: "key_b"}, []string{"batch"}},
		{c.TeamServiceRevokeKeyProcedure, &tollgatev1.RevokeKeyRequest{Id: "key_missing"}, []string{""}},
		{c.TeamServiceListKeysProcedure, &tollgatev1.ListKeysRequest{}, nil},
		{c.PolicyServiceSetBudgetProcedure, &tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{Id: "new", TeamId: "search"}}, []string{"search"}},
		// Replacing another team's budget under one's own team touches both.
		{c.PolicyServiceSetBudgetProcedure, &tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{Id: "b-b", TeamId: "search"}}, []string{"search", "batch"}},
		{c.PolicyServiceSetBudgetProcedure, &tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{Id: "k", KeyId: "key_b"}}, []string{"batch"}},
		{c.PolicyServiceDeleteBudgetProcedure, &tollgatev1.DeleteBudgetRequest{Id: "b-s"}, []string{"search"}},
		{c.PolicyServiceDeleteRateLimitProcedure, &tollgatev1.DeleteRateLimitRequest{Id: "l-b"}, []string{"batch"}},
		{c.UsageServiceGetUsageSummaryProcedure, &tollgatev1.GetUsageSummaryRequest{TeamId: "x"}, []string{"x"}},
	}
	for _, tt := range tests {
		got, err := access.Rules[tt.proc].Teams(context.Background(), l, tt.msg)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s %v: teams = %q, %v; want %q", tt.proc, tt.msg, got, err, tt.want)
		}
	}
}
