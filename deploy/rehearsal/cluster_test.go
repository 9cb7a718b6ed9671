package rehearsal

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// cluster plays the parts of Kubernetes that a rolling update exercises,
// on this machine: it starts the Deployment's pods as processes (the
// image's entrypoint with the container's args and env, secretKeyRefs
// resolved, each volume a fresh directory, each pod its own loopback
// address as its pod IP), probes them as the kubelet does, keeps the
// Service's endpoints (ready and not terminating pods), and deletes pods as
// the kubelet does (endpoint removal and preStop together, then SIGTERM,
// then SIGKILL at the end of the grace period).
type cluster struct {
	t          *testing.T
	deployment *appsv1.Deployment
	secrets    map[string]map[string]string // Secret name → key → value
	binary     string                       // the image's entrypoint
	subnet     string                       // pod IPs are subnet + n
	client     *http.Client                 // probes

	mu     sync.Mutex
	nextIP int
	pods   []*pod
	// configMaps are the ConfigMaps' mounted directories (shared by every
	// pod, laid out and updated as the kubelet does: see setConfigMap), by name.
	configMaps map[string]*configMapDir
}

// pod is one gateway process.
type pod struct {
	name, ip string
	port     int // the container port named http
	cmd      *exec.Cmd
	log      *syncBuffer
	exited   chan struct{}
	exitErr  error

	started     atomic.Bool // startup probe passed
	ready       atomic.Bool // readiness probe passing
	terminating atomic.Bool
	readySince  atomic.Int64 // unix nanos of the last not-ready → ready transition
	stopProbes  context.CancelFunc
}

// URL is the pod's base URL.
func (p *pod) URL() string { return "http://" + net.JoinHostPort(p.ip, strconv.Itoa(p.port)) }

func newCluster(t *testing.T, d *appsv1.Deployment, secrets map[string]map[string]string, binary string) *cluster {
	// A random /24 of the loopback range, so that concurrent runs on this
	// machine do not collide (every 127.0.0.0/8 address reaches lo).
	subnet := fmt.Sprintf("127.%d.%d.", 100+rand.IntN(150), 1+rand.IntN(250))
	c := &cluster{t: t, deployment: d, secrets: secrets, binary: binary, subnet: subnet,
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}} // probes, like the kubelet's, skip verification
	t.Cleanup(c.killAll)
	return c
}

func (c *cluster) container() corev1.Container { return c.deployment.Spec.Template.Spec.Containers[0] }

// start creates a pod and starts probing it.
func (c *cluster) start() *pod {
	t := c.t
	t.Helper()
	ctr := c.container()
	c.mu.Lock()
	c.nextIP++
	p := &pod{name: fmt.Sprintf("pod-%d", c.nextIP), ip: c.subnet + strconv.Itoa(c.nextIP), log: &syncBuffer{}, exited: make(chan struct{})}
	c.mu.Unlock()
	for _, cp := range ctr.Ports {
		if cp.Name == "http" {
			p.port = int(cp.ContainerPort)
		}
	}
	if p.port == 0 {
		t.Fatal("the container has no port named http")
	}

	// Volumes: each mount is a fresh directory (emptyDir), and env values
	// under a mount path are rewritten to that directory.
	mounts := map[string]string{}
	for _, m := range ctr.VolumeMounts {
		if cm := c.configMapOf(m.Name); cm != "" {
			c.mu.Lock()
			dir, ok := c.configMaps[cm]
			c.mu.Unlock()
			if !ok {
				t.Fatalf("volume %s mounts ConfigMap %s, which does not exist (setConfigMap)", m.Name, cm)
			}
			mounts[m.MountPath] = dir.dir
			continue
		}
		mounts[m.MountPath] = filepath.Join(t.TempDir(), m.Name)
		if err := os.MkdirAll(mounts[m.MountPath], 0o700); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + os.Getenv("PATH")}
	for _, e := range ctr.Env {
		v := e.Value
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			s, ok := c.secrets[ref.Name][ref.Key]
			if !ok {
				t.Fatalf("$%s refers to secret %s key %s, which does not exist", e.Name, ref.Name, ref.Key)
			}
			v = s
		case e.ValueFrom != nil:
			t.Fatalf("$%s: unsupported valueFrom %+v", e.Name, e.ValueFrom)
		}
		// ":8080" listens on every address of the pod's network namespace;
		// here the pod's namespace is its address.
		if strings.HasPrefix(v, ":") && e.Name == "TOLLGATE_LISTEN_ADDR" {
			v = p.ip + v
		}
		// One rewrite, by the deepest mount that holds the path: a
		// rewritten value (a temporary directory) may itself lie under
		// another mount path such as /tmp, and map order is random.
		best := ""
		for path := range mounts {
			if (v == path || strings.HasPrefix(v, path+"/")) && len(path) > len(best) {
				best = path
			}
		}
		if best != "" {
			v = mounts[best] + strings.TrimPrefix(v, best)
		}
		env = append(env, e.Name+"="+v)
	}
	if len(ctr.Command) > 0 {
		t.Fatalf("the chart overrides the image's entrypoint with %q", ctr.Command)
	}
	p.cmd = exec.Command(c.binary, ctr.Args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		close(p.exited)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	p.stopProbes = cancel
	go c.probe(ctx, p)
	c.mu.Lock()
	c.pods = append(c.pods, p)
	c.mu.Unlock()
	return p
}

// configMapOf returns the ConfigMap a pod volume mounts, "" for another kind.
func (c *cluster) configMapOf(volume string) string {
	for _, v := range c.deployment.Spec.Template.Spec.Volumes {
		if v.Name == volume && v.ConfigMap != nil {
			return v.ConfigMap.Name
		}
	}
	return ""
}

// configMapDir is a ConfigMap volume as the kubelet lays it out: each key
// a symlink through "..data" to a timestamped directory of the files, so
// that an update (a new directory and an atomic rename of "..data") is
// seen whole by every pod mounting it.
type configMapDir struct {
	dir string
	n   int
}

// setConfigMap creates or updates the ConfigMap name with data.
func (c *cluster) setConfigMap(name string, data map[string]string) {
	t := c.t
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.configMaps == nil {
		c.configMaps = map[string]*configMapDir{}
	}
	cm, ok := c.configMaps[name]
	if !ok {
		cm = &configMapDir{dir: t.TempDir()}
		c.configMaps[name] = cm
	}
	cm.n++
	ts := fmt.Sprintf("..2026_12_06_00_00_%02d.%d", cm.n, rand.IntN(1e9))
	if err := os.Mkdir(filepath.Join(cm.dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(cm.dir, ts, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(cm.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(cm.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for k := range data {
		link := filepath.Join(cm.dir, k)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", k), link); err != nil {
			t.Fatal(err)
		}
	}
}

// probe runs the pod's startup, then readiness and liveness probes with the
// periods, timeouts and thresholds of the pod spec.
func (c *cluster) probe(ctx context.Context, p *pod) {
	ctr := c.container()
	check := func(pr *corev1.Probe) bool {
		g := pr.HTTPGet
		port := g.Port
		if port.Type == intstr.String && port.StrVal != "http" {
			c.t.Errorf("probe port %s: only the http port is emulated", port.StrVal)
			return false
		}
		scheme := "http"
		if g.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		pctx, cancel := context.WithTimeout(ctx, time.Duration(pr.TimeoutSeconds)*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(pctx, http.MethodGet, scheme+"://"+net.JoinHostPort(p.ip, strconv.Itoa(p.port))+g.Path, nil)
		resp, err := c.client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode >= 200 && resp.StatusCode < 400
	}
	period := func(pr *corev1.Probe) time.Duration { return time.Duration(pr.PeriodSeconds) * time.Second }

	// Startup.
	st := ctr.StartupProbe
	for failures := 0; !check(st); {
		failures++
		if failures >= int(st.FailureThreshold) {
			if !p.terminating.Load() {
				c.t.Errorf("%s: startup probe failed %d times; log:\n%s", p.name, failures, p.log)
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(period(st)):
		}
	}
	p.started.Store(true)

	// Readiness and liveness.
	rp, lp := ctr.ReadinessProbe, ctr.LivenessProbe
	rt, lt := time.NewTicker(period(rp)), time.NewTicker(period(lp))
	defer rt.Stop()
	defer lt.Stop()
	var okRun, failRun, liveFails int
	readiness := func() {
		if check(rp) {
			okRun, failRun = okRun+1, 0
			if okRun >= int(rp.SuccessThreshold) && !p.ready.Load() {
				p.readySince.Store(time.Now().UnixNano())
				p.ready.Store(true)
			}
			return
		}
		okRun, failRun = 0, failRun+1
		if failRun >= int(rp.FailureThreshold) && p.ready.Load() {
			p.ready.Store(false)
			if !p.terminating.Load() {
				c.t.Logf("%s: readiness lost", p.name)
			}
		}
	}
	readiness()
	for {
		select {
		case <-ctx.Done():
			return
		case <-rt.C:
			readiness()
		case <-lt.C:
			if check(lp) {
				liveFails = 0
			} else if liveFails++; liveFails >= int(lp.FailureThreshold) && !p.terminating.Load() {
				c.t.Errorf("%s: liveness probe failed %d times: the kubelet would restart it", p.name, liveFails)
			}
		}
	}
}

// endpoints are the pods a Service sends traffic to: ready, not terminating.
func (c *cluster) endpoints() []*pod {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*pod
	for _, p := range c.pods {
		if p.ready.Load() && !p.terminating.Load() {
			out = append(out, p)
		}
	}
	return out
}

// waitAvailable waits until p is ready and has stayed ready for the
// Deployment's minReadySeconds (the rolling update's pace).
func (c *cluster) waitAvailable(p *pod, timeout time.Duration) {
	c.t.Helper()
	minReady := time.Duration(c.deployment.Spec.MinReadySeconds) * time.Second
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.ready.Load() && time.Since(time.Unix(0, p.readySince.Load())) >= minReady {
			return
		}
		select {
		case <-p.exited:
			c.t.Fatalf("%s exited before it was available: %v\n%s", p.name, p.exitErr, p.log)
		case <-time.After(100 * time.Millisecond): // the Deployment controller's resync, not synchronisation
		}
	}
	c.t.Fatalf("%s not available after %s; log:\n%s", p.name, timeout, p.log)
}

// terminated describes how a deleted pod went.
type terminated struct {
	pod      *pod
	sigterm  time.Time
	drain    time.Duration // SIGTERM → exit
	killed   bool          // still running at the end of the grace period
	exitCode int
}

// delete deletes p as the kubelet does and reports how it ended.
func (c *cluster) delete(p *pod) terminated {
	spec := c.deployment.Spec.Template.Spec
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	start := time.Now()
	p.terminating.Store(true) // the endpoints controller removes it…
	if h := c.container().Lifecycle.PreStop; h != nil && h.Sleep != nil {
		time.Sleep(time.Duration(h.Sleep.Seconds) * time.Second) // simulated: …while preStop runs, the chart's sleep action, not synchronisation
	}
	term := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	res := terminated{pod: p, sigterm: term}
	select {
	case <-p.exited:
	case <-time.After(grace - time.Since(start)):
		res.killed = true
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	res.drain = time.Since(term)
	p.stopProbes()
	if p.cmd.ProcessState != nil {
		res.exitCode = p.cmd.ProcessState.ExitCode()
	}
	c.mu.Lock()
	for i, q := range c.pods {
		if q == p {
			c.pods = append(c.pods[:i], c.pods[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	return res
}

func (c *cluster) killAll() {
	c.mu.Lock()
	pods := append([]*pod(nil), c.pods...)
	c.mu.Unlock()
	for _, p := range pods {
		p.stopProbes()
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
