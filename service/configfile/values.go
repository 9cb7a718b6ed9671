package configfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
)

// USD is an amount of US dollars written as a decimal string ("2.50",
// "0.000015"), exact to the nano-dollar (9 decimals).
type USD string

// Nanos returns the amount in nano-dollars.
func (u USD) Nanos() (int64, error) {
	s := strings.TrimSpace(string(u))
	if s == "" {
		return 0, nil
	}
	s = strings.TrimPrefix(s, "$")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if len(frac) > 9 {
		return 0, fmt.Errorf("%q has more than 9 decimals", string(u))
	}
	w, err := strconv.ParseUint(whole, 10, 63)
	if err != nil || w > 9_000_000_000 {
		return 0, fmt.Errorf("%q is not a dollar amount like \"2.50\"", string(u))
	}
	var f uint64
	if frac != "" {
		if f, err = strconv.ParseUint(frac, 10, 63); err != nil {
			return 0, fmt.Errorf("%q is not a dollar amount like \"2.50\"", string(u))
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
	}
	return int64(w)*1_000_000_000 + int64(f), nil
}

// USDFromNanos writes nano-dollars as the shortest exact decimal ("" for 0).
func USDFromNanos(n int64) USD {
	if n == 0 {
		return ""
	}
	s := fmt.Sprintf("%d.%09d", n/1_000_000_000, n%1_000_000_000)
	s = strings.TrimRight(s, "0")
	if strings.HasSuffix(s, ".") {
		s += "00"
	} else if i := strings.IndexByte(s, '.'); len(s)-i-1 == 1 {
		s += "0"
	}
	return USD(s)
}

// UnmarshalJSON accepts a string or a number (1.5 is read as "1.5").
func (u *USD) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("a dollar amount must be a string like \"2.50\"")
		}
		s = n.String()
	}
	v := USD(s)
	if _, err := v.Nanos(); err != nil {
		return err
	}
	*u = v
	return nil
}

// JSONSchema describes USD in the published schema.
func (USD) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "string",
		Pattern:     `^\$?[0-9]*(\.[0-9]{1,9})?$`,
		Description: `US dollars as a decimal string, e.g. "2.50"`,
	}
}

// Duration is a duration written as a Go duration string ("30s", "1h").
type Duration string

// Value parses the duration (0 when empty).
func (d Duration) Value() (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	v, err := time.ParseDuration(string(d))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration like \"30s\"", string(d))
	}
	if v < 0 {
		return 0, fmt.Errorf("%q must not be negative", string(d))
	}
	return v, nil
}

// DurationOf writes a duration as Duration ("" for 0).
func DurationOf(v time.Duration) Duration {
	if v == 0 {
		return ""
	}
	return Duration(v.String())
}

// JSONSchema describes Duration in the published schema.
func (Duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "string",
		Pattern:     `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`,
		Description: `a duration such as "30s", "1m30s" or "2h"`,
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
