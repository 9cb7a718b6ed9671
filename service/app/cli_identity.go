package app

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

// This file holds the commands of principals and secrets: service
// accounts and their tokens, role bindings, credential references and the
// master key.

// identityCommand registers a command's flags on fs and returns its
// request builder, or nil for an unknown command.
func identityCommand(name string, fs *flag.FlagSet) func([]string) (proto.Message, error) {
	switch name {
	case "service-accounts create":
		return serviceAccountCreate(fs)
	case "service-accounts list":
		return noOperands(&tollgatev1.ListServiceAccountsRequest{})
	case "service-accounts get":
		return idOperand(fs, "ACCOUNT_ID", func(id string) proto.Message { return &tollgatev1.GetServiceAccountRequest{Id: id} })
	case "service-accounts update":
		return serviceAccountUpdate(fs)
	case "service-accounts delete":
		return deleteCommand(fs, "ACCOUNT_ID", func(id, etag string) proto.Message {
			return &tollgatev1.DeleteServiceAccountRequest{Id: id, Etag: etag}
		})
	case "service-accounts token":
		return tokenCommand(fs)
	case "role-bindings create":
		return roleBindingCreate(fs)
	case "role-bindings list":
		return noOperands(&tollgatev1.ListRoleBindingsRequest{})
	case "role-bindings delete":
		return idOperand(fs, "BINDING_ID", func(id string) proto.Message { return &tollgatev1.DeleteRoleBindingRequest{Id: id} })
	case "credentials list":
		return noOperands(&tollgatev1.ListCredentialReferencesRequest{})
	case "credentials refresh":
		req := &tollgatev1.RefreshCredentialsRequest{}
		fs.StringVar(&req.ProviderId, "provider", "", "only this provider (default every one)")
		return noOperands(req)
	case "admin master-key-status":
		return noOperands(&tollgatev1.GetMasterKeyStatusRequest{})
	case "admin rotate-master-key":
		req := &tollgatev1.RotateMasterKeyRequest{}
		fs.StringVar(&req.KeyId, "key-id", "", "the key to seal with (default the keyring's first)")
		return noOperands(req)
	}
	return nil
}

// roleList collects --role flags.
type roleList = listFlag

func serviceAccountCreate(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	a := &tollgatev1.ServiceAccount{}
	var roles roleList
	fs.Var(&roles, "role", "a role: owner, admin, team-admin:TEAM, viewer, auditor, billing (repeatable)")
	fs.StringVar(&a.Description, "description", "", "what it is for")
	fs.StringVar(&a.Owner, "owner", "", "who is responsible for it (default: you)")
	return func(ops []string) (proto.Message, error) {
		id, err := oneOperand(ops, "ACCOUNT_ID")
		if err != nil {
			return nil, err
		}
		if len(roles) == 0 {
			return nil, usageErrorf("--role is required")
		}
		a.Id, a.Roles = id, roles
		return &tollgatev1.CreateServiceAccountRequest{ServiceAccount: a}, nil
	}
}

func serviceAccountUpdate(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	var roles roleList
	var description, owner, disabled string
	fs.Var(&roles, "role", "replace the roles (repeatable)")
	fs.StringVar(&description, "description", "", "")
	fs.StringVar(&owner, "owner", "", "")
	fs.StringVar(&disabled, "disabled", "", "true to refuse its tokens, false to accept them again")
	return func(ops []string) (proto.Message, error) {
		id, err := oneOperand(ops, "ACCOUNT_ID")
		if err != nil {
			return nil, err
		}
		a := &tollgatev1.ServiceAccount{Id: id}
		var paths []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "role":
				a.Roles, paths = roles, append(paths, "roles")
			case "description":
				a.Description, paths = description, append(paths, "description")
			case "owner":
				a.Owner, paths = owner, append(paths, "owner")
			case "disabled":
				a.Disabled, paths = disabled == "true", append(paths, "disabled")
			}
		})
		if disabled != "" && disabled != "true" && disabled != "false" {
			return nil, usageErrorf("--disabled %q: want true or false", disabled)
		}
		if len(paths) == 0 {
			return nil, usageErrorf("nothing to change: give --role, --description, --owner or --disabled")
		}
		return &tollgatev1.UpdateServiceAccountRequest{ServiceAccount: a, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}}, nil
	}
}

// tokenCommand parses "service-accounts token VERB ...".
func tokenCommand(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	var name, ttl, grace string
	var all bool
	fs.StringVar(&name, "name", "", "a name for people (create)")
	fs.StringVar(&ttl, "ttl", "", "lifetime, e.g. 30d (create, rotate; default 90d, or the old token's)")
	fs.StringVar(&grace, "grace", "", "how long the old token still works (rotate; default 0)")
	fs.BoolVar(&all, "all", false, "revoked and expired tokens too (list)")
	return func(ops []string) (proto.Message, error) {
		if len(ops) != 2 {
			return nil, usageErrorf("want service-accounts token create|list ACCOUNT_ID or rotate|revoke TOKEN_ID")
		}
		dur := func(flagName, v string) (*durationpb.Duration, error) {
			if v == "" {
				return nil, nil
			}
			d, err := parseDays(v)
			if err != nil || d < 0 {
				return nil, usageErrorf("--%s %q: want a duration such as 30d or 12h", flagName, v)
			}
			return durationpb.New(d), nil
		}
		life, err := dur("ttl", ttl)
		if err != nil {
			return nil, err
		}
		switch verb, id := ops[0], ops[1]; verb {
		case "create":
			return &tollgatev1.CreateServiceAccountTokenRequest{ServiceAccountId: id, Name: name, Ttl: life}, nil
		case "list":
			return &tollgatev1.ListServiceAccountTokensRequest{ServiceAccountId: id, IncludeInactive: all}, nil
		case "rotate":
			g, err := dur("grace", grace)
			if err != nil {
				return nil, err
			}
			return &tollgatev1.RotateServiceAccountTokenRequest{Id: id, Grace: g, Ttl: life}, nil
		case "revoke":
			return &tollgatev1.RevokeServiceAccountTokenRequest{Id: id}, nil
		default:
			return nil, usageErrorf("unknown token verb %q: want create, list, rotate or revoke", verb)
		}
	}
}

func roleBindingCreate(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	var user, email, group, role string
	fs.StringVar(&user, "user", "", "the person's subject (the identity provider's sub)")
	fs.StringVar(&email, "email", "", "the person's verified e-mail address")
	fs.StringVar(&group, "group", "", "a group of the identity provider's groups claim")
	fs.StringVar(&role, "role", "", "the role (required)")
	return func(ops []string) (proto.Message, error) {
		if len(ops) != 0 {
			return nil, usageErrorf("unexpected arguments %q", ops)
		}
		b := &tollgatev1.RoleBinding{Role: role}
		n := 0
		for v, k := range map[string]tollgatev1.RoleBindingSubjectKind{
			user: tollgatev1.RoleBindingSubjectKind_ROLE_BINDING_SUBJECT_KIND_USER, email: tollgatev1.RoleBindingSubjectKind_ROLE_BINDING_SUBJECT_KIND_EMAIL,
			group: tollgatev1.RoleBindingSubjectKind_ROLE_BINDING_SUBJECT_KIND_GROUP,
		} {
			if v != "" {
				b.Subject, b.SubjectKind = v, k
				n++
			}
		}
		if n != 1 || role == "" {
			return nil, usageErrorf("give exactly one of --user, --email and --group, and --role")
		}
		return &tollgatev1.CreateRoleBindingRequest{RoleBinding: b}, nil
	}
}

// executeIdentity sends the requests of identityCommand.
func executeIdentity(ctx context.Context, c *tollgate.Client, req proto.Message) (proto.Message, error) {
	a := c.Admin
	switch r := req.(type) {
	case *tollgatev1.CreateServiceAccountRequest:
		return msg(a.CreateServiceAccount(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListServiceAccountsRequest:
		return msg(a.ListServiceAccounts(ctx, connect.NewRequest(r)))
	case *tollgatev1.GetServiceAccountRequest:
		return msg(a.GetServiceAccount(ctx, connect.NewRequest(r)))
	case *tollgatev1.UpdateServiceAccountRequest:
		return msg(a.UpdateServiceAccount(ctx, connect.NewRequest(r)))
	case *tollgatev1.DeleteServiceAccountRequest:
		return msg(a.DeleteServiceAccount(ctx, connect.NewRequest(r)))
	case *tollgatev1.CreateServiceAccountTokenRequest:
		return msg(a.CreateServiceAccountToken(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListServiceAccountTokensRequest:
		return msg(a.ListServiceAccountTokens(ctx, connect.NewRequest(r)))
	case *tollgatev1.RotateServiceAccountTokenRequest:
		return msg(a.RotateServiceAccountToken(ctx, connect.NewRequest(r)))
	case *tollgatev1.RevokeServiceAccountTokenRequest:
		return msg(a.RevokeServiceAccountToken(ctx, connect.NewRequest(r)))
	case *tollgatev1.CreateRoleBindingRequest:
		return msg(a.CreateRoleBinding(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListRoleBindingsRequest:
		return msg(a.ListRoleBindings(ctx, connect.NewRequest(r)))
	case *tollgatev1.DeleteRoleBindingRequest:
		return msg(a.DeleteRoleBinding(ctx, connect.NewRequest(r)))
	case *tollgatev1.ListCredentialReferencesRequest:
		return msg(a.ListCredentialReferences(ctx, connect.NewRequest(r)))
	case *tollgatev1.RefreshCredentialsRequest:
		return msg(a.RefreshCredentials(ctx, connect.NewRequest(r)))
	case *tollgatev1.GetMasterKeyStatusRequest:
		return msg(a.GetMasterKeyStatus(ctx, connect.NewRequest(r)))
	case *tollgatev1.RotateMasterKeyRequest:
		return msg(a.RotateMasterKey(ctx, connect.NewRequest(r)))
	}
	if m, ok, err := executePolicy(ctx, c, req); ok {
		return m, err
	}
	return nil, fmt.Errorf("no RPC for %T", req)
}

// identityTable prints the responses of identityCommand's requests and
// reports whether it knew resp.
func identityTable(row func(...string), resp proto.Message) bool {
	switch r := resp.(type) {
	case *tollgatev1.CreateServiceAccountResponse:
		accountRows(row, r.GetServiceAccount())
	case *tollgatev1.GetServiceAccountResponse:
		accountRows(row, r.GetServiceAccount())
	case *tollgatev1.UpdateServiceAccountResponse:
		accountRows(row, r.GetServiceAccount())
	case *tollgatev1.ListServiceAccountsResponse:
		accountRows(row, r.GetServiceAccounts()...)
	case *tollgatev1.CreateServiceAccountTokenResponse:
		tokenRows(row, r.GetToken())
		row("")
		row("SECRET", r.GetSecret())
		row("(shown once: store it now)")
	case *tollgatev1.RotateServiceAccountTokenResponse:
		tokenRows(row, r.GetToken())
		row("")
		row("SECRET", r.GetSecret())
		row("(shown once: store it now)")
	case *tollgatev1.ListServiceAccountTokensResponse:
		tokenRows(row, r.GetTokens()...)
	case *tollgatev1.RevokeServiceAccountTokenResponse:
		tokenRows(row, r.GetToken())
	case *tollgatev1.CreateRoleBindingResponse:
		bindingRows(row, r.GetRoleBinding())
	case *tollgatev1.ListRoleBindingsResponse:
		bindingRows(row, r.GetRoleBindings()...)
	case *tollgatev1.ListCredentialReferencesResponse:
		referenceRows(row, r.GetReferences()...)
	case *tollgatev1.RefreshCredentialsResponse:
		referenceRows(row, r.GetReferences()...)
	case *tollgatev1.GetMasterKeyStatusResponse:
		row("KEY ID", "PRIMARY", "SEALED VALUES")
		for _, id := range r.GetKeyIds() {
			row(id, yesNo(id == r.GetPrimaryKeyId()), fmt.Sprint(r.GetSealedByKey()[id]))
		}
		for id, n := range r.GetSealedByKey() {
			if !slices.Contains(r.GetKeyIds(), id) {
				row(id, "not in the keyring", fmt.Sprint(n))
			}
		}
	case *tollgatev1.RotateMasterKeyResponse:
		row("SEALING KEY", r.GetKeyId())
		for kind, n := range r.GetResealed() {
			row("RE-SEALED "+strings.ToUpper(strings.ReplaceAll(kind, "_", " ")), fmt.Sprint(n))
		}
	case *tollgatev1.DeleteServiceAccountResponse, *tollgatev1.DeleteRoleBindingResponse:
		row("deleted")
	default:
		return false
	}
	return true
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func accountRows(row func(...string), as ...*tollgatev1.ServiceAccount) {
	row("ID", "ROLES", "OWNER", "DISABLED", "CREATED BY", "ETAG")
	for _, a := range as {
		row(a.GetId(), strings.Join(a.GetRoles(), ","), dash(a.GetOwner()), yesNo(a.GetDisabled()), dash(a.GetCreatedBy()), a.GetEtag())
	}
}

func tokenRows(row func(...string), ts ...*tollgatev1.ServiceAccountToken) {
	row("ID", "ACCOUNT", "NAME", "PREFIX", "EXPIRES", "LAST USED", "REVOKED")
	for _, t := range ts {
		row(t.GetId(), t.GetServiceAccountId(), dash(t.GetName()), t.GetSecretPrefix(), formatTime(t.GetExpireTime()),
			formatTime(t.GetLastUseTime()), formatTime(t.GetRevokeTime()))
	}
}

func bindingRows(row func(...string), bs ...*tollgatev1.RoleBinding) {
	row("ID", "KIND", "SUBJECT", "ROLE", "CREATED BY")
	for _, b := range bs {
		kind := strings.ToLower(strings.TrimPrefix(b.GetSubjectKind().String(), "ROLE_BINDING_SUBJECT_KIND_"))
		row(b.GetId(), kind, b.GetSubject(), b.GetRole(), dash(b.GetCreatedBy()))
	}
}

func referenceRows(row func(...string), rs ...*tollgatev1.CredentialReference) {
	row("PROVIDER", "REFERENCE", "RESOLVED", "READ", "CHANGED", "FAILURES", "ERROR")
	for _, r := range rs {
		row(r.GetProviderId(), r.GetRef(), yesNo(r.GetResolved()), formatTime(r.GetRefreshTime()), formatTime(r.GetChangeTime()),
			fmt.Sprint(r.GetFailures()), dash(r.GetError()))
	}
}
