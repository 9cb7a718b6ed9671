// Package rehearsal rehearses a multi-replica Kubernetes deployment of
// Tollgate on one machine, without Kubernetes: the Helm chart is rendered,
// and its Deployment's pods run as processes on one PostgreSQL the way the
// kubelet would run them (see cluster). A long test: `make test-long` runs it.
package rehearsal

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/genproto/googleapis/type/money"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/tollgate-dev/tollgate/deploy/helm/helmtest"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if skipLong() {
		os.Exit(m.Run()) // the tests skip themselves
	}
	os.Exit(pgtest.Run(m))
}

// longEnv makes long tests run under -short too (make test-long sets it).
const longEnv = "TOLLGATE_LONG_TESTS"

// skipLong reports whether long tests are skipped: under -short (make
// test), unless $TOLLGATE_LONG_TESTS is 1.
func skipLong() bool { return testing.Short() && os.Getenv(longEnv) != "1" }

const (
	secretName = "tollgate-rehearsal"
	adminToken = "rehearsal-admin-token-7c9d1e"
	// metricsToken reads /metrics on the API port.
	metricsToken = "rehearsal-metrics-token-3b8f0a"
	model        = "gpt-4o-mini"
	slowModel    = "slow-stream"
)

// TestLongRollingRestart renders the chart for 3 replicas, starts them as the
// kubelet would, restarts them one at a time under load exactly as a
// rolling update does, and checks that no request failed, that every
// answered request id has its record in Postgres exactly once, that every
// deleted pod drained within its grace period, and that a configuration
// change made through one replica is live on the others within a second.
func TestLongRollingRestart(t *testing.T) {
	if skipLong() {
		t.Skip("long test (3 gateways through a rolling restart): make test-long runs it")
	}
	r, err := helmtest.Render(map[string]any{
		"replicaCount": 3,
		"secrets":      map[string]any{"name": secretName},
		"env":          map[string]any{"TOLLGATE_LOG_REQUESTS": "false", "TOLLGATE_METRICS_TOKEN": metricsToken},
		// Pods share the host's network here: /metrics is read on the API
		// port with the metrics token instead of on a shared 9090.
		"metrics": map[string]any{"port": 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := helmtest.One[*appsv1.Deployment](r)
	if err != nil {
		t.Fatal(err)
	}
	replicas := int(*d.Spec.Replicas)
	dbURL := pgtest.NewDatabase(t)
	secrets := map[string]map[string]string{secretName: {
		"master-key":   strings.Repeat("5a", 32),
		"admin-token":  adminToken,
		"database-url": dbURL,
	}}
	c := newCluster(t, d, secrets, buildGateway(t))

	// The fast model answers in ~100 ms (streams in 4 chunks); the slow
	// one streams 24 chunks over ~12 s, longer than preStop, so that streams
	// are still in flight when a deleted pod gets SIGTERM and must drain.
	fast, fastURL := fakeupstream.StartOpenAI(t, fakeupstream.WithLatency(40*time.Millisecond),
		fakeupstream.WithChunks(4), fakeupstream.WithChunkDelay(20*time.Millisecond))
	_, slowURL := fakeupstream.StartOpenAI(t, fakeupstream.WithChunks(24), fakeupstream.WithChunkDelay(500*time.Millisecond),
		fakeupstream.WithReply(strings.Repeat("a slow answer in many small chunks ", 8)))

	old := make([]*pod, replicas)
	for i := range old {
		old[i] = c.start()
	}
	for _, p := range old {
		c.waitAvailable(p, 2*time.Minute)
	}
	key := setup(t, old[0], fastURL, slowURL)
	// A key created through one replica is usable on the others once the
	// change notification arrived (tens of milliseconds).
	for _, p := range old[1:] {
		until(t, time.Second, func() bool { _, err := chat(http.DefaultClient, p, key, model, "hello", false); return err == nil })
	}

	// Load through the Service for the whole rollout: short requests, and
	// long streams that outlive preStop.
	load := startLoad(t, c, key, []worker{{model, 6}, {slowModel, 6}})
	load.waitFor(t, 200)

	// The rolling update: maxSurge 1, maxUnavailable 0. A new pod is
	// created; once it is available an old one is deleted (its drain
	// overlaps the next new pod's start, as with the Deployment controller).
	var wg sync.WaitGroup
	results := make([]terminated, replicas)
	fresh := make([]*pod, replicas)
	for i := range old {
		fresh[i] = c.start()
		c.waitAvailable(fresh[i], 2*time.Minute)
		// A client that started a long stream on the old pod just before
		// its deletion: the stream must survive preStop and the drain.
		load.send(old[i], key, slowModel, true, "a long stream across the deletion")
		wg.Go(func() { results[i] = c.delete(old[i]) })
	}
	wg.Wait()
	before := load.answered()
	load.waitFor(t, before+200) // the new pods serve on their own
	answered, failures := load.stop()
	drained := load.inFlightAt(results)
	for _, res := range results {
		if drained[res.pod] == 0 {
			t.Errorf("%s: no request was in flight at SIGTERM: the rehearsal did not exercise its drain", res.pod.name)
		}
	}

	grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	for _, res := range results {
		t.Logf("%s: exit %d, drained in %s (grace %s)", res.pod.name, res.exitCode, res.drain.Round(time.Millisecond), grace)
		if res.killed || res.exitCode != 0 {
			t.Errorf("%s: killed=%v exit=%d: a pod must drain and exit cleanly within its grace period; log:\n%s",
				res.pod.name, res.killed, res.exitCode, res.pod.log)
		}
	}
	inFlight := 0
	for _, n := range drained {
		inFlight += n
	}
	t.Logf("load: %d requests answered, %d failed; %d were in flight on a pod when it got SIGTERM, and completed", len(answered), len(failures), inFlight)
	if len(failures) > 0 {
		t.Errorf("%d requests failed during the rolling restart, e.g. %v", len(failures), failures[:min(5, len(failures))])
	}

	// Every answered request has its record, exactly once.
	checkRecords(t, dbURL, answered)

	// A change made through one replica is live on the others within a second.
	checkPropagation(t, fresh)

	// The shipped alerting rules name only metrics the gateway exports
	// (one failed upstream attempt makes the error counter appear).
	fast.Enqueue(fakeupstream.StatusFault(http.StatusServiceUnavailable))
	_, _ = chat(http.DefaultClient, fresh[0], key, model, "one upstream failure", false)
	checkAlertMetrics(t, fresh[0])
}

// buildGateway builds the binary the image carries (CGO_ENABLED=0, as make
// release does).
func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tollgate")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/tollgate")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly -buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// adminClients are the configuration services of one pod, with the admin token.
type adminClients struct {
	catalog tollgatev1connect.CatalogServiceClient
	teams   tollgatev1connect.TeamServiceClient
}

func adminClient(p *pod) adminClients {
	auth := connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+adminToken)
			return next(ctx, req)
		}
	}))
	return adminClients{
		catalog: tollgatev1connect.NewCatalogServiceClient(http.DefaultClient, p.URL(), auth),
		teams:   tollgatev1connect.NewTeamServiceClient(http.DefaultClient, p.URL(), auth),
	}
}

// setup creates two providers (fast and slow), a model on each, a team
// and a key through one replica and returns the key's secret.
func setup(t *testing.T, p *pod, fastURL, slowURL string) string {
	t.Helper()
	ctx := t.Context()
	admin := adminClient(p)
	price := &tollgatev1.ModelPricing{
		InputPerMillion:  &money.Money{CurrencyCode: "USD", Nanos: 150_000_000},
		OutputPerMillion: &money.Money{CurrencyCode: "USD", Nanos: 600_000_000},
	}
	for _, up := range []struct{ provider, url, model string }{{"fast", fastURL, model}, {"slow", slowURL, slowModel}} {
		if _, err := admin.catalog.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
			Provider:   &tollgatev1.Provider{Id: up.provider, Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, BaseUrl: up.url},
			Credential: "sk-upstream-rehearsal",
		})); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.catalog.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
			Name: up.model, ProviderId: up.provider, UpstreamModel: "gpt-4o-mini", ContextWindow: 128000, Pricing: price,
		}})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.teams.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "search", DisplayName: "Search"}})); err != nil {
		t.Fatal(err)
	}
	resp, err := admin.teams.CreateKey(ctx, connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{Name: "load", TeamId: "search"}}))
	if err != nil {
		t.Fatal(err)
	}
	return resp.Msg.GetSecret()
}

// load sends chat completions, unary and streamed, through the Service:
// each request goes to the next ready endpoint, as an L7 proxy or mesh in
// front of the Service would send it.
type load struct {
	client   *http.Client
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	count    atomic.Int64
	mu       sync.Mutex
	ids      []string
	failures []string
	spans    []span
}

// span is when an answered request was in flight, and where.
type span struct {
	pod        *pod
	start, end time.Time
}

// inFlightAt counts, per deleted pod, the answered requests that were in
// flight on it when it got SIGTERM.
func (l *load) inFlightAt(results []terminated) map[*pod]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := map[*pod]int{}
	for _, r := range results {
		for _, s := range l.spans {
			if s.pod == r.pod && s.start.Before(r.sigterm) && s.end.After(r.sigterm) {
				n[r.pod]++
			}
		}
	}
	return n
}

// worker is a kind of load: n workers sending requests for model.
type worker struct {
	model string
	n     int
}

func startLoad(t *testing.T, c *cluster, key string, workers []worker) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel, client: &http.Client{Timeout: 30 * time.Second}}
	var next atomic.Uint64
	deadline := time.Now().Add(10 * time.Minute) // bounded in time…
	for _, kind := range workers {
		for w := range kind.n {
			l.wg.Go(func() {
				for i := 0; i < 100_000 && ctx.Err() == nil && time.Now().Before(deadline); i++ { // …and in count
					eps := c.endpoints()
					if len(eps) == 0 {
						l.fail("no ready endpoint")
						continue
					}
					p := eps[next.Add(1)%uint64(len(eps))]
					stream := kind.model == slowModel || i%2 == 1
					l.do(p, key, kind.model, stream, fmt.Sprintf("%s worker %d request %d", kind.model, w, i))
				}
			})
		}
	}
	t.Cleanup(func() { l.stop() })
	return l
}

// do sends one request to p and records its outcome.
func (l *load) do(p *pod, key, model string, stream bool, text string) {
	start := time.Now()
	id, err := chat(l.client, p, key, model, text, stream)
	if err != nil {
		l.fail(fmt.Sprintf("%s: %v", p.name, err))
		return
	}
	l.mu.Lock()
	l.ids = append(l.ids, id)
	l.spans = append(l.spans, span{pod: p, start: start, end: time.Now()})
	l.mu.Unlock()
	l.count.Add(1)
}

// send sends one request to p in the background, counted with the load.
func (l *load) send(p *pod, key, model string, stream bool, text string) {
	l.wg.Go(func() { l.do(p, key, model, stream, text) })
}

func (l *load) fail(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, msg)
}

func (l *load) answered() int64 { return l.count.Load() }

// waitFor waits until n requests have been answered.
func (l *load) waitFor(t *testing.T, n int64) {
	t.Helper()
	testutil.EventuallyWithin(t, 2*time.Minute, func() error {
		if got := l.count.Load(); got < n {
			l.mu.Lock()
			defer l.mu.Unlock()
			return fmt.Errorf("only %d of %d requests answered; failures: %v", got, n, l.failures)
		}
		return nil
	})
}

func (l *load) stop() ([]string, []string) {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ids), slices.Clone(l.failures)
}

// chat sends one OpenAI chat completion and returns the gateway's request
// id; any answer but a complete 200 is an error.
func chat(client *http.Client, p *pod, key, model, text string, stream bool) (string, error) {
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}],"stream":%t}`, model, text, stream)
	req, _ := http.NewRequest(http.MethodPost, p.URL()+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	if stream && !strings.HasSuffix(strings.TrimSpace(string(b)), "data: [DONE]") {
		return "", fmt.Errorf("stream ended early: %q", b)
	}
	if !stream && !strings.Contains(string(b), `"choices"`) {
		return "", fmt.Errorf("no choices: %s", b)
	}
	id := resp.Header.Get("X-Request-Id")
	if id == "" {
		return "", errors.New("no x-request-id")
	}
	return id, nil
}

// checkRecords waits for the writers to flush and checks that every
// answered request id has exactly one record.
func checkRecords(t *testing.T, dbURL string, answered []string) {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var missing []string
	counts := map[string]int{}
	// Poll the table while the writers flush; missing says what is left.
	_ = testutil.Poll(t.Context(), 30*time.Second, func() error {
		clear(counts)
		rows, err := pool.Query(t.Context(), `SELECT request_id, count(*) FROM request_records GROUP BY request_id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				t.Fatal(err)
			}
			counts[id] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		missing = missing[:0]
		for _, id := range answered {
			if counts[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%d answered requests not recorded", len(missing))
		}
		return nil
	})
	dups := 0
	for _, id := range answered {
		if counts[id] > 1 {
			dups++
		}
	}
	var bytes int64
	if err := pool.QueryRow(t.Context(), `SELECT coalesce(sum(pg_total_relation_size(relid)), 0)::bigint FROM pg_partition_tree('request_records') WHERE isleaf AND pg_relation_size(relid) > 0`).Scan(&bytes); err != nil {
		t.Fatal(err)
	}
	t.Logf("records: %d answered, %d stored, %d missing, %d duplicated; the partitions holding them take %d bytes with their indexes (%d per record)",
		len(answered), len(counts), len(missing), dups, bytes, bytes/int64(max(1, len(counts))))
	if len(missing) > 0 || dups > 0 {
		t.Errorf("%d answered requests have no record (e.g. %v) and %d more than one", len(missing), missing[:min(5, len(missing))], dups)
	}
}

// checkPropagation creates a key through one replica and revokes it through
// another, and measures how long each change takes to be live on the rest.
func checkPropagation(t *testing.T, pods []*pod) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := adminClient(pods[0]).teams.CreateKey(t.Context(), connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{Name: "propagation", TeamId: "search"}}))
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	secret, id := resp.Msg.GetSecret(), resp.Msg.GetKey().GetId()
	for _, p := range pods[1:] {
		took := until(t, time.Second, func() bool { _, err := chat(client, p, secret, model, "new key", false); return err == nil })
		t.Logf("key created on %s: accepted on %s after %s", pods[0].name, p.name, took.Round(time.Millisecond))
	}
	t.Logf("(%s since the create returned)", time.Since(created).Round(time.Millisecond))

	if _, err := adminClient(pods[1]).teams.RevokeKey(t.Context(), connect.NewRequest(&tollgatev1.RevokeKeyRequest{Id: id})); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*pod{pods[0], pods[2]} {
		took := until(t, time.Second, func() bool {
			_, err := chat(client, p, secret, model, "revoked key", false)
			return err != nil && strings.Contains(err.Error(), "status 401")
		})
		t.Logf("key revoked on %s: refused on %s after %s", pods[1].name, p.name, took.Round(time.Millisecond))
	}
}

// until polls cond until it holds and returns how long that took; it fails
// the test if cond does not hold within limit.
func until(t *testing.T, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	if err := testutil.Poll(t.Context(), limit, func() error {
		if !cond() {
			return errors.New("not live")
		}
		return nil
	}); err != nil {
		t.Errorf("not live within %s", limit)
	}
	return time.Since(start)
}

// checkAlertMetrics checks that every tollgate_* metric the shipped rules
// use is exported by a pod that has served traffic.
func checkAlertMetrics(t *testing.T, p *pod) {
	t.Helper()
	rules, err := os.ReadFile(filepath.Join(helmtest.ChartDir(), "files", "prometheus-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, p.URL()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	exported := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if name, _, ok := strings.Cut(sc.Text(), " "); ok && !strings.HasPrefix(name, "#") {
			name, _, _ = strings.Cut(name, "{")
			exported[name] = true
		}
	}
	used := regexp.MustCompile(`tollgate_[a-z_]+`).FindAllString(string(rules), -1)
	if len(used) == 0 {
		t.Fatal("the rules name no tollgate metric")
	}
	for _, m := range used {
		if !exported[m] {
			t.Errorf("the alerting rules use %s, which %s does not export", m, p.name)
		}
	}
}
