package registry_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/testutil"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/factory"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func sealer(t *testing.T, b byte) *secrets.Sealer {
	s, err := secrets.NewSealer(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := pgstore.Open(ctx, pgtest.NewMigratedDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seal := sealer(t, 1)
	cred, _ := seal.Seal([]byte("sk-registry-secret"), "p1")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateProvider(ctx, &store.Provider{ID: "p1", Type: "openai", BaseURL: "http://127.0.0.1:1/v1", SealedCredential: cred}))
	must(st.CreateModel(ctx, &store.Model{Name: "m1", ProviderID: "p1"}))
	must(st.CreateTeam(ctx, &store.Team{ID: "t1"}))
	sec, _ := keys.Generate()
	must(st.CreateKey(ctx, &store.Key{ID: "k1", TeamID: "t1", AllowedModels: []string{"m1"}, SecretHash: sec.Hash[:], SecretPrefix: sec.Display}))

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	var built []providers.Config
	build := func(cfg providers.Config) (providers.Provider, error) {
		built = append(built, cfg)
		return factory.New(cfg)
	}
	r := registry.New(st, seal, build, log)
	must(r.Load(ctx))
	if !r.Loaded() {
		t.Fatal("not loaded")
	}
	m, ok := r.Model("m1")
	if !ok || m.Provider == nil || m.UpstreamModel != "m1" {
		t.Fatalf("model = %+v, %v", m, ok)
	}
	if len(built) != 1 || built[0].APIKey != "sk-registry-secret" {
		t.Fatalf("provider not built with the decrypted credential")
	}
	km, ok := r.LookupSecret(sec.Plain)
	if !ok || km.Key.ID != "k1" || km.Previous || !km.Key.Allows("m1") || km.Key.Allows("m2") {
		t.Fatalf("lookup = %+v, %v", km, ok)
	}
	if _, ok := r.LookupSecret(sec.Plain + "x"); ok {
		t.Fatal("wrong secret matched")
	}

	// Rotation keeps the old secret findable as Previous.
	sec2, _ := keys.Generate()
	now := time.Now()
	_, err = st.RotateKey(ctx, "k1", sec2.Hash[:], sec2.Display, now, now.Add(time.Hour))
	must(err)
	must(r.Apply(ctx, store.Change{Kind: store.ChangeKey, ID: "k1"}))
	if km, ok := r.LookupSecret(sec.Plain); !ok || !km.Previous {
		t.Fatalf("old secret after rotation: %+v %v", km, ok)
	}
	if km, ok := r.LookupSecret(sec2.Plain); !ok || km.Previous {
		t.Fatalf("new secret after rotation: %+v %v", km, ok)
	}

	// Revocation is visible after Apply.
	_, err = st.RevokeKey(ctx, "k1", now)
	must(err)
	must(r.Apply(ctx, store.Change{Kind: store.ChangeKey, ID: "k1"}))
	if km, _ := r.LookupSecret(sec2.Plain); km.Key == nil || km.Key.RevokedAt.IsZero() {
		t.Fatal("revocation not applied")
	}

	// Changes that other packages follow are no error here: an error
	// makes the server's sync reload everything.
	for _, kind := range []store.ChangeKind{store.ChangeBudget, store.ChangeRateLimit, store.ChangeServiceAccount,
		store.ChangeServiceAccountToken, store.ChangeRoleBinding, store.ChangeCredentials, store.ChangeMasterKey,
		store.ChangeGuardrailPolicy} {
		if err := r.Apply(ctx, store.Change{Kind: kind, ID: "x1"}); err != nil {
			t.Errorf("Apply(%s) = %v, want nil", kind, err)
		}
	}
	if err := r.Apply(ctx, store.Change{Kind: "no_such_kind", ID: "x1"}); err == nil {
		t.Error("Apply of an unknown kind = nil, want an error")
	}

	// Deleting a model removes it.
	must(st.DeleteModel(ctx, "m1", 0))
	must(r.Apply(ctx, store.Change{Kind: store.ChangeModel, ID: "m1"}))
	if _, ok := r.Model("m1"); ok {
		t.Fatal("deleted model still present")
	}

	// A registry with the wrong master key disables the provider and says so, without the secret.
	must(st.CreateModel(ctx, &store.Model{Name: "m1", ProviderID: "p1"}))
	var logs2 bytes.Buffer
	r2 := registry.New(st, sealer(t, 2), factory.New, slog.New(slog.NewJSONHandler(&logs2, nil)))
	must(r2.Load(ctx))
	if m, _ := r2.Model("m1"); m == nil || m.Provider != nil {
		t.Fatalf("provider with undecryptable credential should be disabled: %+v", m)
	}
	if !strings.Contains(logs2.String(), "cannot decrypt") || strings.Contains(logs2.String()+logs.String(), "sk-registry-secret") {
		t.Fatalf("logs: %s", logs2.String())
	}
}

func TestRunFollowsNotifications(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn := pgtest.NewMigratedDatabase(t)
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other, err := pgstore.Open(ctx, dsn) // another replica's writes
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	r := registry.New(st, sealer(t, 1), factory.New, nil)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	if err := other.CreateTeam(ctx, &store.Team{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	sec, _ := keys.Generate()
	if err := other.CreateKey(ctx, &store.Key{ID: "k1", TeamID: "t1", SecretHash: sec.Hash[:], SecretPrefix: sec.Display}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, func() error {
		if _, ok := r.LookupSecret(sec.Plain); !ok {
			return errors.New("key created on another replica not seen")
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
