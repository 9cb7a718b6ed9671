package rehearsal

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/deploy/helm/helmtest"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/configfile"
	"github.com/tollgate-dev/tollgate/service/configsync"
)

// TestLongConfigPropagation renders the chart with the example
// configuration as its ConfigMap, starts 3 replicas as the kubelet would
// (the ConfigMap mounted in each, laid out and updated as the kubelet does),
// and updates the ConfigMap: one replica applies the change (the others
// find nothing left to apply), and every replica serves it within a second
// of the first.
func TestLongConfigPropagation(t *testing.T) {
	if skipLong() {
		t.Skip("long test (3 gateways applying a ConfigMap): make test-long runs it")
	}
	hosted, hostedURL := fakeupstream.StartOpenAI(t)
	local, localURL := fakeupstream.StartOpenAI(t)

	// The shipped example, pointed at the fakes, with its credentials, the
	// alert URL and the keys' secrets in files of the test.
	l, err := configfile.Load(filepath.Join("..", "examples", "config"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &l.Config
	files := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		p.Credential, p.BaseURL = "file:"+file(p.ID, "sk-"+p.ID), hostedURL
		if p.ID == "local" {
			p.BaseURL = localURL
		}
	}
	for i := range cfg.Keys {
		cfg.Keys[i].SecretTo = "file:" + filepath.Join(files, "key-"+cfg.Keys[i].Team+"-"+cfg.Keys[i].Name)
	}
	cfg.Alerts[0].URL = "file:" + file("alert-url", "https://hooks.example.com/services/T0/B0/X")
	var chat *configfile.Route
	for i := range cfg.Routes {
		if cfg.Routes[i].Name == "chat" {
			chat = &cfg.Routes[i]
		}
	}
	chat.Cache = &configfile.CachePolicy{Mode: "off"}
	chat.Targets[0].Weight, chat.Targets[1].Weight = 100, 0

	render := func() (*appsv1.Deployment, *corev1.ConfigMap) {
		b, err := configsync.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r, err := helmtest.Render(map[string]any{
			"replicaCount": 3,
			"secrets":      map[string]any{"name": secretName},
			"env":          map[string]any{"TOLLGATE_LOG_REQUESTS": "false"},
			"metrics":      map[string]any{"port": 0},
			"config":       map[string]any{"files": map[string]any{"gateway.yaml": string(b)}, "pollInterval": "500ms"},
		})
		if err != nil {
			t.Fatal(err)
		}
		d, err := helmtest.One[*appsv1.Deployment](r)
		if err != nil {
			t.Fatal(err)
		}
		cm, err := helmtest.One[*corev1.ConfigMap](r)
		if err != nil {
			t.Fatal(err)
		}
		return d, cm
	}
	d, cm := render()
	c := newCluster(t, d, map[string]map[string]string{secretName: {
		"master-key": strings.Repeat("5a", 32), "admin-token": adminToken, "database-url": pgtest.NewDatabase(t),
	}}, buildGateway(t))
	c.setConfigMap(cm.Name, cm.Data)
	pods := make([]*pod, int(*d.Spec.Replicas))
	for i := range pods {
		pods[i] = c.start()
	}
	for _, p := range pods {
		c.waitAvailable(p, 2*time.Minute)
	}

	// The configuration applied on start: its key works on every replica.
	var key string
	until(t, 30*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(files, "key-search-ranker-prod"))
		key = strings.TrimSpace(string(b))
		return err == nil && key != ""
	})
	client := &http.Client{Timeout: 10 * time.Second}
	answeredBy := func(p *pod) string {
		h, lo := len(hosted.Requests()), len(local.Requests())
		if _, err := chatOnce(client, p, key); err != nil {
			return err.Error()
		}
		switch {
		case len(local.Requests()) > lo:
			return "local"
		case len(hosted.Requests()) > h:
			return "hosted"
		}
		return "neither"
	}
	for _, p := range pods {
		until(t, 10*time.Second, func() bool { return answeredBy(p) == "hosted" })
	}
	applied := 0
	for _, p := range pods {
		applied += strings.Count(p.log.String(), `"msg":"configuration applied"`)
	}
	if applied != 26 {
		t.Errorf("%d resources applied on start over all replicas, want 26 (each once, by one replica)", applied)
	}

	// The ConfigMap changes: the chat route's weights swap.
	chat.Targets[0].Weight, chat.Targets[1].Weight = 0, 100
	_, cm = render()
	c.setConfigMap(cm.Name, cm.Data)
	updated := time.Now()
	var first *pod
	until(t, 10*time.Second, func() bool {
		for _, p := range pods {
			if answeredBy(p) == "local" {
				first = p
				return true
			}
		}
		return false
	})
	t.Logf("ConfigMap updated: %s served the new weights after %s", first.name, time.Since(updated).Round(time.Millisecond))
	for _, p := range pods {
		if p == first {
			continue
		}
		took := until(t, time.Second, func() bool { return answeredBy(p) == "local" })
		t.Logf("%s served them %s later", p.name, took.Round(time.Millisecond))
	}
	// The applier logs after its writes committed, which the others may
	// serve first: wait for the line.
	appliers := 0
	until(t, 10*time.Second, func() bool {
		appliers = 0
		for _, p := range pods {
			if strings.Contains(p.log.String(), `"action":"update","kind":"route","name":"chat"`) {
				appliers++
			}
		}
		return appliers > 0
	})
	if appliers != 1 {
		for _, p := range pods {
			for _, line := range strings.Split(p.log.String(), "\n") {
				if strings.Contains(line, "configuration") {
					t.Logf("%s: %s", p.name, line)
				}
			}
		}
		t.Errorf("%d replicas applied the route change, want exactly 1 (the others find it applied)", appliers)
	}
}

// chatOnce sends one unary chat completion for the route "chat".
func chatOnce(client *http.Client, p *pod, key string) (string, error) {
	return chat(client, p, key, "chat", "hello", false)
}
