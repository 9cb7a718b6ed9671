package routing_test

import (
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/routing"
)

func TestValidateKeyCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    routing.Cache
		ok   bool
	}{
		{"empty", routing.Cache{}, true},
		{"full", routing.Cache{Mode: "semantic", Threshold: 0.95, TTL: routing.Duration(time.Minute), Namespace: "key"}, true},
		{"off", routing.Cache{Mode: "off"}, true},
		{"team", routing.Cache{Namespace: "team"}, true},
		{"threshold 1", routing.Cache{Threshold: 1}, true},
		{"shared namespace", routing.Cache{Namespace: "shared:faq"}, false},
		{"unknown mode", routing.Cache{Mode: "fuzzy"}, false},
		{"threshold above 1", routing.Cache{Threshold: 1.01}, false},
		{"negative threshold", routing.Cache{Threshold: -0.1}, false},
		{"negative ttl", routing.Cache{TTL: routing.Duration(-time.Second)}, false},
		{"unknown namespace", routing.Cache{Namespace: "org"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := routing.ValidateKeyCache(&tt.c); (err == nil) != tt.ok {
				t.Errorf("ValidateKeyCache(%+v) = %v, want ok %v", tt.c, err, tt.ok)
			}
		})
	}
}

func TestParseKeyCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    *routing.Cache
		wantErr bool
	}{
		{"none", "", nil, false},
		{"null", "null", nil, false},
		{"policy", `{"mode":"exact","threshold":0.9,"ttl":"1m0s","namespace":"key"}`,
			&routing.Cache{Mode: "exact", Threshold: 0.9, TTL: routing.Duration(time.Minute), Namespace: "key"}, false},
		{"not JSON", `{`, nil, true},
		{"invalid policy", `{"namespace":"shared:x"}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := routing.ParseKeyCache([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseKeyCache(%s) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Errorf("ParseKeyCache(%s) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}
