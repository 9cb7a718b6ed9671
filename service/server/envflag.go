package server

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"
)

// envFlags binds settings to flags whose defaults come from environment
// variables: for each setting the variable, when set, replaces the default,
// and the flag, when given, replaces both. Malformed variables are
// collected and reported together by err.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
}

// fromEnv sets *p from the variable env when it is set and parses.
func fromEnv[T any](e *envFlags, p *T, env string, parse func(string) (T, error)) {
	v := e.getenv(env)
	if v == "" {
		return
	}
	x, err := parse(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %w", env, err))
		return
	}
	*p = x
}

func usage(text, env string) string { return text + " ($" + env + ")" }

func (e *envFlags) str(p *string, name, env, text string) {
	fromEnv(e, p, env, func(s string) (string, error) { return s, nil })
	e.fs.StringVar(p, name, *p, usage(text, env))
}

func (e *envFlags) int(p *int, name, env, text string) {
	fromEnv(e, p, env, strconv.Atoi)
	e.fs.IntVar(p, name, *p, usage(text, env))
}

func (e *envFlags) int64(p *int64, name, env, text string) {
	fromEnv(e, p, env, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) })
	e.fs.Int64Var(p, name, *p, usage(text, env))
}

func (e *envFlags) float64(p *float64, name, env, text string) {
	fromEnv(e, p, env, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
	e.fs.Float64Var(p, name, *p, usage(text, env))
}

func (e *envFlags) duration(p *time.Duration, name, env, text string) {
	fromEnv(e, p, env, time.ParseDuration)
	e.fs.DurationVar(p, name, *p, usage(text, env))
}

func (e *envFlags) bool(p *bool, name, env, text string) {
	fromEnv(e, p, env, strconv.ParseBool)
	e.fs.BoolVar(p, name, *p, usage(text, env))
}

func (e *envFlags) err() error { return errors.Join(e.errs...) }
