package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/tollgate-dev/tollgate/service/secrets"
)

// loadPrimaryKey makes the sealer seal with the key the last master-key
// rotation chose, when this replica's keyring holds it.
func (s *Server) loadPrimaryKey(ctx context.Context) error {
	id, err := s.pg.PrimaryKeyID(ctx)
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	if id == "" {
		return nil
	}
	if err := s.sealer.SetPrimary(id); err != nil {
		if errors.Is(err, secrets.ErrUnknownKey) {
			s.log.Error("master key: the sealing key chosen by the last rotation is not in this replica's keyring; sealing with the first key",
				"key_id", id, "keyring", s.sealer.KeyIDs())
			return nil
		}
		return err
	}
	return nil
}
