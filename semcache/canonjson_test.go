package semcache

import "testing"

func TestCanonicalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{name: "sorted keys", in: `{"b":1,"a":{"d":2,"c":3}}`, want: `{"a":{"c":3,"d":2},"b":1}`, ok: true},
		{name: "whitespace", in: " [ 1 ,\n\t2 ] ", want: `[1,2]`, ok: true},
		{name: "numbers", in: `[1.0, 1e0, 10E-1, -0.50, 0.1, 1e400]`, want: `[1,1,1,-1/2,1/10,1` + zeros(400) + `]`, ok: true},
		{name: "huge exponent kept verbatim", in: `[1e10000]`, want: `[1e10000]`, ok: true},
		{name: "string escapes", in: `"<a>\u00e9\"\n"`, want: `"<a>é\"\n"`, ok: true},
		{name: "literals", in: `[true,false,null]`, want: `[true,false,null]`, ok: true},
		{name: "invalid", in: `{"a":`, ok: false},
		{name: "trailing data", in: `{} {}`, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := canonicalJSON([]byte(tt.in))
			if ok != tt.ok || string(got) != tt.want {
				t.Errorf("canonicalJSON(%s) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}
