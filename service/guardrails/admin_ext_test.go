package guardrails_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/testutil"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/rpc"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

func openStore(t *testing.T, dsn string) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("pgstore.Open: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, func() error {
		if !cond() {
			return errors.New(what)
		}
		return nil
	})
}

// TestAdminPolicies drives the admin API against real Postgres with two
// replicas: the one serving the call applies the change before answering,
// the other from the store's notifications.
func TestAdminPolicies(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewMigratedDatabase(t)
	st1, st2 := openStore(t, dsn), openStore(t, dsn)
	e := guardrails.New()
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	reg1, reg2 := guardrails.NewRegistry(e, st1, guardrails.WithSealer(sealer)), guardrails.NewRegistry(e, st2, guardrails.WithSealer(sealer))
	if err := reg1.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		_ = st2.Watch(ctx, func(c store.Change) {
			if err := reg2.Apply(ctx, c); err != nil && ctx.Err() == nil {
				t.Errorf("replica Apply(%+v): %v", c, err)
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-watchDone })

	admin := rpc.NewAdmin(st1, sealer, reg1, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	admin.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := tollgatev1connect.NewPolicyServiceClient(srv.Client(), srv.URL)

	policy := &tollgatev1.GuardrailPolicy{
		Id: "no-secrets", Description: "block credentials", AttachKind: tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_TEAM, AttachTo: "t1",
		Guardrails: []*tollgatev1.Guardrail{
			{Name: "secrets", Kind: "secrets"},
			{Name: "pii", Kind: "pii", Mode: tollgatev1.GuardrailMode_GUARDRAIL_MODE_MUTATE, Stage: tollgatev1.GuardrailStage_GUARDRAIL_STAGE_BOTH,
				Scope: []string{"user"}, Config: mustStruct(t, map[string]any{"reversible": true})},
			{Name: "hook", Kind: "webhook", FailOpen: true, Config: mustStruct(t, map[string]any{"url": "http://127.0.0.1:9/x", "secret": "hook-secret", "timeout": "50ms"})},
		},
	}
	created, err := client.CreateGuardrailPolicy(t.Context(), connect.NewRequest(&tollgatev1.CreateGuardrailPolicyRequest{Policy: policy}))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if got := created.Msg.GetPolicy(); got.GetCreateTime() == nil || len(got.GetGuardrails()) != 3 {
		t.Fatalf("created = %v", got)
	}
	if s := created.Msg.GetPolicy().GetGuardrails()[2].GetConfig().GetFields()["secret"].GetStringValue(); s != "********" {
		t.Fatalf("webhook secret returned as %q, want it redacted", s)
	}

	// The webhook secret is stored sealed: a registry without the sealer
	// cannot compile the policy.
	if err := guardrails.NewRegistry(e, st1).Load(t.Context()); !errors.Is(err, guardrails.ErrNoSealer) || !errors.Is(err, guardrails.ErrInvalidPolicy) {
		t.Fatalf("Load without a sealer = %v, want ErrNoSealer and ErrInvalidPolicy", err)
	}

	sub := guardrails.Subject{TeamID: "t1", KeyID: "k1"}
	if reg1.Resolve(sub) == nil {
		t.Fatal("the serving replica did not apply the new policy before answering")
	}
	waitFor(t, "replica applies the new policy", func() bool { return reg2.Resolve(sub) != nil })
	if reg1.Resolve(guardrails.Subject{TeamID: "t2"}) != nil {
		t.Fatal("policy applied to another team")
	}
	_, err = e.CheckInput(t.Context(), reg2.Resolve(sub), userReq("key "+awsKey))
	mustBlock(t, err, "secrets")

	t.Run("update keeps a redacted secret", func(t *testing.T) {
		got, err := client.GetGuardrailPolicy(t.Context(), connect.NewRequest(&tollgatev1.GetGuardrailPolicyRequest{Id: "no-secrets"}))
		if err != nil {
			t.Fatal(err)
		}
		p := got.Msg.GetPolicy()
		p.Guardrails = p.Guardrails[1:] // drop the secrets guardrail, send the redacted secret back
		if _, err := client.UpdateGuardrailPolicy(t.Context(), connect.NewRequest(&tollgatev1.UpdateGuardrailPolicyRequest{Policy: p})); err != nil {
			t.Fatalf("Update: %v", err)
		}
		stored, err := st1.GetGuardrailPolicy(t.Context(), "no-secrets")
		if err != nil {
			t.Fatal(err)
		}
		spec, err := guardrails.ParseSpec(stored.Spec)
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ Secret string }
		_ = json.Unmarshal(spec.Guardrails[1].Config, &c)
		if len(spec.Guardrails) != 2 || !guardrails.IsSealed(c.Secret) || strings.Contains(string(stored.Spec), "hook-secret") {
			t.Fatalf("stored spec = %s, want the secret kept sealed", stored.Spec)
		}
		waitFor(t, "replica applies the update", func() bool {
			_, err := e.CheckInput(t.Context(), reg2.Resolve(sub), userReq("key "+awsKey))
			return err == nil
		})
	})

	t.Run("invalid policies are refused", func(t *testing.T) {
		bad := []*tollgatev1.GuardrailPolicy{
			{Id: "x", AttachKind: tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_TEAM, AttachTo: "t1", Guardrails: []*tollgatev1.Guardrail{{Name: "g", Kind: "nope"}}},
			{Id: "x", AttachTo: "t1"},
			{Id: "Bad Id", AttachKind: tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY, AttachTo: "k"},
			{Id: "x", AttachKind: tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY, AttachTo: "k",
				Guardrails: []*tollgatev1.Guardrail{{Name: "d", Kind: "denylist", Config: mustStruct(t, map[string]any{"patterns": []any{"("}})}}},
		}
		for _, p := range bad {
			_, err := client.CreateGuardrailPolicy(t.Context(), connect.NewRequest(&tollgatev1.CreateGuardrailPolicyRequest{Policy: p}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Errorf("Create(%v) = %v, want InvalidArgument", p, err)
			}
		}
		_, err := client.CreateGuardrailPolicy(t.Context(), connect.NewRequest(&tollgatev1.CreateGuardrailPolicyRequest{Policy: policy}))
		if connect.CodeOf(err) != connect.CodeAlreadyExists {
			t.Errorf("duplicate Create = %v, want AlreadyExists", err)
		}
	})

	list, err := client.ListGuardrailPolicies(t.Context(), connect.NewRequest(&tollgatev1.ListGuardrailPoliciesRequest{}))
	if err != nil || len(list.Msg.GetPolicies()) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	if _, err := client.DeleteGuardrailPolicy(t.Context(), connect.NewRequest(&tollgatev1.DeleteGuardrailPolicyRequest{Id: "no-secrets"})); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if reg1.Resolve(sub) != nil {
		t.Fatal("deleted policy still applies on the serving replica")
	}
	waitFor(t, "replica drops the deleted policy", func() bool { return reg2.Resolve(sub) == nil })
	_, err = client.GetGuardrailPolicy(t.Context(), connect.NewRequest(&tollgatev1.GetGuardrailPolicyRequest{Id: "no-secrets"}))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("Get deleted = %v, want NotFound", err)
	}
}
