package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// CredentialSource resolves provider credentials given by reference
// (package credref): from memory, or read now the first time.
type CredentialSource interface {
	Credential(ctx context.Context, providerID, ref string) (string, error)
}

// SetCredentials lets providers give their credential by reference. Call
// it before Load.
func (r *Registry) SetCredentials(c CredentialSource) { r.creds = c }

// credentialTimeout bounds reading a reference while building a provider.
const credentialTimeout = 15 * time.Second

// credential returns a provider's credential: its reference's value, or
// its sealed credential opened.
func (r *Registry) credential(p store.Provider) (string, error) {
	switch {
	case p.CredentialRef != "":
		if r.creds == nil {
			return "", errors.New("credentials by reference are not enabled on this gateway")
		}
		ctx, cancel := context.WithTimeout(context.Background(), credentialTimeout)
		defer cancel()
		return r.creds.Credential(ctx, p.ID, p.CredentialRef)
	case len(p.SealedCredential) > 0:
		pt, err := r.sealer.Open(p.SealedCredential, p.ID)
		if err != nil {
			return "", fmt.Errorf("cannot decrypt the sealed credential: %w", err)
		}
		return string(pt), nil
	}
	return "", nil
}

// setProvider replaces (nil: removes) a provider's entry and re-points the
// models it serves at the new adapter.
func (s *snapshot) setProvider(id string, entry *providerEntry) {
	s.providers = maps.Clone(s.providers)
	if entry == nil {
		delete(s.providers, id)
	} else {
		s.providers[id] = entry
	}
	s.models = maps.Clone(s.models)
	for name, m := range s.models {
		if m.ProviderID == id {
			s.models[name] = s.resolve(m.Model)
		}
	}
	s.compile()
}

// Rebuild builds a provider's adapter again from the configuration in
// memory, when its credential changed (a reference's new value, a
// re-sealed credential) without a change to the stored provider.
func (r *Registry) Rebuild(id string) bool {
	e, ok := r.snap.Load().providers[id]
	if !ok {
		return false
	}
	built := r.buildProvider(e.cfg)
	r.update(func(s *snapshot) {
		if cur, ok := s.providers[id]; ok && cur.cfg.Version == e.cfg.Version {
			s.setProvider(id, built) // unless the provider changed meanwhile
		}
	})
	return true
}

// CredentialRefs returns each provider's credential reference, for the
// providers that have one.
func (r *Registry) CredentialRefs() map[string]string {
	out := map[string]string{}
	for id, e := range r.snap.Load().providers {
		if e.cfg.CredentialRef != "" {
			out[id] = e.cfg.CredentialRef
		}
	}
	return out
}
