// Package cliconfig keeps the tollgate CLI's contexts and login tokens
// under ~/.config/tollgate (or $TOLLGATE_CONFIG_DIR, or
// $XDG_CONFIG_HOME/tollgate):
//
//	config.yaml          the contexts (gateway URL, how to log in) and the current one
//	tokens/CONTEXT.json  a context's login tokens (mode 0600), never in config.yaml
//
// A context is like a kubectl context: a named gateway with its
// credentials, so one CLI can manage several gateways.
package cliconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/google/renameio/v2"
	"sigs.k8s.io/yaml"
)

// Config is config.yaml.
type Config struct {
	// CurrentContext names the context commands use by default.
	CurrentContext string `json:"current-context,omitempty"`
	// Contexts are the known gateways.
	Contexts []Context `json:"contexts,omitempty"`
}

// Context is a gateway and how to authenticate to it.
type Context struct {
	Name string `json:"name"`
	// Server is the gateway's base URL.
	Server string `json:"server"`
	// OIDC says how `tollgate login` logged in (nil: not logged in).
	OIDC *OIDC `json:"oidc,omitempty"`
	// TokenEnv names an environment variable that holds the context's
	// admin credential (e.g. in CI); the credential itself is never in
	// config.yaml (a static one is in tokens/CONTEXT.json, see StaticToken).
	TokenEnv string `json:"token-env,omitempty"`
}

// StaticTokenType is the TokenType of a credential given to `tollgate
// context add` (an admin or service-account token), not of a login.
const StaticTokenType = "static"

// OIDC is a context's single sign-on: the issuer and the public client.
type OIDC struct {
	Issuer   string   `json:"issuer"`
	ClientID string   `json:"client-id"`
	Scopes   []string `json:"scopes,omitempty"`
}

// Token is a context's login tokens.
type Token struct {
	IDToken      string    `json:"id_token,omitempty"`
	AccessToken  string    `json:"access_token,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// Dir returns the configuration directory.
func Dir(getenv func(string) string) (string, error) {
	if d := getenv("TOLLGATE_CONFIG_DIR"); d != "" {
		return d, nil
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "tollgate"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("cliconfig: no home directory: %w", err)
		}
	}
	return filepath.Join(home, ".config", "tollgate"), nil
}

// Load reads config.yaml; a missing file is an empty configuration.
func Load(dir string) (*Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cliconfig: %w", err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, fmt.Errorf("cliconfig: %s: %w", filepath.Join(dir, "config.yaml"), err)
	}
	return &c, nil
}

// Save writes config.yaml.
func (c *Config) Save(dir string) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("cliconfig: %w", err)
	}
	return writeFile(filepath.Join(dir, "config.yaml"), b, 0o600)
}

// Get returns the named context ("" for the current one).
func (c *Config) Get(name string) (*Context, bool) {
	if name == "" {
		name = c.CurrentContext
	}
	i := slices.IndexFunc(c.Contexts, func(x Context) bool { return x.Name == name })
	if i < 0 {
		return nil, false
	}
	return &c.Contexts[i], true
}

// Put adds or replaces a context.
func (c *Config) Put(ctx Context) {
	if cur, ok := c.Get(ctx.Name); ok {
		*cur = ctx
		return
	}
	c.Contexts = append(c.Contexts, ctx)
}

// Remove deletes a context (and forgets it as the current one).
func (c *Config) Remove(name string) {
	c.Contexts = slices.DeleteFunc(c.Contexts, func(x Context) bool { return x.Name == name })
	if c.CurrentContext == name {
		c.CurrentContext = ""
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidName reports whether a context name is usable as a file name.
func ValidName(name string) bool { return nameRE.MatchString(name) }

func tokenPath(dir, context string) string { return filepath.Join(dir, "tokens", context+".json") }

// LoadToken reads a context's tokens; nil without an error when there are none.
func LoadToken(dir, context string) (*Token, error) {
	b, err := os.ReadFile(tokenPath(dir, context))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cliconfig: %w", err)
	}
	var t Token
	if err := yaml.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("cliconfig: tokens of %s: %w", context, err)
	}
	return &t, nil
}

// SaveToken writes a context's tokens, readable by the user only.
func SaveToken(dir, context string, t *Token) error {
	b, err := yaml.Marshal(t)
	if err != nil {
		return fmt.Errorf("cliconfig: %w", err)
	}
	return writeFile(tokenPath(dir, context), b, 0o600)
}

// DeleteToken forgets a context's tokens.
func DeleteToken(dir, context string) error {
	if err := os.Remove(tokenPath(dir, context)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cliconfig: %w", err)
	}
	return nil
}

// writeFile replaces path atomically with mode perm (directories 0700).
func writeFile(path string, b []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("cliconfig: %w", err)
	}
	if err := renameio.WriteFile(path, b, perm); err != nil {
		return fmt.Errorf("cliconfig: %w", err)
	}
	return nil
}
