package credref

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Manager.
type Config struct {
	// Getenv reads env: references (default: none are set).
	Getenv func(string) string
	// Vault, AWS and GCP configure their backends.
	Vault VaultConfig
	AWS   AWSConfig
	GCP   GCPConfig
	// HTTPClient talks to Vault and Google (default: 10 s timeout); AWS
	// uses its SDK's client, which honours AWS_CA_BUNDLE.
	HTTPClient *http.Client
	// Refresh is how often references other than files are read again
	// (default 5m); a failed one is retried every 30 s at most.
	Refresh time.Duration
	// FilePoll is how often file: references are checked for changes
	// (default 1s).
	FilePoll time.Duration
	// Timeout bounds one resolution (default 10s).
	Timeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives refresh failures (never values).
	Log *slog.Logger
}

// Status is a reference's state, without its value.
type Status struct {
	ProviderID, Ref string
	// Resolved is true when a value is in memory.
	Resolved bool
	// ReadAt is when the value in memory was read; ChangedAt when it last
	// changed.
	ReadAt, ChangedAt time.Time
	// Err is the last refresh's error ("" after a success); the last good
	// value stays in use.
	Err string
	// Failures counts consecutive failed refreshes.
	Failures int
}

// entry is one provider's reference and its value.
type entry struct {
	ref       Ref
	value     string
	readAt    time.Time
	changedAt time.Time
	err       error
	failures  int
	next      time.Time // next refresh (not files)
}

// Manager resolves and refreshes credential references. It is safe for
// concurrent use.
type Manager struct {
	cfg      Config
	backends map[string]backend
	log      *slog.Logger

	mu      sync.Mutex
	entries map[string]*entry // by provider id

	// hooks, set before Run.
	onChange  func(providerID string)
	onFailure func(ctx context.Context, s Status)
	sources   func() map[string]string

	refreshes *prometheus.CounterVec
	stale     *prometheus.GaugeVec
}

// NewManager returns a manager; call Run to refresh in the background.
func NewManager(cfg Config) *Manager {
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 5 * time.Minute
	}
	if cfg.FilePoll <= 0 {
		cfg.FilePoll = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{cfg: cfg, log: cfg.Log, entries: map[string]*entry{}}
	m.backends = map[string]backend{
		SchemeEnv:   envBackend{getenv: cfg.Getenv},
		SchemeFile:  fileBackend{},
		SchemeVault: newVaultBackend(cfg.Vault, cfg.HTTPClient, cfg.Now),
		SchemeAWS:   &awsBackend{cfg: cfg.AWS},
		SchemeGCP:   &gcpBackend{cfg: cfg.GCP, client: cfg.HTTPClient},
	}
	m.refreshes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tollgate_credential_refreshes_total",
		Help: "Reads of provider credential references, by scheme and outcome (ok, changed, failed).",
	}, []string{"scheme", "outcome"})
	m.stale = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tollgate_credential_refresh_failing",
		Help: "Consecutive failed refreshes of a provider's credential reference (0 when the last one succeeded); the last good value stays in use.",
	}, []string{"provider"})
	return m
}

// OnChange calls fn with a provider id whenever its credential's value
// changed (so the provider's adapter is rebuilt). Set it before Run.
func (m *Manager) OnChange(fn func(providerID string)) { m.onChange = fn }

// OnFailure calls fn after every failed refresh (to raise an alert).
func (m *Manager) OnFailure(fn func(ctx context.Context, s Status)) { m.onFailure = fn }

// Sources tells the manager which providers have which references now, so
// it forgets the values of providers that are gone.
func (m *Manager) Sources(fn func() map[string]string) { m.sources = fn }

// Collector returns the manager's Prometheus metrics.
func (m *Manager) Collector() prometheus.Collector { return collectors{m.refreshes, m.stale} }

type collectors []prometheus.Collector

func (c collectors) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range c {
		x.Describe(ch)
	}
}

func (c collectors) Collect(ch chan<- prometheus.Metric) {
	for _, x := range c {
		x.Collect(ch)
	}
}

// Validate parses a reference; the admin API calls it before storing one.
func Validate(raw string) error {
	_, err := Parse(raw)
	return err
}

// resolve reads a reference now.
func (m *Manager) resolve(ctx context.Context, r Ref) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	return m.backends[r.Scheme].resolve(ctx, r)
}

// Credential returns a provider's credential by reference: from memory
// when it has been read, else read now. The registry calls it when it
// builds a provider.
func (m *Manager) Credential(ctx context.Context, providerID, raw string) (string, error) {
	m.mu.Lock()
	if e, ok := m.entries[providerID]; ok && e.ref.Raw == raw && e.value != "" {
		v := e.value
		m.mu.Unlock()
		return v, nil
	}
	m.mu.Unlock()
	r, err := Parse(raw)
	if err != nil {
		return "", err
	}
	v, err := m.resolve(ctx, r)
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e := &entry{ref: r, readAt: now, changedAt: now, next: now.Add(m.cfg.Refresh)}
	if err != nil {
		e.err, e.failures, e.next = err, 1, now.Add(m.retry())
		m.entries[providerID] = e
		m.count(r.Scheme, "failed")
		m.stale.WithLabelValues(providerID).Set(1)
		return "", err
	}
	e.value = v
	m.entries[providerID] = e
	m.count(r.Scheme, "ok")
	m.stale.WithLabelValues(providerID).Set(0)
	return v, nil
}

func (m *Manager) retry() time.Duration { return min(m.cfg.Refresh, 30*time.Second) }

func (m *Manager) count(scheme, outcome string) { m.refreshes.WithLabelValues(scheme, outcome).Inc() }

// Refresh reads the references again now: one provider's, or every one
// for "". It returns their states.
func (m *Manager) Refresh(ctx context.Context, providerID string) []Status {
	m.refresh(ctx, func(id string, _ *entry) bool { return providerID == "" || id == providerID })
	return m.Status()
}

// refresh re-reads the entries pick selects, outside the lock, and applies
// the results: a changed value is swapped in and reported; a failure keeps
// the last good value.
func (m *Manager) refresh(ctx context.Context, pick func(id string, e *entry) bool) {
	m.mu.Lock()
	todo := map[string]Ref{}
	for id, e := range m.entries {
		if pick(id, e) {
			todo[id] = e.ref
		}
	}
	m.mu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(todo)) {
		r := todo[id]
		v, err := m.resolve(ctx, r)
		now := m.cfg.Now()
		m.mu.Lock()
		e, ok := m.entries[id]
		if !ok || e.ref.Raw != r.Raw {
			m.mu.Unlock()
			continue // replaced meanwhile
		}
		changed := false
		if err != nil {
			e.err, e.failures, e.next = err, e.failures+1, now.Add(m.retry())
			m.count(r.Scheme, "failed")
			m.stale.WithLabelValues(id).Set(float64(e.failures))
		} else {
			changed = subtle.ConstantTimeCompare([]byte(v), []byte(e.value)) != 1
			if changed {
				e.value, e.changedAt = v, now
				m.count(r.Scheme, "changed")
			} else {
				m.count(r.Scheme, "ok")
			}
			e.err, e.failures, e.readAt, e.next = nil, 0, now, now.Add(m.cfg.Refresh)
			m.stale.WithLabelValues(id).Set(0)
		}
		st := statusOf(id, e)
		m.mu.Unlock()
		switch {
		case err != nil:
			m.log.WarnContext(ctx, "credentials: refresh failed; keeping the last good value", "provider", id, "ref", r.Raw,
				"failures", st.Failures, "has_value", st.Resolved, "err", err)
			if m.onFailure != nil {
				m.onFailure(ctx, st)
			}
		case changed:
			m.log.InfoContext(ctx, "credentials: value changed; rebuilding the provider", "provider", id, "ref", r.Raw)
			if m.onChange != nil {
				m.onChange(id)
			}
		}
	}
}

func statusOf(id string, e *entry) Status {
	s := Status{ProviderID: id, Ref: e.ref.Raw, Resolved: e.value != "", ReadAt: e.readAt, ChangedAt: e.changedAt, Failures: e.failures}
	if e.err != nil {
		s.Err = e.err.Error()
	}
	return s
}

// Status returns every reference's state, by provider id.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.entries))
	for _, id := range slices.Sorted(maps.Keys(m.entries)) {
		out = append(out, statusOf(id, m.entries[id]))
	}
	return out
}

// prune forgets the values of providers that no longer have them.
func (m *Manager) prune() {
	if m.sources == nil {
		return
	}
	keep := m.sources()
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, e := range m.entries {
		if keep[id] != e.ref.Raw {
			delete(m.entries, id)
			m.stale.DeleteLabelValues(id)
		}
	}
}

// Run re-reads file references every FilePoll and the others when they
// are due, until ctx is done.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() {
		m.loop(ctx, m.cfg.FilePoll, func(_ string, e *entry) bool { return e.ref.Scheme == SchemeFile })
	})
	wg.Go(func() {
		m.loop(ctx, min(m.cfg.FilePoll*5, m.retry()), func(_ string, e *entry) bool {
			return e.ref.Scheme != SchemeFile && e.ref.Scheme != SchemeEnv && !m.cfg.Now().Before(e.next)
		})
	})
	wg.Wait()
	return ctx.Err()
}

func (m *Manager) loop(ctx context.Context, every time.Duration, pick func(string, *entry) bool) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.prune()
			m.refresh(ctx, pick)
		}
	}
}

// String describes the manager's configuration without secrets.
func (m *Manager) String() string {
	return fmt.Sprintf("vault=%q (%s) aws-endpoint=%q gcp-endpoint=%q refresh=%s", m.cfg.Vault.Addr, m.cfg.Vault.Auth,
		m.cfg.AWS.Endpoint, m.cfg.GCP.Endpoint, m.cfg.Refresh)
}
