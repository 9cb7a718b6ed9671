// Package helmtest renders the Tollgate chart (deploy/helm/tollgate) with
// the Helm SDK, as `helm install --dry-run=client` does, and decodes every
// manifest strictly into its Kubernetes (or CRD) Go type: an unknown or
// misspelt field fails. The chart test and the multi-replica rehearsal use it.
package helmtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// ChartDir is the chart's directory.
func ChartDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "tollgate")
}

// MinKubeVersion is the oldest Kubernetes the chart supports (Chart.yaml's
// kubeVersion); rendering targets it so nothing newer slips in.
const MinKubeVersion = "v1.30.0"

// Release names the rendered release.
const (
	ReleaseName = "gw"
	Namespace   = "ai"
)

// Object is one rendered manifest.
type Object struct {
	// Kind and Name identify it.
	Kind, Name string
	// Source is the template that produced it.
	Source string
	// YAML is the manifest as rendered.
	YAML []byte
	// Typed is a pointer to its Go type (*appsv1.Deployment, ...).
	Typed any
}

// Rendered is a rendered release.
type Rendered struct {
	Objects []Object
	// Notes is NOTES.txt as rendered.
	Notes string
}

// Load loads the chart.
func Load() (*chart.Chart, error) {
	return loader.Load(ChartDir())
}

// Render renders the chart with values (merged over values.yaml, checked
// against values.schema.json) and decodes every manifest strictly.
func Render(values map[string]any) (*Rendered, error) {
	ch, err := Load()
	if err != nil {
		return nil, err
	}
	cfg := action.NewConfiguration()
	cfg.SetLogger(slog.NewTextHandler(io.Discard, nil))
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = ReleaseName
	install.Namespace = Namespace
	kv, err := common.ParseKubeVersion(MinKubeVersion)
	if err != nil {
		return nil, err
	}
	install.KubeVersion = kv
	r, err := install.Run(ch, values)
	if err != nil {
		return nil, err
	}
	rel, ok := r.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("install returned %T", r)
	}
	if len(rel.Hooks) > 0 {
		return nil, fmt.Errorf("the chart has %d hooks; none expected", len(rel.Hooks))
	}
	objs, err := Decode(rel.Manifest)
	if err != nil {
		return nil, err
	}
	return &Rendered{Objects: objs, Notes: rel.Info.Notes}, nil
}

// Decode splits a multi-document manifest and decodes each document strictly.
func Decode(manifest string) ([]Object, error) {
	var objs []Object
	var errs []error
	for doc := range strings.SplitSeq(manifest, "\n---") {
		source := ""
		if i := strings.Index(doc, "# Source: "); i >= 0 {
			source, _, _ = strings.Cut(doc[i+len("# Source: "):], "\n")
		}
		js, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
			continue
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue // comments only
		}
		var tm metav1.TypeMeta
		if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
			continue
		}
		typed, err := newTyped(tm)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
			continue
		}
		strict, err := kjson.UnmarshalStrict(js, typed)
		if err == nil {
			err = errors.Join(strict...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", source, tm.Kind, err))
			continue
		}
		meta, ok := typed.(metav1.Object)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %T has no object metadata", source, typed))
			continue
		}
		objs = append(objs, Object{Kind: tm.Kind, Name: meta.GetName(), Source: source, YAML: []byte(doc), Typed: typed})
	}
	return objs, errors.Join(errs...)
}

// newTyped returns a pointer to the Go type of an apiVersion and kind.
func newTyped(tm metav1.TypeMeta) (any, error) {
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "monitoring.coreos.com/v1 PrometheusRule":
		return &monitoringv1.PrometheusRule{}, nil
	case "gateway.networking.k8s.io/v1 HTTPRoute":
		return &gatewayv1.HTTPRoute{}, nil
	}
	return nil, fmt.Errorf("unexpected kind %q of %q", tm.Kind, tm.APIVersion)
}

// One returns the only object of type T, or an error if there is not
// exactly one.
func One[T any](r *Rendered) (T, error) {
	all := All[T](r)
	if len(all) != 1 {
		var zero T
		return zero, fmt.Errorf("%d objects of type %T, want 1", len(all), zero)
	}
	return all[0], nil
}

// All returns the objects of type T (a pointer type such as *appsv1.Deployment).
func All[T any](r *Rendered) []T {
	var out []T
	for _, o := range r.Objects {
		if v, ok := o.Typed.(T); ok {
			out = append(out, v)
		}
	}
	return out
}
