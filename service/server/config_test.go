package server

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/semcache"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"TOLLGATE_DATABASE_URL": "postgres://x", "TOLLGATE_MASTER_KEY": strings.Repeat("ab", 32),
		"TOLLGATE_ADMIN_TOKEN": "admin-token-0123456789",
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if c.Addr != "127.0.0.1:8080" || c.Retention != 90*24*time.Hour || !c.LogRequests {
				t.Fatalf("defaults: %+v", c)
			}
		}},
		{name: "env", env: map[string]string{"TOLLGATE_LISTEN_ADDR": ":9000", "TOLLGATE_SHUTDOWN_TIMEOUT": "5s", "TOLLGATE_LOG_REQUESTS": "false"},
			check: func(t *testing.T, c Config) {
				if c.Addr != ":9000" || c.ShutdownTimeout != 5*time.Second || c.LogRequests {
					t.Fatalf("env not applied: %+v", c)
				}
			}},
		{name: "flags win over env", env: map[string]string{"TOLLGATE_LISTEN_ADDR": ":9000"}, args: []string{"-addr", ":9001"},
			check: func(t *testing.T, c Config) {
				if c.Addr != ":9001" {
					t.Fatalf("addr = %s", c.Addr)
				}
			}},
		{name: "deprecated TOLLGATE_ADDR still listens, with a warning", env: map[string]string{"TOLLGATE_ADDR": ":9002"},
			check: func(t *testing.T, c Config) {
				if c.Addr != ":9002" || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "TOLLGATE_LISTEN_ADDR") {
					t.Fatalf("addr = %s, warnings %q", c.Addr, c.Warnings)
				}
			}},
		{name: "TOLLGATE_LISTEN_ADDR wins over the old name", env: map[string]string{"TOLLGATE_ADDR": ":9002", "TOLLGATE_LISTEN_ADDR": ":9003"},
			check: func(t *testing.T, c Config) {
				if c.Addr != ":9003" || len(c.Warnings) != 0 {
					t.Fatalf("addr = %s, warnings %q", c.Addr, c.Warnings)
				}
			}},
		{name: "DATABASE_URL fallback", env: map[string]string{"TOLLGATE_DATABASE_URL": "", "DATABASE_URL": "postgres://y"},
			check: func(t *testing.T, c Config) {
				if c.DatabaseURL != "postgres://y" {
					t.Fatalf("db = %s", c.DatabaseURL)
				}
			}},
		{name: "missing master key", env: map[string]string{"TOLLGATE_MASTER_KEY": ""}, wantErr: "TOLLGATE_MASTER_KEY is required"},
		{name: "short admin token", env: map[string]string{"TOLLGATE_ADMIN_TOKEN": "short"}, wantErr: "at least 16"},
		{name: "bad duration", env: map[string]string{"TOLLGATE_SHUTDOWN_TIMEOUT": "soon"}, wantErr: "TOLLGATE_SHUTDOWN_TIMEOUT"},
		{name: "tls half", args: []string{"-tls-cert", "c.pem"}, wantErr: "go together"},
		{name: "retention too short", args: []string{"-retention", "1h"}, wantErr: "retention"},
		{name: "bad log level", args: []string{"-log-level", "loud"}, wantErr: "log-level"},
		{name: "cache off by default", check: func(t *testing.T, c Config) {
			if c.Cache.Mode != "off" || c.Cache.Namespace != "team" || c.Cache.engineConfig().Policy.Mode != semcache.ModeOff {
				t.Fatalf("cache defaults: %+v", c.Cache)
			}
		}},
		{name: "cache env", env: map[string]string{"TOLLGATE_CACHE_MODE": "semantic", "TOLLGATE_CACHE_TTL": "10m",
			"TOLLGATE_CACHE_EMBEDDING_MODEL": "text-embedding-3-small", "TOLLGATE_CACHE_EMBEDDING_DIMS": "1536"},
			args: []string{"-cache-threshold", "0.9", "-cache-namespace", "shared:faq"},
			check: func(t *testing.T, c Config) {
				p := c.Cache.engineConfig()
				if p.Policy.Mode != semcache.ModeSemantic || p.Policy.TTL != 10*time.Minute || p.Policy.Threshold != 0.9 ||
					p.Scope != "shared:faq" || p.EmbeddingModel != "text-embedding-3-small" || c.Cache.EmbeddingDims != 1536 {
					t.Fatalf("cache settings not applied: %+v", p)
				}
			}},
		{name: "cache bad mode", env: map[string]string{"TOLLGATE_CACHE_MODE": "fuzzy"}, wantErr: "-cache-mode"},
		{name: "cache bad threshold", args: []string{"-cache-threshold", "2"}, wantErr: "-cache-threshold"},
		{name: "cache bad namespace", args: []string{"-cache-namespace", "org"}, wantErr: "-cache-namespace"},
		{name: "cache embedding model without dims", args: []string{"-cache-embedding-model", "e"}, wantErr: "-cache-embedding-dims"},
		{name: "cache bad dims env", env: map[string]string{"TOLLGATE_CACHE_EMBEDDING_DIMS": "many"}, wantErr: "TOLLGATE_CACHE_EMBEDDING_DIMS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			c := DefaultConfig()
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			err := c.RegisterFlags(fs, func(k string) string { return env[k] })
			if err == nil {
				err = fs.Parse(tt.args)
			}
			if err == nil {
				err = c.Validate()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(c.String(), env["TOLLGATE_MASTER_KEY"]) || strings.Contains(c.String(), env["TOLLGATE_ADMIN_TOKEN"]) {
				t.Fatal("String() shows a secret")
			}
			tt.check(t, c)
		})
	}
}
