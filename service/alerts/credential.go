package alerts

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CredentialRefreshFailed alerts that a provider's credential reference
// could not be refreshed, at most once per provider and hour across
// replicas. The message names the reference and the error, never a value.
func (m *Monitor) CredentialRefreshFailed(ctx context.Context, providerID, ref string, failures int, hasValue bool, cause string) error {
	hour := m.now().UTC().Truncate(time.Hour)
	subject := "credential:" + providerID
	ok, err := m.st.ClaimAlert(ctx, subject, hour, 0)
	if err != nil || !ok {
		return err
	}
	state := "The last good value stays in use."
	if !hasValue {
		state = "The provider has no value yet and cannot serve."
	}
	a := alert{kind: KindCredentialRefresh, subject: subject, period: hour,
		msg: newMessage(fmt.Sprintf("Credential of provider %s could not be refreshed", providerID),
			fmt.Sprintf("Reference %s failed %d time(s) in a row: %s. %s", ref, failures, cause, state))}
	if err := m.deliver(ctx, a); err != nil {
		return errors.Join(err, m.st.ReleaseAlert(ctx, subject, hour, 0))
	}
	return nil
}
