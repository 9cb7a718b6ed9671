package gateway_test

import (
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/service/gateway"
)

func TestValidRequestID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"req_06h4r6kecha0b720jqynexqn", true},
		{"caller-req-42", true},
		{"4bf92f35-77b3-4da6-a3ce-929d0e0e4736", true},
		{"a.b:c/d+e=f_g", true},
		{strings.Repeat("x", 128), true},
		{"", false},
		{strings.Repeat("x", 129), false},
		{"has space", false},
		{"new\nline", false},
		{`quote"`, false},
		{"é", false},
	} {
		if got := gateway.ValidRequestID(tc.id); got != tc.want {
			t.Errorf("ValidRequestID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}
