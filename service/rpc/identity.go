package rpc

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/identity"
	"github.com/tollgate-dev/tollgate/service/store"
)

// LoginConfig is what GetLoginConfig tells clients.
type LoginConfig struct {
	Issuer, CLIClientID string
	Scopes              []string
}

// Identity serves tollgate.v1.IdentityService: service accounts, their
// tokens, role bindings, and who the caller is.
type Identity struct {
	store   store.Principals
	applier Applier
	log     *slog.Logger
	now     func() time.Time
	login   LoginConfig
}

var _ tollgatev1connect.IdentityServiceHandler = (*Identity)(nil)

// Token lifetimes.
const (
	defaultTokenTTL = 90 * 24 * time.Hour
	maxTokenTTL     = 400 * 24 * time.Hour
	maxTokenGrace   = 7 * 24 * time.Hour
)

// NewIdentity returns the identity handler; applier makes changes visible
// on this replica before the call returns (the identity directory).
func NewIdentity(st store.Principals, applier Applier, login LoginConfig, log *slog.Logger) *Identity {
	return &Identity{store: st, applier: applier, log: log, now: time.Now, login: login}
}

// Mount registers the service on mux with opts (the guard and audit interceptors).
func (s *Identity) Mount(mux *http.ServeMux, opts ...connect.HandlerOption) {
	mux.Handle(tollgatev1connect.NewIdentityServiceHandler(s, opts...))
}

func (s *Identity) fail(ctx context.Context, err error) error { return toConnectError(ctx, s.log, err) }

func (s *Identity) apply(ctx context.Context, kind store.ChangeKind, id string) {
	if err := s.applier.Apply(ctx, store.Change{Kind: kind, ID: id}); err != nil {
		s.log.WarnContext(ctx, "identity: change stored but not yet applied locally; it will arrive by notification", "kind", kind, "id", id, "err", err)
	}
}

var principalTypes = map[access.Type]tollgatev1.PrincipalType{
	access.TypeAdminToken:     tollgatev1.PrincipalType_PRINCIPAL_TYPE_ADMIN_TOKEN,
	access.TypeUser:           tollgatev1.PrincipalType_PRINCIPAL_TYPE_USER,
	access.TypeServiceAccount: tollgatev1.PrincipalType_PRINCIPAL_TYPE_SERVICE_ACCOUNT,
	access.TypeVirtualKey:     tollgatev1.PrincipalType_PRINCIPAL_TYPE_VIRTUAL_KEY,
	access.TypeSystem:         tollgatev1.PrincipalType_PRINCIPAL_TYPE_SYSTEM,
}

// GetCaller implements IdentityService.GetCaller.
func (s *Identity) GetCaller(ctx context.Context, _ *connect.Request[tollgatev1.GetCallerRequest]) (*connect.Response[tollgatev1.GetCallerResponse], error) {
	p, ok := access.FromContext(ctx)
	if !ok {
		return nil, s.fail(ctx, access.ErrUnauthenticated)
	}
	return connect.NewResponse(&tollgatev1.GetCallerResponse{Principal: &tollgatev1.Principal{
		Type: principalTypes[p.Type], Subject: p.Subject, Issuer: p.Issuer, Name: p.Name, Email: p.Email, TokenId: p.TokenID,
		Roles: access.RoleStrings(p.Roles), Groups: p.Groups, Id: p.ID(),
	}}), nil
}

// GetLoginConfig implements IdentityService.GetLoginConfig.
func (s *Identity) GetLoginConfig(context.Context, *connect.Request[tollgatev1.GetLoginConfigRequest]) (*connect.Response[tollgatev1.GetLoginConfigResponse], error) {
	return connect.NewResponse(&tollgatev1.GetLoginConfigResponse{Issuer: s.login.Issuer, CliClientId: s.login.CLIClientID, Scopes: s.login.Scopes}), nil
}

func serviceAccountToProto(a *store.ServiceAccount) *tollgatev1.ServiceAccount {
	return &tollgatev1.ServiceAccount{Id: a.ID, Description: a.Description, Owner: a.Owner, Roles: a.Roles, Disabled: a.Disabled,
		CreatedBy: a.CreatedBy, CreateTime: timeToProto(a.CreatedAt), UpdateTime: timeToProto(a.UpdatedAt), Etag: etag(a.Version)}
}

// checkRoles validates role names (param names the field).
func checkRoles(param string, roles []string) ([]string, error) {
	rs, err := access.ParseRoles(roles)
	if err != nil {
		return nil, badParam(param, err.Error())
	}
	return access.RoleStrings(rs), nil
}

// CreateServiceAccount implements IdentityService.CreateServiceAccount.
func (s *Identity) CreateServiceAccount(ctx context.Context, req *connect.Request[tollgatev1.CreateServiceAccountRequest]) (*connect.Response[tollgatev1.CreateServiceAccountResponse], error) {
	in := req.Msg.GetServiceAccount()
	if err := checkSlug("service_account.id", in.GetId()); err != nil {
		return nil, s.fail(ctx, err)
	}
	roles, err := checkRoles("service_account.roles", in.GetRoles())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	creator := access.CreatorID(ctx)
	owner := in.GetOwner()
	if owner == "" {
		owner = creator
		if p, ok := access.FromContext(ctx); ok && p.Email != "" {
			owner = p.Email
		}
	}
	a := &store.ServiceAccount{ID: in.GetId(), Description: in.GetDescription(), Owner: owner, Roles: roles, Disabled: in.GetDisabled(), CreatedBy: creator}
	if err := s.store.CreateServiceAccount(ctx, a); err != nil {
		return nil, s.fail(ctx, err)
	}
	s.apply(ctx, store.ChangeServiceAccount, a.ID)
	return connect.NewResponse(&tollgatev1.CreateServiceAccountResponse{ServiceAccount: serviceAccountToProto(a)}), nil
}

// GetServiceAccount implements IdentityService.GetServiceAccount.
func (s *Identity) GetServiceAccount(ctx context.Context, req *connect.Request[tollgatev1.GetServiceAccountRequest]) (*connect.Response[tollgatev1.GetServiceAccountResponse], error) {
	a, err := s.store.GetServiceAccount(ctx, req.Msg.GetId())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.GetServiceAccountResponse{ServiceAccount: serviceAccountToProto(a)}), nil
}

// ListServiceAccounts implements IdentityService.ListServiceAccounts.
func (s *Identity) ListServiceAccounts(ctx context.Context, req *connect.Request[tollgatev1.ListServiceAccountsRequest]) (*connect.Response[tollgatev1.ListServiceAccountsResponse], error) {
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	as, next, err := s.store.PageServiceAccounts(ctx, page)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &tollgatev1.ListServiceAccountsResponse{ServiceAccounts: make([]*tollgatev1.ServiceAccount, len(as)), NextPageToken: nextPageToken(req.Msg, next)}
	for i := range as {
		out.ServiceAccounts[i] = serviceAccountToProto(&as[i])
	}
	return connect.NewResponse(out), nil
}

// serviceAccountFixed are the ServiceAccount fields no update may set.
var serviceAccountFixed = []string{"id", "created_by", "create_time", "update_time", "etag"}

// UpdateServiceAccount implements IdentityService.UpdateServiceAccount.
func (s *Identity) UpdateServiceAccount(ctx context.Context, req *connect.Request[tollgatev1.UpdateServiceAccountRequest]) (*connect.Response[tollgatev1.UpdateServiceAccountResponse], error) {
	in := req.Msg.GetServiceAccount()
	want, err := ifVersion("service_account.etag", in.GetEtag())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	paths, err := updateMask(req.Msg.GetUpdateMask(), in.ProtoReflect().Descriptor(), serviceAccountFixed...)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	var a store.ServiceAccount
	err = readModifyWrite(want, func() error {
		cur, err := s.store.GetServiceAccount(ctx, in.GetId())
		if err != nil {
			return err
		}
		if err := checkVersion("service account "+quote(cur.ID), want, cur.Version); err != nil {
			return err
		}
		merged := serviceAccountToProto(cur)
		applyMask(merged, in, paths)
		roles, err := checkRoles("service_account.roles", merged.GetRoles())
		if err != nil {
			return err
		}
		a = *cur
		a.Description, a.Owner, a.Roles, a.Disabled = merged.GetDescription(), merged.GetOwner(), roles, merged.GetDisabled()
		return s.store.UpdateServiceAccount(ctx, &a)
	})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.apply(ctx, store.ChangeServiceAccount, a.ID)
	return connect.NewResponse(&tollgatev1.UpdateServiceAccountResponse{ServiceAccount: serviceAccountToProto(&a)}), nil
}

// DeleteServiceAccount implements IdentityService.DeleteServiceAccount.
func (s *Identity) DeleteServiceAccount(ctx context.Context, req *connect.Request[tollgatev1.DeleteServiceAccountRequest]) (*connect.Response[tollgatev1.DeleteServiceAccountResponse], error) {
	v, err := ifVersion("etag", req.Msg.GetEtag())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := s.store.DeleteServiceAccount(ctx, req.Msg.GetId(), v); err != nil {
		return nil, s.fail(ctx, err)
	}
	s.apply(ctx, store.ChangeServiceAccount, req.Msg.GetId())
	return connect.NewResponse(&tollgatev1.DeleteServiceAccountResponse{}), nil
}

func tokenToProto(t *store.ServiceAccountToken) *tollgatev1.ServiceAccountToken {
	return &tollgatev1.ServiceAccountToken{Id: t.ID, ServiceAccountId: t.ServiceAccountID, Name: t.Name, SecretPrefix: t.SecretPrefix,
		ExpireTime: timeToProto(t.ExpiresAt), CreateTime: timeToProto(t.CreatedAt), RevokeTime: timeToProto(t.RevokedAt),
		LastUseTime: timeToProto(t.LastUsedAt), RotatedFrom: t.RotatedFrom, CreatedBy: t.CreatedBy}
}

// ttl validates a token lifetime; def when unset.
func ttl(param string, d *durationpb.Duration, def time.Duration) (time.Duration, error) {
	if d == nil {
		return def, nil
	}
	v := d.AsDuration()
	if v <= 0 || v > maxTokenTTL {
		return 0, badParam(param, "must be positive and at most 400 days")
	}
	return v, nil
}

func (s *Identity) newToken(ctx context.Context, accountID, name string, lifetime time.Duration) (*store.ServiceAccountToken, identity.Secret, error) {
	secret, err := identity.NewSecret()
	if err != nil {
		return nil, secret, err
	}
	id, err := identity.NewID("sat")
	if err != nil {
		return nil, secret, err
	}
	return &store.ServiceAccountToken{ID: id, ServiceAccountID: accountID, Name: name, SecretHash: secret.Hash[:],
		SecretPrefix: secret.Prefix, ExpiresAt: s.now().Add(lifetime).UTC(), CreatedBy: access.CreatorID(ctx)}, secret, nil
}

// CreateServiceAccountToken implements IdentityService.CreateServiceAccountToken.
func (s *Identity) CreateServiceAccountToken(ctx context.Context, req *connect.Request[tollgatev1.CreateServiceAccountTokenRequest]) (*connect.Response[tollgatev1.CreateServiceAccountTokenResponse], error) {
	m := req.Msg
	if m.GetServiceAccountId() == "" {
		return nil, s.fail(ctx, badParam("service_account_id", "is required"))
	}
	lifetime, err := ttl("ttl", m.GetTtl(), defaultTokenTTL)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	t, secret, err := s.newToken(ctx, m.GetServiceAccountId(), m.GetName(), lifetime)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := s.store.CreateServiceAccountToken(ctx, t); err != nil {
		return nil, s.fail(ctx, err)
	}
	s.apply(ctx, store.ChangeServiceAccountToken, t.ID)
	return connect.NewResponse(&tollgatev1.CreateServiceAccountTokenResponse{Token: tokenToProto(t), Secret: secret.Plain}), nil
}

// ListServiceAccountTokens implements IdentityService.ListServiceAccountTokens.
func (s *Identity) ListServiceAccountTokens(ctx context.Context, req *connect.Request[tollgatev1.ListServiceAccountTokensRequest]) (*connect.Response[tollgatev1.ListServiceAccountTokensResponse], error) {
	if _, err := s.store.GetServiceAccount(ctx, req.Msg.GetServiceAccountId()); err != nil {
		return nil, s.fail(ctx, err)
	}
	ts, err := s.store.ListServiceAccountTokens(ctx, req.Msg.GetServiceAccountId())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &tollgatev1.ListServiceAccountTokensResponse{}
	now := s.now()
	for i := range ts {
		if !req.Msg.GetIncludeInactive() && (!ts[i].RevokedAt.IsZero() || !now.Before(ts[i].ExpiresAt)) {
			continue
		}
		out.Tokens = append(out.Tokens, tokenToProto(&ts[i]))
	}
	return connect.NewResponse(out), nil
}

// RotateServiceAccountToken implements IdentityService.RotateServiceAccountToken.
func (s *Identity) RotateServiceAccountToken(ctx context.Context, req *connect.Request[tollgatev1.RotateServiceAccountTokenRequest]) (*connect.Response[tollgatev1.RotateServiceAccountTokenResponse], error) {
	m := req.Msg
	old, err := s.store.GetServiceAccountToken(ctx, m.GetId())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	now := s.now()
	if !old.RevokedAt.IsZero() || !now.Before(old.ExpiresAt) {
		return nil, s.fail(ctx, badParam("id", "the token is revoked or expired; issue a new one"))
	}
	var grace time.Duration
	if m.GetGrace() != nil {
		if grace = m.GetGrace().AsDuration(); grace < 0 || grace > maxTokenGrace {
			return nil, s.fail(ctx, badParam("grace", "must be between 0 and 7 days"))
		}
	}
	lifetime, err := ttl("ttl", m.GetTtl(), old.ExpiresAt.Sub(old.CreatedAt))
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	t, secret, err := s.newToken(ctx, old.ServiceAccountID, old.Name, lifetime)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	t.RotatedFrom = old.ID
	if err := s.store.RotateServiceAccountToken(ctx, t, now.Add(grace)); err != nil {
		return nil, s.fail(ctx, err)
	}
	s.apply(ctx, store.ChangeServiceAccountToken, t.ID)
	return connect.NewResponse(&tollgatev1.RotateServiceAccountTokenResponse{Token: tokenToProto(t), Secret: secret.Plain}), nil
}

// RevokeServiceAccountToken implements IdentityService.RevokeServiceAccountToken.
func (s *Identity) RevokeServiceAccountToken(ctx context.Context, req *connect.Request[tollgatev1.RevokeServiceAccountTokenRequest]) (*connect.Response[tollgatev1.RevokeServiceAccountTokenResponse], error) {
	t, err := s.store.RevokeServiceAccountToken(ctx, req.Msg.GetId(), s.now())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.apply(ctx, store.ChangeServiceAccountToken, t.ID)
	return connect.NewResponse(&tollgatev1.RevokeServiceAccountTokenResponse{Token: tokenToProto(t)}), nil
}

var subjectKinds = map[tollgatev1.RoleBindingSubjectKind]string{
	tollgatev1.RoleBindingSubjectKind_ROLE_BINDING_SUBJECT_KIND_USER:  "user",
	tollgatev1.RoleBindingSubjectKind_ROLE_BINDING_SUBJECT_KIND_EMAIL: "email",
	tollgatev1.RoleBindingSubjectKind_ROLE_BINDING_SUBJECT_KIND_GROUP: "group",
}

func roleBindingToProto(b *store.RoleBinding) *tollgatev1.RoleBinding {
	return &tollgatev1.RoleBinding{Id: b.ID, SubjectKind: enumOf(subjectKinds, b.SubjectKind), Subject: b.Subject, Role: b.Role,
		CreatedBy: b.CreatedBy, CreateTime: timeToProto(b.CreatedAt)}
}

// CreateRoleBinding implements IdentityService.CreateRoleBinding.
func (s *Identity) CreateRoleBinding(ctx context.Context, req *connect.Request[tollgatev1.CreateRoleBindingRequest]) (*connect.Response[tollgatev1.CreateRoleBindingResponse], error) {
	in := req.Msg.GetRoleBinding()
	kind, ok := subjectKinds[in.GetSubjectKind()]
	if !ok {
		return nil, s.fail(ctx, badParam("role_binding.subject_kind", "must be USER, EMAIL or GROUP"))
	}
	subject := strings.TrimSpace(in.GetSubject())
	if subject == "" {
		return nil, s.fail(ctx, badParam("role_binding.subject", "is required"))
	}
	if kind == "email" {
		subject = strings.ToLower(subject)
	}
	r, err := access.ParseRole(in.GetRole())
	if err != nil {
		return nil, s.fail(ctx, badParam("role_binding.role", err.Error()))
	}
	id, err := identity.NewID("rb")
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	b := &store.RoleBinding{ID: id, SubjectKind: kind, Subject: subject, Role: r.String(), CreatedBy: access.CreatorID(ctx)}
	if err := s.store.CreateRoleBinding(ctx, b); err != nil {
		return nil, s.fail(ctx, err)
	}
	s.apply(ctx, store.ChangeRoleBinding, b.ID)
	return connect.NewResponse(&tollgatev1.CreateRoleBindingResponse{RoleBinding: roleBindingToProto(b)}), nil
}

// ListRoleBindings implements IdentityService.ListRoleBindings.
func (s *Identity) ListRoleBindings(ctx context.Context, req *connect.Request[tollgatev1.ListRoleBindingsRequest]) (*connect.Response[tollgatev1.ListRoleBindingsResponse], error) {
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	bs, next, err := s.store.PageRoleBindings(ctx, page)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &tollgatev1.ListRoleBindingsResponse{RoleBindings: make([]*tollgatev1.RoleBinding, len(bs)), NextPageToken: nextPageToken(req.Msg, next)}
	for i := range bs {
		out.RoleBindings[i] = roleBindingToProto(&bs[i])
	}
	return connect.NewResponse(out), nil
}

// DeleteRoleBinding implements IdentityService.DeleteRoleBinding.
func (s *Identity) DeleteRoleBinding(ctx context.Context, req *connect.Request[tollgatev1.DeleteRoleBindingRequest]) (*connect.Response[tollgatev1.DeleteRoleBindingResponse], error) {
	if err := s.store.DeleteRoleBinding(ctx, req.Msg.GetId()); err != nil {
		return nil, s.fail(ctx, err)
	}
	s.apply(ctx, store.ChangeRoleBinding, req.Msg.GetId())
	return connect.NewResponse(&tollgatev1.DeleteRoleBindingResponse{}), nil
}
