package rpc

import (
	"context"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/store"
)

// This file serves TeamService: teams and their virtual keys.

func teamToProto(t *store.Team) *tollgatev1.Team {
	return &tollgatev1.Team{Id: t.ID, DisplayName: t.DisplayName, Labels: t.Labels, CreateTime: timeToProto(t.CreatedAt), Etag: etag(t.Version)}
}

// CreateTeam implements TeamService.CreateTeam.
func (a *Admin) CreateTeam(ctx context.Context, req *connect.Request[tollgatev1.CreateTeamRequest]) (*connect.Response[tollgatev1.CreateTeamResponse], error) {
	in := req.Msg.GetTeam()
	if err := checkSlug("team.id", in.GetId()); err != nil {
		return nil, a.fail(ctx, err)
	}
	t := &store.Team{ID: in.GetId(), DisplayName: in.GetDisplayName(), Labels: in.GetLabels()}
	if err := a.store.CreateTeam(ctx, t); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeTeam, t.ID)
	return connect.NewResponse(&tollgatev1.CreateTeamResponse{Team: teamToProto(t)}), nil
}

// GetTeam implements TeamService.GetTeam.
func (a *Admin) GetTeam(ctx context.Context, req *connect.Request[tollgatev1.GetTeamRequest]) (*connect.Response[tollgatev1.GetTeamResponse], error) {
	t, err := a.store.GetTeam(ctx, req.Msg.GetId())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&tollgatev1.GetTeamResponse{Team: teamToProto(t)}), nil
}

// ListTeams implements TeamService.ListTeams.
func (a *Admin) ListTeams(ctx context.Context, req *connect.Request[tollgatev1.ListTeamsRequest]) (*connect.Response[tollgatev1.ListTeamsResponse], error) {
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	ts, next, err := a.store.PageTeams(ctx, page)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	ts = narrow(ctx, ts, func(t store.Team) string { return t.ID })
	out := &tollgatev1.ListTeamsResponse{Teams: make([]*tollgatev1.Team, len(ts)), NextPageToken: nextPageToken(req.Msg, next)}
	for i := range ts {
		out.Teams[i] = teamToProto(&ts[i])
	}
	return connect.NewResponse(out), nil
}

// DeleteTeam implements TeamService.DeleteTeam.
func (a *Admin) DeleteTeam(ctx context.Context, req *connect.Request[tollgatev1.DeleteTeamRequest]) (*connect.Response[tollgatev1.DeleteTeamResponse], error) {
	v, err := ifVersion("etag", req.Msg.GetEtag())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if err := a.store.DeleteTeam(ctx, req.Msg.GetId(), v); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeTeam, req.Msg.GetId())
	return connect.NewResponse(&tollgatev1.DeleteTeamResponse{}), nil
}

func (a *Admin) keyToProto(k *store.Key) *tollgatev1.VirtualKey {
	state := tollgatev1.KeyState_KEY_STATE_ACTIVE
	switch {
	case !k.RevokedAt.IsZero():
		state = tollgatev1.KeyState_KEY_STATE_REVOKED
	case !k.ExpiresAt.IsZero() && !a.now().Before(k.ExpiresAt):
		state = tollgatev1.KeyState_KEY_STATE_EXPIRED
	}
	return &tollgatev1.VirtualKey{
		Id: k.ID, Name: k.Name, TeamId: k.TeamID, ServiceId: k.ServiceID, AllowedModels: k.AllowedModels,
		ExpireTime: timeToProto(k.ExpiresAt), Tags: k.Tags, SecretPrefix: k.SecretPrefix, State: state,
		CreateTime: timeToProto(k.CreatedAt), RevokeTime: timeToProto(k.RevokedAt), RotateTime: timeToProto(k.RotatedAt),
		Cache: keyCacheToProto(k.CachePolicy), DropParams: k.DropParams, Etag: etag(k.Version), CreatedBy: k.CreatedBy,
	}
}

// CreateKey implements TeamService.CreateKey.
func (a *Admin) CreateKey(ctx context.Context, req *connect.Request[tollgatev1.CreateKeyRequest]) (*connect.Response[tollgatev1.CreateKeyResponse], error) {
	in := req.Msg.GetKey()
	if in.GetTeamId() == "" {
		return nil, a.fail(ctx, badParam("key.team_id", "is required"))
	}
	if s := in.GetServiceId(); s != "" {
		if err := checkSlug("key.service_id", s); err != nil {
			return nil, a.fail(ctx, err)
		}
	}
	var expires time.Time
	if in.GetExpireTime() != nil {
		if err := in.GetExpireTime().CheckValid(); err != nil {
			return nil, a.fail(ctx, badParam("key.expire_time", err.Error()))
		}
		expires = in.GetExpireTime().AsTime()
		if !expires.After(a.now()) {
			return nil, a.fail(ctx, badParam("key.expire_time", "must be in the future"))
		}
	}
	cachePolicy, err := keyCacheFromProto(in.GetCache())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	secret, err := keys.Generate()
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	id, err := keys.NewID()
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	k := &store.Key{
		ID: id, Name: in.GetName(), TeamID: in.GetTeamId(), ServiceID: in.GetServiceId(),
		AllowedModels: in.GetAllowedModels(), Tags: in.GetTags(), ExpiresAt: expires,
		SecretHash: secret.Hash[:], SecretPrefix: secret.Display, CachePolicy: cachePolicy,
		DropParams: in.GetDropParams(),
		CreatedBy:  access.CreatorID(ctx),
	}
	if err := a.store.CreateKey(ctx, k); err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeKey, k.ID)
	return connect.NewResponse(&tollgatev1.CreateKeyResponse{Key: a.keyToProto(k), Secret: secret.Plain}), nil
}

// GetKey implements TeamService.GetKey.
func (a *Admin) GetKey(ctx context.Context, req *connect.Request[tollgatev1.GetKeyRequest]) (*connect.Response[tollgatev1.GetKeyResponse], error) {
	k, err := a.store.GetKey(ctx, req.Msg.GetId())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out := a.keyToProto(k)
	a.withLastUsed(ctx, out)
	return connect.NewResponse(&tollgatev1.GetKeyResponse{Key: out}), nil
}

// ListKeys implements TeamService.ListKeys.
func (a *Admin) ListKeys(ctx context.Context, req *connect.Request[tollgatev1.ListKeysRequest]) (*connect.Response[tollgatev1.ListKeysResponse], error) {
	page, err := readPage(req.Msg)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	team := req.Msg.GetTeamId()
	if teams, all := access.TeamScope(ctx); !all && team == "" && len(teams) == 1 {
		team = teams[0] // a team-admin of one team lists its keys
	}
	ks, next, err := a.store.ListKeys(ctx, store.KeyFilter{
		TeamID: team, IncludeRevoked: req.Msg.GetIncludeRevoked(), Limit: page.Size, After: page.After,
	})
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	ks = narrow(ctx, ks, func(k store.Key) string { return k.TeamID })
	out := &tollgatev1.ListKeysResponse{Keys: make([]*tollgatev1.VirtualKey, len(ks)), NextPageToken: nextPageToken(req.Msg, next)}
	for i := range ks {
		out.Keys[i] = a.keyToProto(&ks[i])
	}
	a.withLastUsed(ctx, out.Keys...)
	return connect.NewResponse(out), nil
}

// RevokeKey implements TeamService.RevokeKey.
func (a *Admin) RevokeKey(ctx context.Context, req *connect.Request[tollgatev1.RevokeKeyRequest]) (*connect.Response[tollgatev1.RevokeKeyResponse], error) {
	k, err := a.store.RevokeKey(ctx, req.Msg.GetId(), a.now())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeKey, k.ID)
	return connect.NewResponse(&tollgatev1.RevokeKeyResponse{Key: a.keyToProto(k)}), nil
}

// RotateKey implements TeamService.RotateKey.
func (a *Admin) RotateKey(ctx context.Context, req *connect.Request[tollgatev1.RotateKeyRequest]) (*connect.Response[tollgatev1.RotateKeyResponse], error) {
	var grace time.Duration
	if g := req.Msg.GetGracePeriod(); g != nil {
		if err := g.CheckValid(); err != nil || g.AsDuration() < 0 {
			return nil, a.fail(ctx, badParam("grace_period", "must be a non-negative duration"))
		}
		grace = g.AsDuration()
		if grace > 30*24*time.Hour {
			return nil, a.fail(ctx, badParam("grace_period", "must be at most 30 days"))
		}
	}
	secret, err := keys.Generate()
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	now := a.now()
	k, err := a.store.RotateKey(ctx, req.Msg.GetId(), secret.Hash[:], secret.Display, now, now.Add(grace))
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	a.apply(ctx, store.ChangeKey, k.ID)
	return connect.NewResponse(&tollgatev1.RotateKeyResponse{Key: a.keyToProto(k), Secret: secret.Plain}), nil
}
