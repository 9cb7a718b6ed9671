package identity_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/structpb"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/secrets"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestMasterKeyRotationUnderLoad rotates the master key online while
// requests flow to three providers with sealed credentials: the new key is
// added to the keyring file, RotateMasterKey re-seals every stored secret
// (provider credentials, an alert webhook's URL and signing secret, a
// guardrail webhook secret),
// the old key is removed from the file; no request fails, every provider
// works afterwards, and a fresh replica holding only the new key serves
// all of them.
func TestMasterKeyRotationUnderLoad(t *testing.T) {
	t.Parallel()
	oldKey, newKey := strings.Repeat("1a", 32), strings.Repeat("2b", 32)
	oldID, newID := keyID(t, oldKey), keyID(t, newKey)
	keyFile := filepath.Join(t.TempDir(), "master-keys")
	writeKeys := func(keys ...string) {
		tmp := keyFile + ".tmp"
		if err := os.WriteFile(tmp, []byte("# tollgate master keyring\n"+strings.Join(keys, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, keyFile); err != nil {
			t.Fatal(err)
		}
	}
	writeKeys(oldKey)
	g := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		useMasterKeyFile(t, c, keyFile)
		c.Credentials.FilePoll = 50 * time.Millisecond
	}})
	ctx := context.Background()

	createTeam(t, g.Admin, "load")
	secret := createKey(t, g.Admin, "load").GetSecret()
	client := tollgate.NewClient(g.URL, secret)
	var models []string
	for i := range 3 {
		cred := fmt.Sprintf("sk-sealed-%d-9f8e7d", i)
		_, upURL := fakeupstream.StartOpenAI(t, fakeupstream.WithAPIKey(cred))
		id := fmt.Sprintf("sealed-%d", i)
		must[*connect.Response[tollgatev1.CreateProviderResponse]](t, "provider")(g.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
			Provider: &tollgatev1.Provider{Id: id, Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, BaseUrl: upURL}, Credential: cred})))
		must[*connect.Response[tollgatev1.CreateModelResponse]](t, "model")(g.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
			Name: "m-" + id, ProviderId: id, UpstreamModel: "gpt-4o-mini", Pricing: &tollgatev1.ModelPricing{InputPerMillion: &money.Money{CurrencyCode: "USD", Nanos: 1}}}})))
		models = append(models, "m-"+id)
	}
	must[*connect.Response[tollgatev1.CreateAlertWebhookResponse]](t, "webhook")(g.Admin.CreateAlertWebhook(ctx, connect.NewRequest(&tollgatev1.CreateAlertWebhookRequest{
		Webhook: &tollgatev1.AlertWebhook{Id: "ops", Url: "https://hooks.example/T0/B0/sealed-url-token"}})))
	cfg, _ := structpb.NewStruct(map[string]any{"url": "http://127.0.0.1:1/verdict", "secret": "whsec-sealed-guardrail"})
	must[*connect.Response[tollgatev1.CreateGuardrailPolicyResponse]](t, "guardrail policy")(g.Admin.CreateGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.CreateGuardrailPolicyRequest{
		Policy: &tollgatev1.GuardrailPolicy{Id: "hooked", AttachKind: tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_TEAM, AttachTo: "nobody",
			Guardrails: []*tollgatev1.Guardrail{{Name: "hook", Kind: "webhook", FailOpen: true, Config: cfg}}}})))

	status := func() *tollgatev1.GetMasterKeyStatusResponse {
		return must[*connect.Response[tollgatev1.GetMasterKeyStatusResponse]](t, "status")(g.Admin.GetMasterKeyStatus(ctx, connect.NewRequest(&tollgatev1.GetMasterKeyStatusRequest{}))).Msg
	}
	if s := status(); s.GetPrimaryKeyId() != oldID || s.GetSealedByKey()[oldID] != 7 {
		t.Fatalf("status before = %v", s)
	}

	// Load: workers call every provider until told to stop.
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := client.Chat(ctx, models[i%len(models)], "rotate me"); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok.Add(1)
				}
			}
		})
	}
	waitRequests := func(n int64) {
		start := ok.Load()
		eventually(t, 30*time.Second, "requests flowing", func() error {
			if ok.Load()-start < n {
				return errNotYet
			}
			return nil
		})
	}
	waitRequests(20)

	// 1. Both keys in the keyring.
	writeKeys(newKey, oldKey)
	eventually(t, 10*time.Second, "keyring reloaded", func() error {
		if !slices.Contains(status().GetKeyIds(), newID) {
			return errNotYet
		}
		return nil
	})
	waitRequests(20)
	// 2. Rotate: seal with the new key, re-seal everything.
	rot := must[*connect.Response[tollgatev1.RotateMasterKeyResponse]](t, "rotate")(g.Admin.RotateMasterKey(ctx, connect.NewRequest(&tollgatev1.RotateMasterKeyRequest{KeyId: newID}))).Msg
	if rot.GetKeyId() != newID || rot.GetResealed()["provider_credential"] != 3 || rot.GetResealed()["alert_webhook_url"] != 1 || rot.GetResealed()["alert_webhook_secret"] != 1 ||
		rot.GetResealed()["guardrail_webhook_field"] != 2 {
		t.Fatalf("rotation = %v", rot)
	}
	if s := status(); s.GetPrimaryKeyId() != newID || s.GetSealedByKey()[newID] != 7 || s.GetSealedByKey()[oldID] != 0 {
		t.Fatalf("status after rotation = %v", s)
	}
	waitRequests(20)
	// 3. Drop the old key.
	writeKeys(newKey)
	eventually(t, 10*time.Second, "old key dropped", func() error {
		if slices.Contains(status().GetKeyIds(), oldID) {
			return errNotYet
		}
		return nil
	})
	waitRequests(40)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during the rotation; first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	t.Logf("requests during the rotation: %d, failed: 0", ok.Load())
	for _, m := range models {
		if _, err := client.Chat(ctx, m, "after"); err != nil {
			t.Fatalf("%s after the rotation: %v", m, err)
		}
	}
	// A new unknown key is refused for rotation.
	_, err := g.Admin.RotateMasterKey(ctx, connect.NewRequest(&tollgatev1.RotateMasterKeyRequest{KeyId: oldID}))
	wantCode(t, "rotate to a key not in the keyring", err, connect.CodeInvalidArgument)

	// A fresh replica with the new key alone serves every provider.
	other := servertest.Start(t, servertest.Options{DatabaseURL: g.DatabaseURL, Config: func(c *server.Config) { c.MasterKey = newKey }})
	for _, m := range models {
		if _, err := tollgate.NewClient(other.URL, secret).Chat(ctx, m, "fresh replica"); err != nil {
			t.Fatalf("%s on a replica with the new key only: %v\n%s", m, err, other.Logs.String())
		}
	}
}

func keyID(t *testing.T, hexKey string) string {
	t.Helper()
	k, err := secrets.ParseMasterKey(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	return secrets.KeyID(k)
}
