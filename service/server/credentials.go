package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tollgate-dev/tollgate/service/credref"
	"github.com/tollgate-dev/tollgate/service/rpc"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
)

// CredentialsConfig configures provider credentials by reference.
type CredentialsConfig struct {
	// Vault configures vault: references (HashiCorp Vault or OpenBao).
	VaultAddr, VaultNamespace, VaultAuth, VaultAuthMount string
	// VaultToken (token auth), VaultRoleID and VaultSecretID (AppRole),
	// VaultRole and VaultJWTFile (Kubernetes auth). Secrets: env or file only.
	VaultToken, VaultRoleID, VaultSecretID, VaultRole, VaultJWTFile string
	// AWSRegion and AWSEndpoint configure aws-sm: references (credentials
	// from the SDK's default chain).
	AWSRegion, AWSEndpoint string
	// GCPEndpoint overrides Google Secret Manager's endpoint (credentials:
	// Application Default Credentials).
	GCPEndpoint string
	// Refresh is how often references are read again; FilePoll how often
	// files are checked for changes.
	Refresh, FilePoll time.Duration
	// Getenv reads env: references (the process environment).
	Getenv func(string) string
}

func defaultCredentialsConfig() CredentialsConfig {
	return CredentialsConfig{VaultAuth: "token", Refresh: 5 * time.Minute, FilePoll: time.Second}
}

func (c *CredentialsConfig) registerFlags(e *envFlags) {
	e.str(&c.VaultAddr, "vault-addr", "TOLLGATE_VAULT_ADDR", "HashiCorp Vault or OpenBao address for vault: credential references")
	e.str(&c.VaultNamespace, "vault-namespace", "TOLLGATE_VAULT_NAMESPACE", "Vault namespace (X-Vault-Namespace)")
	e.str(&c.VaultAuth, "vault-auth", "TOLLGATE_VAULT_AUTH", "Vault auth method: token ($TOLLGATE_VAULT_TOKEN), approle ($TOLLGATE_VAULT_ROLE_ID, $TOLLGATE_VAULT_SECRET_ID) or kubernetes")
	e.str(&c.VaultAuthMount, "vault-auth-mount", "TOLLGATE_VAULT_AUTH_MOUNT", "mount of the Vault auth method (default: its name)")
	e.str(&c.VaultRole, "vault-role", "TOLLGATE_VAULT_ROLE", "Vault Kubernetes auth role")
	e.str(&c.VaultJWTFile, "vault-jwt-file", "TOLLGATE_VAULT_JWT_FILE", "service-account token file for Vault Kubernetes auth")
	e.str(&c.AWSRegion, "aws-region", "TOLLGATE_AWS_REGION", "AWS region of aws-sm: references (default: the SDK's)")
	e.str(&c.AWSEndpoint, "aws-sm-endpoint", "TOLLGATE_AWS_SM_ENDPOINT", "AWS Secrets Manager endpoint override (LocalStack, VPC endpoint)")
	e.str(&c.GCPEndpoint, "gcp-sm-endpoint", "TOLLGATE_GCP_SM_ENDPOINT", "Google Secret Manager endpoint override")
	e.duration(&c.Refresh, "credential-refresh", "TOLLGATE_CREDENTIAL_REFRESH", "how often credential references are read again")
	e.duration(&c.FilePoll, "credential-file-poll", "TOLLGATE_CREDENTIAL_FILE_POLL", "how often file: credential references are checked for changes")
}

// readSecrets reads the secret settings (env or NAME_FILE).
func (c *CredentialsConfig) readSecrets(getenv func(string) string) error {
	var errs []error
	for p, name := range map[*string]string{&c.VaultToken: "TOLLGATE_VAULT_TOKEN", &c.VaultRoleID: "TOLLGATE_VAULT_ROLE_ID",
		&c.VaultSecretID: "TOLLGATE_VAULT_SECRET_ID"} {
		v, err := secretEnv(getenv, name)
		errs = append(errs, err)
		*p = v
	}
	c.Getenv = getenv
	return errors.Join(errs...)
}

func (c *CredentialsConfig) validate() error {
	var errs []error
	switch c.VaultAuth {
	case "token", "approle", "kubernetes":
	default:
		errs = append(errs, fmt.Errorf("-vault-auth %q: want token, approle or kubernetes", c.VaultAuth))
	}
	if c.Refresh < time.Second || c.FilePoll < 10*time.Millisecond {
		errs = append(errs, errors.New("-credential-refresh must be at least 1s and -credential-file-poll at least 10ms"))
	}
	return errors.Join(errs...)
}

// newCredentials returns the credential reference manager.
func (s *Server) newCredentials() *credref.Manager {
	c := s.cfg.Credentials
	return credref.NewManager(credref.Config{
		Getenv: c.Getenv,
		Vault: credref.VaultConfig{Addr: c.VaultAddr, Namespace: c.VaultNamespace, Auth: c.VaultAuth, AuthMount: c.VaultAuthMount,
			Token: c.VaultToken, RoleID: c.VaultRoleID, SecretID: c.VaultSecretID, Role: c.VaultRole, JWTFile: c.VaultJWTFile},
		AWS:      credref.AWSConfig{Region: c.AWSRegion, Endpoint: c.AWSEndpoint},
		GCP:      credref.GCPConfig{Endpoint: c.GCPEndpoint},
		Refresh:  c.Refresh,
		FilePoll: c.FilePoll,
		Log:      s.log,
	})
}

// wireCredentials connects the manager to the registry (rebuild a provider
// whose value changed; forget removed providers) and to the alerts.
func (s *Server) wireCredentials() {
	s.creds.OnChange(func(id string) { s.registry.Rebuild(id) })
	s.creds.Sources(s.registry.CredentialRefs)
	s.creds.OnFailure(func(ctx context.Context, st credref.Status) {
		if err := s.alerts.CredentialRefreshFailed(ctx, st.ProviderID, st.Ref, st.Failures, st.Resolved, st.Err); err != nil && ctx.Err() == nil {
			s.log.Warn("credentials: alert not delivered", "provider", st.ProviderID, "err", err)
		}
	})
}

// watchSecrets follows the changes that concern every replica's secrets:
// a credential refresh asked for on another replica, a new sealing key.
func (s *Server) watchSecrets(ctx context.Context) {
	err := s.store.Watch(ctx, func(c store.Change) {
		switch c.Kind {
		case store.ChangeCredentials:
			if id, origin := rpc.CredentialsTarget(c.ID); origin != s.replica {
				s.creds.Refresh(ctx, id) // the sender refreshed its own already
			}
		case store.ChangeMasterKey:
			if err := s.sealer.SetPrimary(c.ID); err != nil {
				s.log.Error("master key: the new sealing key is not in this replica's keyring; add it (TOLLGATE_MASTER_KEY_FILE)",
					"key_id", c.ID, "keyring", s.sealer.KeyIDs(), "err", err)
			} else {
				s.log.Info("master key: sealing with a new key", "key_id", c.ID)
			}
		case store.ChangeResync:
			if err := s.loadPrimaryKey(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("master key: reading the sealing key failed", "err", err)
			}
		}
	})
	if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		s.log.Error("secrets: watch stopped", "err", err)
	}
}

// watchKeyFile re-reads TOLLGATE_MASTER_KEY_FILE when it changes, so keys
// are added to (and removed from) the keyring without a restart.
func (s *Server) watchKeyFile(ctx context.Context) {
	if s.cfg.MasterKeyFile == "" {
		return
	}
	last := sha256.Sum256([]byte(s.cfg.MasterKey))
	t := time.NewTicker(s.cfg.Credentials.FilePoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b, err := os.ReadFile(s.cfg.MasterKeyFile)
		if err != nil {
			s.log.Warn("master key: cannot read the key file; keeping the keyring", "err", err)
			continue
		}
		sum := sha256.Sum256(b)
		if bytes.Equal(sum[:], last[:]) {
			continue
		}
		last = sum
		ring, err := secrets.ParseKeyring(string(b))
		clear(b)
		if err == nil {
			err = s.sealer.SetKeys(ring)
		}
		if err != nil {
			s.log.Error("master key: the key file does not parse; keeping the keyring", "err", err)
			continue
		}
		s.log.Info("master key: keyring reloaded", "keyring", s.sealer.KeyIDs(), "primary", s.sealer.PrimaryID())
		// Providers whose credential no key opened before may open now.
		if err := s.registry.Load(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("master key: reloading the registry after the keyring change failed", "err", err)
		}
	}
}
