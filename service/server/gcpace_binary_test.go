package server_test

import (
	"fmt"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tollgate-dev/tollgate/internal/testutil"
)

// TestServePacesTheCollector: `tollgate serve` sets the collector's pace
// from -gc-headroom-mb (gctune) unless GOGC is set or the headroom is 0;
// the runtime's GC percentage is read from the binary's /metrics.
func TestServePacesTheCollector(t *testing.T) {
	t.Parallel()
	const token = "metrics-token-0123456789"
	tests := []struct {
		name  string
		env   []string
		paced bool
	}{
		{"default headroom", nil, true},
		{"GOGC set by the operator", []string{"GOGC=100"}, false},
		{"headroom 0", []string{"TOLLGATE_GC_HEADROOM_MB=0"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gw := startBinary(t, append([]string{"TOLLGATE_METRICS_TOKEN=" + token}, tc.env...)...)
			// A collection runs within seconds of startup; the tuner
			// re-paces after each.
			testutil.Eventually(t, func() error {
				p, err := gcPercent(gw.URL, token)
				if err != nil {
					return err
				}
				if tc.paced && p <= 100 {
					return fmt.Errorf("GC percentage %v, want above 100 with a few MB live and 16 MiB of headroom", p)
				}
				if !tc.paced && p != 100 {
					return fmt.Errorf("GC percentage %v, want Go's default 100", p)
				}
				return nil
			})
		})
	}
}

// gcPercent reads go_gc_gogc_percent from the gateway's /metrics.
func gcPercent(base, token string) (float64, error) {
	fams, err := scrapeFamilies(http.DefaultClient, base+"/metrics", token)
	if err != nil {
		return 0, err
	}
	f := fams["go_gc_gogc_percent"]
	if f == nil || len(f.GetMetric()) == 0 {
		return 0, fmt.Errorf("no go_gc_gogc_percent in /metrics")
	}
	return f.GetMetric()[0].GetGauge().GetValue(), nil
}

// scrapeFamilies reads a Prometheus /metrics page at url (with token as
// a bearer token when set) with the Prometheus text parser.
func scrapeFamilies(c *http.Client, url, token string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}
