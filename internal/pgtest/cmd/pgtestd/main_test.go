package main

import "testing"

func TestAbbreviate(t *testing.T) {
	tests := []struct {
		command []string
		n       int
		want    string
	}{
		{[]string{"go", "test"}, 3, `["go" "test"]`},
		{[]string{"go", "test", "./..."}, 3, `["go" "test" "./..."]`},
		{[]string{"go", "test", "a", "b", "c"}, 3, `["go" "test" "a"] and 2 more arguments`},
	}
	for _, tt := range tests {
		if got := abbreviate(tt.command, tt.n); got != tt.want {
			t.Errorf("abbreviate(%q, %d) = %s, want %s", tt.command, tt.n, got, tt.want)
		}
	}
}
