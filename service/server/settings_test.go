package server

import (
	"flag"
	"testing"
)

func TestSettingsDescribeEveryFlag(t *testing.T) {
	t.Parallel()
	settings, err := Settings()
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	cfg := DefaultConfig()
	if err := cfg.RegisterFlags(fs, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	byFlag := map[string]Setting{}
	envs := map[string]bool{}
	for _, s := range settings {
		if s.Flag != "" {
			byFlag[s.Flag] = s
		}
		if envs[s.Env] {
			t.Errorf("$%s is bound twice", s.Env)
		}
		envs[s.Env] = true
		if s.Usage == "" || s.Type == "" {
			t.Errorf("%+v: want a type and a usage", s)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := byFlag[f.Name]; !ok {
			t.Errorf("flag -%s missing from Settings", f.Name)
		}
	})
	for _, want := range []struct{ flag, env, typ, def string }{
		{"addr", "TOLLGATE_LISTEN_ADDR", "string", "127.0.0.1:8080"},
		{"shutdown-timeout", "TOLLGATE_SHUTDOWN_TIMEOUT", "duration", "30s"},
		{"log-requests", "TOLLGATE_LOG_REQUESTS", "bool", "true"},
		{"max-request-bytes", "TOLLGATE_MAX_REQUEST_BYTES", "int", "8388608"},
	} {
		s := byFlag[want.flag]
		if s.Env != want.env || s.Type != want.typ || s.Default != want.def {
			t.Errorf("-%s = %+v, want env %s type %s default %s", want.flag, s, want.env, want.typ, want.def)
		}
	}
	for _, secret := range []string{"TOLLGATE_MASTER_KEY", "TOLLGATE_ADMIN_TOKEN"} {
		if !envs[secret] {
			t.Errorf("$%s missing from Settings", secret)
		}
	}
}
