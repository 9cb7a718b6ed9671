package rpc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/service/credref"
	"github.com/tollgate-dev/tollgate/service/masterkey"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
)

// CredentialRefs is the part of credref.Manager the API uses.
type CredentialRefs interface {
	Refresh(ctx context.Context, providerID string) []credref.Status
	Status() []credref.Status
}

// Credentials serves tollgate.v1.CredentialService: credential references
// and the master key. It never returns a secret value.
type Credentials struct {
	refs    CredentialRefs
	keyring store.Keyring
	rotator *masterkey.Rotator
	sealer  *secrets.Sealer
	log     *slog.Logger
	// origin names this replica in refresh notifications, so it does not
	// refresh twice.
	origin string
}

var _ tollgatev1connect.CredentialServiceHandler = (*Credentials)(nil)

// NewCredentials returns the handler. origin names this replica in the
// refresh notifications it sends (see CredentialsTarget).
func NewCredentials(refs CredentialRefs, keyring store.Keyring, rotator *masterkey.Rotator, sealer *secrets.Sealer, origin string, log *slog.Logger) *Credentials {
	return &Credentials{refs: refs, keyring: keyring, rotator: rotator, sealer: sealer, origin: origin, log: log}
}

// CredentialsTarget parses the id of a ChangeCredentials notification:
// the provider ("" for all) and the replica that sent it.
func CredentialsTarget(id string) (provider, origin string) {
	provider, origin, _ = strings.Cut(id, "@")
	if provider == "*" {
		provider = ""
	}
	return provider, origin
}

// Mount registers the service on mux with opts (the guard and audit interceptors).
func (c *Credentials) Mount(mux *http.ServeMux, opts ...connect.HandlerOption) {
	mux.Handle(tollgatev1connect.NewCredentialServiceHandler(c, opts...))
}

func referencesToProto(ss []credref.Status, provider string) []*tollgatev1.CredentialReference {
	var out []*tollgatev1.CredentialReference
	for _, s := range ss {
		if provider != "" && s.ProviderID != provider {
			continue
		}
		out = append(out, &tollgatev1.CredentialReference{ProviderId: s.ProviderID, Ref: s.Ref, Resolved: s.Resolved,
			RefreshTime: timeToProto(s.ReadAt), ChangeTime: timeToProto(s.ChangedAt), Error: s.Err, Failures: int32(s.Failures)})
	}
	return out
}

// RefreshCredentials implements CredentialService.RefreshCredentials.
func (c *Credentials) RefreshCredentials(ctx context.Context, req *connect.Request[tollgatev1.RefreshCredentialsRequest]) (*connect.Response[tollgatev1.RefreshCredentialsResponse], error) {
	id := req.Msg.GetProviderId()
	ss := c.refs.Refresh(ctx, id)
	target := id
	if target == "" {
		target = "*"
	}
	if err := c.keyring.NotifyCredentials(ctx, target+"@"+c.origin); err != nil {
		c.log.WarnContext(ctx, "credentials: refreshed here but could not ask the other replicas", "err", err)
	}
	out := referencesToProto(ss, id)
	if id != "" && len(out) == 0 {
		return nil, toConnectError(ctx, c.log, badParam("provider_id", "no provider of that id has a credential reference"))
	}
	return connect.NewResponse(&tollgatev1.RefreshCredentialsResponse{References: out}), nil
}

// ListCredentialReferences implements CredentialService.ListCredentialReferences.
func (c *Credentials) ListCredentialReferences(ctx context.Context, _ *connect.Request[tollgatev1.ListCredentialReferencesRequest]) (*connect.Response[tollgatev1.ListCredentialReferencesResponse], error) {
	return connect.NewResponse(&tollgatev1.ListCredentialReferencesResponse{References: referencesToProto(c.refs.Status(), "")}), nil
}

// RotateMasterKey implements CredentialService.RotateMasterKey.
func (c *Credentials) RotateMasterKey(ctx context.Context, req *connect.Request[tollgatev1.RotateMasterKeyRequest]) (*connect.Response[tollgatev1.RotateMasterKeyResponse], error) {
	id, done, err := c.rotator.Rotate(ctx, req.Msg.GetKeyId())
	if errors.Is(err, masterkey.ErrUnknownKey) {
		return nil, toConnectError(ctx, c.log, badParam("key_id", err.Error()+"; add the key to every replica's keyring first"))
	}
	if err != nil {
		return nil, toConnectError(ctx, c.log, err)
	}
	c.log.InfoContext(ctx, "master key rotated", "key_id", id, "resealed", done)
	return connect.NewResponse(&tollgatev1.RotateMasterKeyResponse{KeyId: id, Resealed: done}), nil
}

// GetMasterKeyStatus implements CredentialService.GetMasterKeyStatus.
func (c *Credentials) GetMasterKeyStatus(ctx context.Context, _ *connect.Request[tollgatev1.GetMasterKeyStatusRequest]) (*connect.Response[tollgatev1.GetMasterKeyStatusResponse], error) {
	counts, err := c.rotator.Status(ctx)
	if err != nil {
		return nil, toConnectError(ctx, c.log, err)
	}
	ids := c.sealer.KeyIDs()
	primary := c.sealer.PrimaryID()
	ordered := []string{primary}
	for _, k := range ids {
		if k != primary {
			ordered = append(ordered, k)
		}
	}
	return connect.NewResponse(&tollgatev1.GetMasterKeyStatusResponse{PrimaryKeyId: primary, KeyIds: ordered, SealedByKey: counts}), nil
}
