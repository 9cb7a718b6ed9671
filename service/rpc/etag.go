package rpc

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Etags (AIP-154) are the store's versions (see store.Versions) in base
// 36: they change on every write, never repeat, and read the same on
// every replica because the version is kept in Postgres.

// etag returns the etag of a stored version.
func etag(version int64) string {
	if version <= 0 {
		return ""
	}
	return strconv.FormatInt(version, 36)
}

// ifVersion parses a request's etag into the version a conditional write
// needs: 0 (unconditional) for "", an InvalidArgument naming param for
// anything that is not an etag.
func ifVersion(param, tag string) (int64, error) {
	if tag == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(tag, 36, 64)
	if err != nil || v <= 0 {
		return 0, badParam(param, "is not an etag returned by this API")
	}
	return v, nil
}

// checkVersion fails with store.ErrVersionMismatch when the caller's etag
// (want, 0 for none) is not the current version of the named entity.
func checkVersion(entity string, want, current int64) error {
	if want != 0 && want != current {
		return fmt.Errorf("%s: %w", entity, store.ErrVersionMismatch)
	}
	return nil
}

// maxUpdateAttempts bounds the read-modify-write loop of an update that
// came without an etag and lost a race with another writer.
const maxUpdateAttempts = 3

// readModifyWrite runs one read-modify-write of an update whose write is
// conditional on the version it read. When the caller gave no etag
// (callerVersion 0) and another writer got in between, it runs again on
// the new version; with an etag, the mismatch is the caller's answer.
func readModifyWrite(callerVersion int64, attempt func() error) error {
	var err error
	for range maxUpdateAttempts {
		if err = attempt(); callerVersion != 0 || !errors.Is(err, store.ErrVersionMismatch) {
			return err
		}
	}
	return err
}
