package helmtest

import (
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/action"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/tollgate-dev/tollgate/service/configfile"
	"github.com/tollgate-dev/tollgate/service/server"
)

// Canary secrets: they may appear only inside a Secret the chart creates.
const (
	canaryMasterKey = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
	canaryAdmin     = "canary-admin-token-5f1e2d"
	canaryDB        = "postgres://tollgate:canary-db-password@db.internal:5432/tollgate?sslmode=verify-full"
)

// pendingSettings are environment variables the chart sets for settings
// that other work in progress adds to the gateway. The test fails when one
// becomes a real setting, so this list empties itself.
var pendingSettings = map[string]string{}

// variant is one set of values and what it must render.
type variant struct {
	name   string
	values map[string]any
	check  func(t *testing.T, r *Rendered)
}

func variants() []variant {
	return []variant{
		{
			name: "defaults",
			check: func(t *testing.T, r *Rendered) {
				d := mustOne[*appsv1.Deployment](t, r)
				if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
					t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
				}
				wantKinds(t, r, "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount")
				secretRefs(t, d, map[string][2]string{
					"TOLLGATE_MASTER_KEY":   {"gw-tollgate", "master-key"},
					"TOLLGATE_ADMIN_TOKEN":  {"gw-tollgate", "admin-token"},
					"TOLLGATE_DATABASE_URL": {"gw-tollgate", "database-url"},
				})
				if !strings.Contains(r.Notes, "kubectl -n ai create secret generic gw-tollgate") {
					t.Errorf("NOTES does not explain how to create the Secret:\n%s", r.Notes)
				}
			},
		},
		{
			name: "autoscaling and monitoring",
			values: map[string]any{
				"autoscaling": map[string]any{"enabled": true, "minReplicas": 3, "maxReplicas": 12},
				"metrics": map[string]any{
					"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}},
					"prometheusRule": map[string]any{"enabled": true},
				},
			},
			check: func(t *testing.T, r *Rendered) {
				d := mustOne[*appsv1.Deployment](t, r)
				if d.Spec.Replicas != nil {
					t.Errorf("replicas = %d: the HPA owns the replica count", *d.Spec.Replicas)
				}
				hpa := mustOne[*autoscalingv2.HorizontalPodAutoscaler](t, r)
				if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != d.Name ||
					*hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 12 {
					t.Errorf("HPA spec = %+v", hpa.Spec)
				}
				sm := mustOne[*monitoringv1.ServiceMonitor](t, r)
				svc := mainService(t, r)
				if !selects(sm.Spec.Selector.MatchLabels, svc.Labels) {
					t.Errorf("ServiceMonitor selector %v does not select the Service's labels %v", sm.Spec.Selector.MatchLabels, svc.Labels)
				}
				if sm.Labels["release"] != "prometheus" || len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" ||
					sm.Spec.Endpoints[0].Path != "/metrics" {
					t.Errorf("ServiceMonitor = %+v", sm)
				}
				rule := mustOne[*monitoringv1.PrometheusRule](t, r)
				var alerts []string
				for _, g := range rule.Spec.Groups {
					for _, rr := range g.Rules {
						if rr.Alert == "" || rr.Expr.String() == "" || rr.Annotations["summary"] == "" || rr.Labels["severity"] == "" {
							t.Errorf("rule %+v: want an alert name, expression, summary and severity", rr)
						}
						alerts = append(alerts, rr.Alert)
					}
				}
				if !slices.Contains(alerts, "TollgateRecordsDropped") || len(alerts) < 5 {
					t.Errorf("alerts = %v: want the shipped rules", alerts)
				}
			},
		},
		{
			name: "existing secrets",
			values: map[string]any{
				"secrets": map[string]any{
					"name":            "tollgate-prod",
					"keys":            map[string]any{"masterKey": "mk", "adminToken": "tok", "databaseURL": "unused"},
					"databaseURLFrom": map[string]any{"name": "pg-app", "key": "uri"},
					// Ignored without create: must not appear anywhere.
					"masterKey": canaryMasterKey, "adminToken": canaryAdmin, "databaseURL": canaryDB,
				},
			},
			check: func(t *testing.T, r *Rendered) {
				if s := All[*corev1.Secret](r); len(s) != 0 {
					t.Errorf("the chart created %d Secrets with existing ones named", len(s))
				}
				secretRefs(t, mustOne[*appsv1.Deployment](t, r), map[string][2]string{
					"TOLLGATE_MASTER_KEY":   {"tollgate-prod", "mk"},
					"TOLLGATE_ADMIN_TOKEN":  {"tollgate-prod", "tok"},
					"TOLLGATE_DATABASE_URL": {"pg-app", "uri"},
				})
				if strings.Contains(r.Notes, "create secret") {
					t.Error("NOTES asks to create a Secret that exists")
				}
			},
		},
		{
			name: "created secret, TLS, separate metrics port, network policy, ingress and HTTPRoute",
			values: map[string]any{
				"secrets":  map[string]any{"create": true, "masterKey": canaryMasterKey, "adminToken": canaryAdmin, "databaseURL": canaryDB},
				"tls":      map[string]any{"secretName": "gw-tls"},
				"metrics":  map[string]any{"port": 9090, "serviceMonitor": map[string]any{"enabled": true}},
				"env":      map[string]any{"TOLLGATE_RETENTION": "720h", "TOLLGATE_CACHE_MODE": "exact"},
				"extraEnv": []any{map[string]any{"name": "HTTPS_PROXY", "value": "http://proxy.internal:3128"}},
				"service":  map[string]any{"headless": true},
				"networkPolicy": map[string]any{
					"enabled":     true,
					"ingressFrom": []any{map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"ai-clients": "true"}}}},
					"metricsFrom": []any{map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "monitoring"}}}},
					"egress": map[string]any{"enabled": true,
						"postgres": []any{map[string]any{"podSelector": map[string]any{"matchLabels": map[string]any{"cnpg.io/cluster": "pg"}}}}},
				},
				"ingress": map[string]any{
					"enabled": true, "className": "nginx",
					"hosts": []any{map[string]any{"host": "ai.example.com"}},
					"tls":   []any{map[string]any{"secretName": "ai-example-tls", "hosts": []any{"ai.example.com"}}},
					"grpc":  map[string]any{"enabled": true},
				},
				"httpRoute": map[string]any{"enabled": true, "hostnames": []any{"ai.example.com"},
					"parentRefs": []any{map[string]any{"name": "public", "namespace": "gateways"}}},
			},
			check: func(t *testing.T, r *Rendered) {
				d := mustOne[*appsv1.Deployment](t, r)
				c := d.Spec.Template.Spec.Containers[0]
				if got := envValue(c, "TOLLGATE_METRICS_ADDR"); got != ":9090" {
					t.Errorf("TOLLGATE_METRICS_ADDR = %q", got)
				}
				if envValue(c, "TOLLGATE_TLS_CERT") != "/etc/tollgate/tls/tls.crt" || c.ReadinessProbe.HTTPGet.Scheme != corev1.URISchemeHTTPS {
					t.Error("TLS: want the certificate mounted and HTTPS probes")
				}
				if envValue(c, "TOLLGATE_RETENTION") != "720h" || envValue(c, "HTTPS_PROXY") == "" {
					t.Error("env and extraEnv must reach the container")
				}
				sec := mustOne[*corev1.Secret](t, r)
				if string(sec.Data["master-key"]) != canaryMasterKey || string(sec.Data["database-url"]) != canaryDB {
					t.Errorf("created Secret data = %v", sec.Data)
				}
				if d.Spec.Template.Annotations["checksum/secret"] == "" {
					t.Error("pods must roll when the chart's Secret changes")
				}
				svc := mainService(t, r)
				if len(svc.Spec.Ports) != 2 || svc.Spec.Ports[1].Name != "metrics" {
					t.Errorf("Service ports = %+v, want http and metrics", svc.Spec.Ports)
				}
				if sm := mustOne[*monitoringv1.ServiceMonitor](t, r); sm.Spec.Endpoints[0].Port != "metrics" {
					t.Errorf("ServiceMonitor scrapes port %q, want metrics", sm.Spec.Endpoints[0].Port)
				}
				np := mustOne[*networkingv1.NetworkPolicy](t, r)
				if !selects(np.Spec.PodSelector.MatchLabels, d.Spec.Template.Labels) || len(np.Spec.Ingress) != 2 || len(np.Spec.Egress) != 3 ||
					len(np.Spec.PolicyTypes) != 2 {
					t.Errorf("NetworkPolicy spec = %+v", np.Spec)
				}
				ings := All[*networkingv1.Ingress](r)
				if len(ings) != 2 {
					t.Fatalf("%d Ingresses, want the HTTP one and the gRPC one", len(ings))
				}
				for _, ing := range ings {
					for _, rule := range ing.Spec.Rules {
						for _, p := range rule.HTTP.Paths {
							if p.Backend.Service.Name != svc.Name || p.Backend.Service.Port.Name != "http" {
								t.Errorf("Ingress %s routes to %+v", ing.Name, p.Backend)
							}
						}
					}
				}
				if ings[1].Annotations["nginx.ingress.kubernetes.io/backend-protocol"] != "GRPC" {
					t.Errorf("gRPC Ingress annotations = %v", ings[1].Annotations)
				}
				route := mustOne[*gatewayv1.HTTPRoute](t, r)
				ref := route.Spec.Rules[0].BackendRefs[0]
				if string(ref.Name) != svc.Name || ref.Port == nil || int32(*ref.Port) != svc.Spec.Ports[0].Port {
					t.Errorf("HTTPRoute backend = %+v", ref)
				}
				if svc.Spec.Ports[0].AppProtocol == nil || *svc.Spec.Ports[0].AppProtocol != "kubernetes.io/h2c" {
					t.Error("the Service port must declare kubernetes.io/h2c so Gateways speak HTTP/2 (gRPC) to the pods")
				}
				if len(All[*corev1.Service](r)) != 2 {
					t.Error("want the headless Service too")
				}
			},
		},
		{
			name:   "configuration as code from a ConfigMap",
			values: map[string]any{"config": map[string]any{"files": exampleConfig(), "managedChanges": "refuse"}},
			check: func(t *testing.T, r *Rendered) {
				d := mustOne[*appsv1.Deployment](t, r)
				c := d.Spec.Template.Spec.Containers[0]
				cm := mustOne[*corev1.ConfigMap](t, r)
				if cm.Name != "gw-tollgate-config" {
					t.Errorf("ConfigMap name = %q", cm.Name)
				}
				// Every file as given, and together a valid configuration.
				dir := t.TempDir()
				for name, content := range exampleConfig() {
					if cm.Data[name] != content {
						t.Errorf("ConfigMap %s = %q, want the file as given", name, cm.Data[name])
					}
					if err := os.WriteFile(filepath.Join(dir, name), []byte(cm.Data[name]), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				l, err := configfile.Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				if err := configfile.Validate(l); err != nil {
					t.Errorf("the mounted configuration is invalid: %v", err)
				}
				var vol *corev1.Volume
				for i := range d.Spec.Template.Spec.Volumes {
					if v := &d.Spec.Template.Spec.Volumes[i]; v.Name == "config" {
						vol = v
					}
				}
				if vol == nil || vol.ConfigMap == nil || vol.ConfigMap.Name != cm.Name {
					t.Fatalf("config volume = %+v, want the ConfigMap", vol)
				}
				mounted := false
				for _, m := range c.VolumeMounts {
					if m.Name == "config" {
						// Not a subPath: the kubelet updates the files of a directory mount only.
						mounted = m.MountPath == envValue(c, "TOLLGATE_CONFIG") && m.ReadOnly && m.SubPath == ""
					}
				}
				if !mounted {
					t.Errorf("the ConfigMap must be mounted read-only as a directory at $TOLLGATE_CONFIG (%q)", envValue(c, "TOLLGATE_CONFIG"))
				}
				if envValue(c, "TOLLGATE_CONFIG_POLL_INTERVAL") != "2s" || envValue(c, "TOLLGATE_MANAGED_CHANGES") != "refuse" {
					t.Error("want the poll interval and -managed-changes from the values")
				}
				// A configuration change is applied by the running pods, not by a rollout.
				for k := range d.Spec.Template.Annotations {
					if strings.Contains(k, "config") {
						t.Errorf("pod annotation %s would restart the pods on every configuration change", k)
					}
				}
			},
		},
		{
			name:   "configuration as code from an existing ConfigMap",
			values: map[string]any{"config": map[string]any{"existingConfigMap": "gateway-config", "files": exampleConfig()}},
			check: func(t *testing.T, r *Rendered) {
				if n := len(All[*corev1.ConfigMap](r)); n != 0 {
					t.Errorf("the chart made %d ConfigMaps with an existing one named", n)
				}
				d := mustOne[*appsv1.Deployment](t, r)
				found := false
				for _, v := range d.Spec.Template.Spec.Volumes {
					found = found || (v.ConfigMap != nil && v.ConfigMap.Name == "gateway-config")
				}
				if !found || envValue(d.Spec.Template.Spec.Containers[0], "TOLLGATE_CONFIG") != "/etc/tollgate/config" {
					t.Error("want the existing ConfigMap mounted at $TOLLGATE_CONFIG")
				}
			},
		},
	}
}

// exampleConfig returns the shipped example configuration's files.
func exampleConfig() map[string]any {
	files, _ := filepath.Glob("../../examples/config/*.yaml")
	out := map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		out[filepath.Base(f)] = string(b)
	}
	return out
}

func TestChartRenders(t *testing.T) {
	t.Parallel()
	settings, err := server.Settings()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.Env] = true
	}
	for name, why := range pendingSettings {
		if known[name] {
			t.Errorf("$%s (%s) is now a real setting: remove it from pendingSettings", name, why)
		}
	}
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			r, err := Render(v.values)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			checkInvariants(t, r, known)
			v.check(t, r)
		})
	}
}

// checkInvariants checks what must hold for every set of values.
func checkInvariants(t *testing.T, r *Rendered, known map[string]bool) {
	t.Helper()
	d := mustOne[*appsv1.Deployment](t, r)
	pod := d.Spec.Template.Spec
	podLabels := d.Spec.Template.Labels
	if !selects(d.Spec.Selector.MatchLabels, podLabels) {
		t.Errorf("Deployment selector %v does not select its pods %v", d.Spec.Selector.MatchLabels, podLabels)
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Errorf("strategy = %+v: want rolling updates with maxUnavailable 0", d.Spec.Strategy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "serve" || len(c.Command) != 0 {
		t.Errorf("command %q args %q: want the image's entrypoint with serve", c.Command, c.Args)
	}

	// Probes on the gateway's port.
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
		want := map[string]string{"readiness": "/readyz", "liveness": "/healthz", "startup": "/healthz"}[name]
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe = %+v, want GET %s on port http", name, p, want)
		}
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "http" }) {
		t.Errorf("no container port named http: %+v", c.Ports)
	}

	// Graceful shutdown: preStop + drain + flush = grace period.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatal("want a preStop sleep (the image has no shell)")
	}
	preStop := c.Lifecycle.PreStop.Sleep.Seconds
	drain := envValue(c, "TOLLGATE_SHUTDOWN_TIMEOUT")
	if pod.TerminationGracePeriodSeconds == nil || drain == "" {
		t.Fatal("want terminationGracePeriodSeconds and TOLLGATE_SHUTDOWN_TIMEOUT")
	}
	var drainSeconds int64
	if _, err := fmt.Sscanf(drain, "%ds", &drainSeconds); err != nil {
		t.Fatalf("TOLLGATE_SHUTDOWN_TIMEOUT = %q: %v", drain, err)
	}
	if grace := *pod.TerminationGracePeriodSeconds; grace <= preStop+drainSeconds {
		t.Errorf("grace %ds must exceed preStop %ds + drain %ds, leaving time to flush records", grace, preStop, drainSeconds)
	}

	// Hardening.
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext = %+v: want non-root and seccomp RuntimeDefault", psc)
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		sc.Privileged == nil || *sc.Privileged {
		t.Errorf("container securityContext = %+v", sc)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the gateway needs no Kubernetes API token")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources = %+v: want CPU and memory requests and a memory limit", c.Resources)
	}
	for _, tsc := range pod.TopologySpreadConstraints {
		if tsc.LabelSelector == nil || !selects(tsc.LabelSelector.MatchLabels, podLabels) {
			t.Errorf("topology spread %+v does not select the gateway's pods", tsc)
		}
	}
	if len(pod.TopologySpreadConstraints) == 0 {
		t.Error("want topology spread constraints")
	}
	// The root filesystem is read-only: the spill directory must be a volume.
	spill := envValue(c, "TOLLGATE_SPILL_DIR")
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == spill && !m.ReadOnly }) {
		t.Errorf("spill dir %q is not a writable volume: %+v", spill, c.VolumeMounts)
	}

	// Settings: every TOLLGATE_* variable is one the gateway reads, and
	// secrets only ever come from Secrets.
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "TOLLGATE_") && !known[e.Name] && pendingSettings[e.Name] == "" {
			t.Errorf("the chart sets $%s, which the gateway does not read", e.Name)
		}
		switch e.Name {
		case "TOLLGATE_MASTER_KEY", "TOLLGATE_ADMIN_TOKEN", "TOLLGATE_DATABASE_URL", "DATABASE_URL":
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("$%s must come from a secretKeyRef, not %+v", e.Name, e)
			}
		}
	}

	// No secret literal anywhere but inside a Secret the chart creates.
	for _, o := range r.Objects {
		if o.Kind == "Secret" {
			continue
		}
		for _, canary := range []string{canaryMasterKey, canaryAdmin, canaryDB, "canary-db-password",
			base64.StdEncoding.EncodeToString([]byte(canaryMasterKey)), base64.StdEncoding.EncodeToString([]byte(canaryAdmin))} {
			if strings.Contains(string(o.YAML), canary) {
				t.Errorf("%s %s (%s) contains a secret", o.Kind, o.Name, o.Source)
			}
		}
	}
	for _, canary := range []string{canaryMasterKey, canaryAdmin, "canary-db-password"} {
		if strings.Contains(r.Notes, canary) {
			t.Error("NOTES contains a secret")
		}
	}

	// The Service and the PDB select the gateway's pods.
	svc := mainService(t, r)
	if !selects(svc.Spec.Selector, podLabels) || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service %s selects %v / targets %v", svc.Name, svc.Spec.Selector, svc.Spec.Ports[0].TargetPort)
	}
	if pdbs := All[*policyv1.PodDisruptionBudget](r); len(pdbs) != 1 || !selects(pdbs[0].Spec.Selector.MatchLabels, podLabels) ||
		pdbs[0].Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("want one PodDisruptionBudget selecting the pods with maxUnavailable 1, got %+v", pdbs)
	}
}

// TestChartRefusesBadValues checks the schema and the templates' guards.
func TestChartRefusesBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		values  map[string]any
		wantErr string
	}{
		{"unknown key", map[string]any{"replicas": 3}, "replicas"},
		{"a secret in env", map[string]any{"env": map[string]any{"TOLLGATE_MASTER_KEY": canaryMasterKey}}, "TOLLGATE_MASTER_KEY"},
		{"a non-setting in env", map[string]any{"env": map[string]any{"PATH": "/bin"}}, "PATH"},
		{"a number in env", map[string]any{"env": map[string]any{"TOLLGATE_RETENTION": 5}}, "TOLLGATE_RETENTION"},
		{"create without master key", map[string]any{"secrets": map[string]any{"create": true, "adminToken": canaryAdmin, "databaseURL": canaryDB}}, "masterKey"},
		{"short admin token", map[string]any{"secrets": map[string]any{"create": true, "masterKey": canaryMasterKey, "adminToken": "short", "databaseURL": canaryDB}}, "adminToken"},
		{"malformed master key", map[string]any{"secrets": map[string]any{"create": true, "masterKey": "not-a-key", "adminToken": canaryAdmin, "databaseURL": canaryDB}}, "masterKey"},
		{"create and name", map[string]any{"secrets": map[string]any{"create": true, "name": "x", "masterKey": canaryMasterKey, "adminToken": canaryAdmin, "databaseURL": canaryDB}}, "leave secrets.name empty"},
		{"autoscaling bounds", map[string]any{"autoscaling": map[string]any{"enabled": true, "minReplicas": 5, "maxReplicas": 2}}, "minReplicas"},
		{"route without gateway", map[string]any{"httpRoute": map[string]any{"enabled": true}}, "parentRefs"},
		{"ingress without host", map[string]any{"ingress": map[string]any{"enabled": true}}, "ingress.hosts"},
		{"zero drain", map[string]any{"drain": map[string]any{"preStopSeconds": 5, "timeoutSeconds": 0, "flushSeconds": 10}}, "timeoutSeconds"},
		{"privileged port", map[string]any{"port": 80}, "port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Render(tt.values)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestChartLint runs `helm lint --strict` through the SDK for every variant.
func TestChartLint(t *testing.T) {
	t.Parallel()
	for _, v := range variants() {
		lint := action.NewLint()
		lint.Strict = true
		lint.Namespace = Namespace
		res := lint.Run([]string{ChartDir()}, v.values)
		for _, m := range res.Messages {
			t.Logf("%s: %s", v.name, m)
		}
		if len(res.Errors) > 0 || res.TotalChartsLinted != 1 {
			t.Errorf("%s: helm lint --strict: %v", v.name, res.Errors)
		}
	}
}

func mustOne[T any](t *testing.T, r *Rendered) T {
	t.Helper()
	v, err := One[T](r)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mainService is the gateway's (non-headless) Service.
func mainService(t *testing.T, r *Rendered) *corev1.Service {
	t.Helper()
	for _, s := range All[*corev1.Service](r) {
		if s.Spec.ClusterIP != corev1.ClusterIPNone {
			return s
		}
	}
	t.Fatal("no Service")
	return nil
}

func wantKinds(t *testing.T, r *Rendered, kinds ...string) {
	t.Helper()
	var got []string
	for _, o := range r.Objects {
		got = append(got, o.Kind)
	}
	slices.Sort(got)
	if !slices.Equal(got, kinds) {
		t.Errorf("kinds = %v, want %v", got, kinds)
	}
}

// selects reports whether a matchLabels selector selects objects with lbls.
func selects(selector, lbls map[string]string) bool {
	return len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(lbls))
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// secretRefs checks that each variable comes from the named Secret key.
func secretRefs(t *testing.T, d *appsv1.Deployment, want map[string][2]string) {
	t.Helper()
	got := map[string][2]string{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			got[e.Name] = [2]string{e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("secret references = %v, want %v", got, want)
	}
}
