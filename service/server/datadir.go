package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Files of the embedded store's data directory that hold the secrets a
// gateway started without them generates on its first start.
const (
	MasterKeyFile  = "master.key"
	AdminTokenFile = "admin.token"
)

// DefaultDataDir is the embedded store's directory when no database URL
// and no -data-dir are given.
const DefaultDataDir = "tollgate-data"

// Embedded reports whether the gateway runs on the embedded store (no
// database URL).
func (c *Config) Embedded() bool { return c.DatabaseURL == "" }

// DataDirSecrets tells where the embedded store's secrets are and which
// of them LoadDataDirSecrets generated.
type DataDirSecrets struct {
	// Dir is the data directory's absolute path.
	Dir string
	// MasterKeyFile and AdminTokenFile are the files read or written, ""
	// when the setting came from the environment.
	MasterKeyFile, AdminTokenFile string
	// NewMasterKey and NewAdminToken report what this call generated;
	// AdminToken is then the new token, to show once.
	NewMasterKey, NewAdminToken bool
	AdminToken                  string
}

// LoadDataDirSecrets fills, for the embedded store, the master key and
// the admin token that the environment does not set from the data
// directory's master.key and admin.token, generating each on first start
// (32 random bytes as hex; a 32-byte random token prefixed "tgadmin-", as
// "tga-" marks a service-account token) into a file of mode
// 0600 in a directory of mode 0700. A Postgres gateway needs both from
// the environment (every replica must share them): then it does nothing.
func (c *Config) LoadDataDirSecrets() (DataDirSecrets, error) {
	var out DataDirSecrets
	if !c.Embedded() || c.DataDir == "" {
		return out, nil
	}
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return out, fmt.Errorf("-data-dir: %w", err)
	}
	out.Dir = dir
	if c.MasterKey != "" && c.AdminToken != "" {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return out, fmt.Errorf("-data-dir: %w", err)
	}
	if c.MasterKey == "" {
		out.MasterKeyFile = filepath.Join(dir, MasterKeyFile)
		c.MasterKey, out.NewMasterKey, err = readOrCreateSecret(out.MasterKeyFile, func() (string, error) {
			b := make([]byte, 32)
			_, err := rand.Read(b)
			return hex.EncodeToString(b), err
		})
		if err != nil {
			return out, err
		}
		// The key file is a keyring file: keys added to it later are
		// picked up without a restart, as with TOLLGATE_MASTER_KEY_FILE.
		c.MasterKeyFile = out.MasterKeyFile
	}
	if c.AdminToken == "" {
		out.AdminTokenFile = filepath.Join(dir, AdminTokenFile)
		c.AdminToken, out.NewAdminToken, err = readOrCreateSecret(out.AdminTokenFile, func() (string, error) {
			b := make([]byte, 32)
			_, err := rand.Read(b)
			return "tgadmin-" + base64.RawURLEncoding.EncodeToString(b), err
		})
		if err != nil {
			return out, err
		}
		if out.NewAdminToken {
			out.AdminToken = c.AdminToken
		}
	}
	return out, nil
}

// readOrCreateSecret returns the secret in path, or creates the file (mode
// 0600) with a new secret when it does not exist. Creation is atomic (a
// complete temporary file hard-linked into place), so two processes
// starting at once agree on one secret.
func readOrCreateSecret(path string, generate func() (string, error)) (secret string, created bool, err error) {
	if s, err := readSecret(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, false, err
	}
	s, err := generate()
	if err != nil {
		return "", false, fmt.Errorf("generate %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return "", false, fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", false, fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := tmp.WriteString(s + "\n"); err != nil {
		tmp.Close()
		return "", false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return "", false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			s, err := readSecret(path)
			return s, false, err
		}
		return "", false, fmt.Errorf("create %s: %w", path, err)
	}
	return s, true, nil
}

// readSecret reads a secret file, refusing one that others may read.
func readSecret(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s: mode %v lets other users read it; chmod 600 it", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}
