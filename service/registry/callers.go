package registry

import "github.com/tollgate-dev/tollgate/service/store"

// NewCallerKey returns the key a caller authenticated by a JWT of a
// trusted issuer uses for one request: its team, service, allowed models
// and tags as the issuer's rule says, and its subject as the end user. It
// is not stored; budgets and limits of its team and service apply as to a
// virtual key.
func NewCallerKey(k store.Key, subject string) *Key {
	out := newKey(&k)
	out.Subject = subject
	return out
}
