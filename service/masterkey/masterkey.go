// Package masterkey rotates the master key while the gateway serves.
//
// The master key is a keyring (package secrets): every key of it opens
// what it sealed, one key seals. Rotation:
//
//  1. Add the new key to every replica's keyring (TOLLGATE_MASTER_KEY_FILE
//     is re-read when it changes; TOLLGATE_MASTER_KEY takes a rolling
//     restart). The old key stays: both open.
//  2. Rotate (the RotateMasterKey RPC, `tollgate admin rotate-master-key`):
//     the new key's id is recorded in Postgres and every replica starts
//     sealing with it (change notification), then every stored sealed
//     value is re-sealed under it, one compare-and-swap per value.
//  3. When Status shows the old key seals nothing, remove it from the
//     keyrings.
//
// Requests keep flowing throughout: a re-sealed provider credential is
// opened by its replica's registry with the new key, and a value sealed
// meanwhile by a replica that has not heard of the new primary yet is
// still opened by every key of the ring (and re-sealed by the next
// rotation call).
package masterkey

import (
	"context"
	"errors"
	"fmt"

	"github.com/tollgate-dev/tollgate/service/alerts"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
)

// ErrUnknownKey means the requested key is not in this replica's keyring.
var ErrUnknownKey = secrets.ErrUnknownKey

// Store is what the rotation reads and writes.
type Store interface {
	store.Keyring
	ListGuardrailPolicies(ctx context.Context) ([]store.GuardrailPolicy, error)
	UpdateGuardrailPolicy(ctx context.Context, p *store.GuardrailPolicy) error
}

// Rotator re-seals stored secrets under the primary key.
type Rotator struct {
	st     Store
	sealer *secrets.Sealer
}

// New returns a rotator.
func New(st Store, sealer *secrets.Sealer) *Rotator { return &Rotator{st: st, sealer: sealer} }

// contextOf returns the sealing context of a column's value.
func contextOf(v store.SealedValue) (string, error) {
	switch v.Kind {
	case "provider_credential":
		return v.ID, nil
	case "alert_webhook_url":
		return alerts.SealContext(v.ID), nil
	case "alert_webhook_secret":
		return alerts.SecretContext(v.ID), nil
	}
	return "", fmt.Errorf("masterkey: unknown sealed value kind %q", v.Kind)
}

// casRetries bounds the attempts to re-seal a value that keeps changing.
const casRetries = 5

// Rotate makes keyID (the keyring's first key when "") the sealing key on
// every replica and re-seals every stored secret under it. It returns how
// many values of each kind it re-sealed.
func (r *Rotator) Rotate(ctx context.Context, keyID string) (string, map[string]int64, error) {
	if keyID == "" {
		keyID = r.sealer.KeyIDs()[0]
	}
	if !r.sealer.HasKey(keyID) {
		return "", nil, fmt.Errorf("%w: %s (this replica has %v)", ErrUnknownKey, keyID, r.sealer.KeyIDs())
	}
	if err := r.st.SetPrimaryKeyID(ctx, keyID); err != nil {
		return "", nil, err
	}
	if err := r.sealer.SetPrimary(keyID); err != nil {
		return "", nil, err
	}
	done := map[string]int64{}
	vs, err := r.st.SealedValues(ctx)
	if err != nil {
		return keyID, done, err
	}
	var errs []error
	for _, v := range vs {
		n, err := r.resealColumn(ctx, v)
		done[v.Kind] += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	n, err := r.resealPolicies(ctx)
	done["guardrail_webhook_field"] += n // signing secrets and URLs
	errs = append(errs, err)
	return keyID, done, errors.Join(errs...)
}

// resealColumn re-seals one value, re-reading it when it changed meanwhile.
func (r *Rotator) resealColumn(ctx context.Context, v store.SealedValue) (int64, error) {
	sctx, err := contextOf(v)
	if err != nil {
		return 0, err
	}
	for range casRetries {
		out, changed, err := r.sealer.Reseal(v.Sealed, sctx)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", v.Kind, v.ID, err)
		}
		if !changed {
			return 0, nil
		}
		ok, err := r.st.ReplaceSealed(ctx, v, out)
		switch {
		case err != nil:
			return 0, err
		case ok:
			return 1, nil
		}
		// Changed meanwhile (an admin write): read it again.
		all, err := r.st.SealedValues(ctx)
		if err != nil {
			return 0, err
		}
		found := false
		for _, w := range all {
			if w.Kind == v.Kind && w.ID == v.ID {
				v, found = w, true
				break
			}
		}
		if !found {
			return 0, nil // deleted meanwhile
		}
	}
	return 0, fmt.Errorf("%s %s: kept changing while being re-sealed", v.Kind, v.ID)
}

func (r *Rotator) resealPolicies(ctx context.Context) (int64, error) {
	ps, err := r.st.ListGuardrailPolicies(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	var errs []error
	for i := range ps {
		p := &ps[i]
		spec, n, err := guardrails.ResealSpec(p.Spec, p.ID, r.sealer.Reseal)
		if err != nil {
			errs = append(errs, fmt.Errorf("guardrail policy %s: %w", p.ID, err))
			continue
		}
		if n == 0 {
			continue
		}
		p.Spec = spec
		// Conditional on the version read: a concurrent edit wins and is
		// sealed with the new key already.
		if err := r.st.UpdateGuardrailPolicy(ctx, p); err != nil && !errors.Is(err, store.ErrVersionMismatch) {
			errs = append(errs, fmt.Errorf("guardrail policy %s: %w", p.ID, err))
			continue
		}
		total += int64(n)
	}
	return total, errors.Join(errs...)
}

// Status counts the stored sealed values by the id of the key that sealed
// them (secrets.LegacyKeyID for values sealed before key ids).
func (r *Rotator) Status(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	vs, err := r.st.SealedValues(ctx)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		out[secrets.KeyIDOf(v.Sealed)]++
	}
	ps, err := r.st.ListGuardrailPolicies(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		svs, err := guardrails.SealedValues(p.Spec, p.ID)
		if err != nil {
			continue
		}
		for _, v := range svs {
			out[secrets.KeyIDOf(v.Sealed)]++
		}
	}
	return out, nil
}
