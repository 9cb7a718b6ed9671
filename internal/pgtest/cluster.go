package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ErrVectorMissing reports that the pgvector extension is not installed for
// the PostgreSQL server binaries that pgtest uses. [CheckVector] wraps it.
var ErrVectorMissing = errors.New("pgtest: pgvector extension is not installed")

// ErrClosed is returned by [Cluster.Start] and [Cluster.Stop] after
// [Cluster.Close].
var ErrClosed = errors.New("pgtest: cluster is closed")

// errPortInUse marks a start that failed because the port was taken, which
// StartCluster answers by retrying on another port.
var errPortInUse = errors.New("port already in use")

const (
	// superuser is the cluster's bootstrap superuser, with trust auth.
	superuser = "postgres"
	// tempPrefix names the temporary directories of throwaway clusters.
	tempPrefix = "tollgate-pgtest-"
	// ownerFile, in a throwaway cluster's directory, holds the PID of the
	// process that owns it, so that later runs can remove it after a crash.
	ownerFile = "owner.pid"
	// portFile, in a persistent cluster's directory, remembers its port.
	portFile = "port"
	// startAttempts bounds the retries on a port collision.
	startAttempts = 5
	// defaultStartTimeout applies when the caller's context has no deadline.
	defaultStartTimeout = time.Minute
	// shutdownGrace is how long an immediate shutdown may take before the
	// postmaster is killed.
	shutdownGrace = 10 * time.Second
)

// Options configures [StartCluster]. The zero value starts a throwaway
// cluster in a fresh temporary directory on a free port.
type Options struct {
	// Logf, if set, receives progress messages; t.Logf and log.Printf fit.
	Logf func(format string, args ...any)
	// Dir, if set, is a persistent home for the cluster: the data directory
	// is Dir/data and the server log Dir/postgres.log. A cluster already in
	// Dir is reused, and Close leaves Dir in place. When running as root, the
	// postgres user must be able to reach Dir (every parent searchable).
	Dir string
	// Port, if set, is the TCP port to listen on; StartCluster fails if it is
	// taken. If zero, a persistent Dir reuses the port it used last when that
	// port is still free, and otherwise a free port is picked.
	Port int
	// MaxConnections is the server's max_connections; 0 means 300. A server
	// shared by every test binary of a run needs more.
	MaxConnections int
}

// Cluster is a throwaway PostgreSQL cluster in a temp dir, listening on
// 127.0.0.1 at a free port, with the superuser postgres and trust
// authentication. Create one with [StartCluster]; its methods are safe for
// concurrent use.
//
// The postmaster runs as a child of the current process and receives SIGQUIT
// (immediate shutdown) if this process dies, so a crashed test binary does
// not leave a server behind.
type Cluster struct {
	dir     string              // root: data/, postgres.log, sockets
	dataDir string              // PGDATA
	logPath string              // server log, appended to by every start
	binDir  string              // directory of initdb and postgres
	keepDir bool                // Options.Dir was set: Close keeps dir
	maxConn int                 // max_connections
	dbs     *databases          // test databases (NewDatabase)
	cred    *syscall.Credential // run as postgres; nil when not root
	logf    func(format string, args ...any)

	mu     sync.Mutex
	port   int
	pm     *postmaster // nil when stopped
	closed bool
}

// postmaster is one run of the server process.
type postmaster struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
}

// StartCluster creates a cluster with initdb (or reuses the one in
// opts.Dir), starts it and waits until it accepts connections. When the
// process runs as root, initdb and the server run as the postgres OS user.
// The caller must call [Cluster.Close].
func StartCluster(ctx context.Context, opts Options) (*Cluster, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	binDir, err := findBinDir(ctx)
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	c := &Cluster{binDir: binDir, cred: cred, logf: opts.Logf, maxConn: opts.MaxConnections}
	if c.maxConn <= 0 {
		c.maxConn = 300
	}
	c.dbs = newDatabases(func(context.Context) (string, error) { return c.DSN("postgres"), nil })
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}

	if opts.Dir != "" {
		if err := c.usePersistentDir(opts.Dir); err != nil {
			return nil, err
		}
	} else if err := c.makeTempDir(); err != nil {
		return nil, err
	}
	c.dataDir = filepath.Join(c.dir, "data")
	c.logPath = filepath.Join(c.dir, "postgres.log")

	// From here on, Close undoes whatever was done.
	if err := c.startNew(ctx, opts.Port); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

// startNew runs initdb when needed and starts the server for the first time,
// moving to another port when the chosen one turns out to be taken.
func (c *Cluster) startNew(ctx context.Context, fixedPort int) error {
	began := time.Now()
	_, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION"))
	switch {
	case err == nil:
		c.logf("pgtest: reusing the cluster in %s", c.dataDir)
	case errors.Is(err, fs.ErrNotExist):
		if err := c.initdb(ctx); err != nil {
			return err
		}
	default:
		return fmt.Errorf("pgtest: inspect data directory: %w", err)
	}

	port := fixedPort
	if port == 0 && c.keepDir {
		port = c.readPortFile()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for attempt := 1; ; attempt++ {
		if port == 0 {
			if port, err = freePort(); err != nil {
				return err
			}
		}
		c.port = port
		err := c.start(ctx)
		if err == nil {
			break
		}
		if fixedPort != 0 || attempt == startAttempts || !errors.Is(err, errPortInUse) {
			return err
		}
		c.logf("pgtest: port %d is taken, trying another", port)
		port = 0
	}
	if c.keepDir {
		if err := c.writeFile(portFile, strconv.Itoa(c.port)+"\n"); err != nil {
			return err
		}
	}
	c.logf("pgtest: PostgreSQL ready on 127.0.0.1:%d in %v (data %s)", c.port, time.Since(began).Round(time.Millisecond), c.dataDir)
	return nil
}

// DSN returns the URL of database dbname as the superuser, for example
// postgres://postgres@127.0.0.1:PORT/dbname?sslmode=disable.
func (c *Cluster) DSN(dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port())),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port returns the TCP port the cluster listens on; it does not change
// across [Cluster.Stop] and [Cluster.Start].
func (c *Cluster) Port() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.port
}

// NewDatabase is the package's [NewDatabase] on this cluster: a fresh
// database with the vector extension, dropped when the test ends.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	return c.dbs.create(t, emptyTemplate)
}

// NewMigratedDatabase is the package's [NewMigratedDatabase] on this
// cluster: a fresh database with every migration applied.
func (c *Cluster) NewMigratedDatabase(t testing.TB) string {
	t.Helper()
	return c.dbs.create(t, migratedTemplate)
}

// LogPath returns the path of the server log, which collects the output of
// every start of the cluster.
func (c *Cluster) LogPath() string { return c.logPath }

// Stop shuts the server down (fast shutdown: sessions are disconnected,
// data is kept), for tests of database outages. It is a no-op when the
// server is not running. If ctx ends first, the server is shut down
// immediately instead.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if err := c.shutdown(ctx, syscall.SIGINT); err != nil {
		return err
	}
	c.logf("pgtest: PostgreSQL on port %d stopped", c.port)
	return nil
}

// Start starts a stopped server again on the same port and waits until it
// accepts connections. It is a no-op when the server is running.
func (c *Cluster) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.pm != nil {
		select {
		case <-c.pm.done: // died on its own; start it again
			c.pm = nil
		default:
			return nil
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	return c.start(ctx)
}

// Close shuts the server down immediately and removes the cluster's
// directory, unless it came from [Options.Dir]. Close is idempotent.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*shutdownGrace)
	defer cancel()
	err := c.shutdown(ctx, syscall.SIGQUIT)
	if !c.keepDir && c.dir != "" {
		if rmErr := os.RemoveAll(c.dir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("pgtest: remove cluster directory: %w", rmErr))
		}
	}
	return err
}

// start launches the postmaster on c.port and waits for it to be ready.
// c.mu must be held.
func (c *Cluster) start(ctx context.Context) error {
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgtest: open server log: %w", err)
	}
	logStart, err := logFile.Seek(0, io.SeekEnd)
	if err != nil {
		logFile.Close()
		return fmt.Errorf("pgtest: open server log: %w", err)
	}

	settings := []string{
		"port=" + strconv.Itoa(c.port),
		"listen_addresses=127.0.0.1",
		"unix_socket_directories=" + c.socketDirs(),
		"max_connections=" + strconv.Itoa(c.maxConn),
		"fsync=off",
		"synchronous_commit=off",
		"full_page_writes=off",
	}
	args := []string{"-D", c.dataDir}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"), args...)
	cmd.Dir = c.dir
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: c.cred,
		// Immediate shutdown when this process dies, however it dies.
		Pdeathsig: syscall.SIGQUIT,
		// Keep a terminal's ^C for this process, which then shuts down.
		Setpgid: true,
	}

	pm := &postmaster{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that forked the
		// child exits, not the process. Keep this goroutine on its thread
		// (so the runtime never retires it) until the postmaster is gone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := cmd.Start()
		logFile.Close()
		started <- err
		if err != nil {
			return
		}
		_ = cmd.Wait() // the exit status says nothing the log does not
		close(pm.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}

	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if c.ready(cmd.Process.Pid) {
			c.pm = pm
			return nil
		}
		select {
		case <-pm.done:
			tail := c.logTail(logStart)
			if strings.Contains(tail, "Address already in use") {
				return fmt.Errorf("pgtest: start postgres on port %d: %w; %s", c.port, errPortInUse, tail)
			}
			return fmt.Errorf("pgtest: postgres exited during startup (%s); server log %s:\n%s", cmd.ProcessState, c.logPath, tail)
		case <-ctx.Done():
			c.pm = pm
			_ = c.shutdown(context.Background(), syscall.SIGQUIT)
			return fmt.Errorf("pgtest: waiting for postgres to start: %w; server log %s:\n%s", ctx.Err(), c.logPath, c.logTail(logStart))
		case <-tick.C:
		}
	}
}

// ready reports whether the postmaster with the given PID has announced in
// postmaster.pid that it accepts connections, as pg_ctl -w checks it.
func (c *Cluster) ready(pid int) bool {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	// Line 1 is the PID, line 8 the status (PM_STATUS_READY is "ready").
	return len(lines) >= 8 && strings.TrimSpace(lines[0]) == strconv.Itoa(pid) && strings.TrimSpace(lines[7]) == "ready"
}

// shutdown sends sig to the postmaster and waits for it to exit. If ctx
// ends first, it escalates to SIGQUIT and then SIGKILL. c.mu must be held.
func (c *Cluster) shutdown(ctx context.Context, sig syscall.Signal) error {
	pm := c.pm
	if pm == nil {
		return nil
	}
	c.pm = nil
	p := pm.cmd.Process
	if err := p.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pgtest: signal postgres: %w", err)
	}
	select {
	case <-pm.done:
		return nil
	case <-ctx.Done():
	}
	_ = p.Signal(syscall.SIGQUIT)
	select {
	case <-pm.done:
	case <-time.After(shutdownGrace):
		_ = p.Kill()
		<-pm.done
	}
	return fmt.Errorf("pgtest: waiting for postgres to stop: %w", ctx.Err())
}

// initdb creates the data directory.
func (c *Cluster) initdb(ctx context.Context) error {
	began := time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "initdb"),
		"-D", c.dataDir,
		"-U", superuser,
		"--auth=trust", // local and host 127.0.0.1/32 (and ::1)
		"--encoding=UTF8",
		"--locale=C",
		"--no-sync",
		"--no-instructions",
	)
	cmd.Dir = c.dir
	cmd.Env = serverEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w:\n%s", err, bytes.TrimSpace(out))
	}
	c.logf("pgtest: initdb %s took %v", c.dataDir, time.Since(began).Round(time.Millisecond))
	return nil
}

// makeTempDir creates the directory of a throwaway cluster, after removing
// those that crashed test processes left behind.
func (c *Cluster) makeTempDir() error {
	parent := os.TempDir()
	if c.cred != nil && reachableByOthers(parent) != nil {
		parent = "/tmp" // e.g. TMPDIR under /root
	}
	removeStaleDirs(parent, c.logf)
	dir, err := os.MkdirTemp(parent, tempPrefix)
	if err != nil {
		return fmt.Errorf("pgtest: create cluster directory: %w", err)
	}
	c.dir = dir
	if err := c.writeFile(ownerFile, strconv.Itoa(os.Getpid())+"\n"); err != nil {
		return errors.Join(err, os.RemoveAll(dir))
	}
	if err := c.chown(dir); err != nil {
		return errors.Join(err, os.RemoveAll(dir))
	}
	return nil
}

// usePersistentDir adopts dir, creating it if needed.
func (c *Cluster) usePersistentDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("pgtest: cluster directory: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return fmt.Errorf("pgtest: create cluster directory: %w", err)
	}
	c.dir, c.keepDir = abs, true
	if c.cred != nil {
		if err := reachableByOthers(filepath.Dir(abs)); err != nil {
			return fmt.Errorf("pgtest: the postgres user cannot reach %s: %w", abs, err)
		}
	}
	return c.chown(abs)
}

// readPortFile returns the port a persistent cluster used last, or 0.
func (c *Cluster) readPortFile() int {
	b, err := os.ReadFile(filepath.Join(c.dir, portFile))
	if err != nil {
		return 0
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || port <= 0 || port > 65535 {
		return 0
	}
	return port
}

// writeFile writes a small file into the cluster's root directory.
func (c *Cluster) writeFile(name, content string) error {
	if err := os.WriteFile(filepath.Join(c.dir, name), []byte(content), 0o600); err != nil {
		return fmt.Errorf("pgtest: write %s: %w", name, err)
	}
	return nil
}

// chown hands path to the user the server runs as, if that is not us.
func (c *Cluster) chown(path string) error {
	if c.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
		return fmt.Errorf("pgtest: chown %s to the postgres user: %w", path, err)
	}
	return nil
}

// socketDirs returns the unix_socket_directories setting: the cluster's
// directory, or none when its path is too long for a socket address.
func (c *Cluster) socketDirs() string {
	const maxSocketPath = 107 // sizeof(sun_path) - 1 on Linux
	if len(c.dir)+len("/.s.PGSQL.65535.lock") > maxSocketPath || strings.ContainsAny(c.dir, `",`) {
		return ""
	}
	return `"` + c.dir + `"`
}

// logTail returns the end of what the server logged since offset.
func (c *Cluster) logTail(offset int64) string {
	const maxTail = 4 << 10
	f, err := os.Open(c.logPath)
	if err != nil {
		return fmt.Sprintf("(server log unreadable: %v)", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size()-offset > maxTail {
		offset = fi.Size() - maxTail
	}
	b, err := io.ReadAll(io.NewSectionReader(f, offset, maxTail))
	if err != nil {
		return fmt.Sprintf("(server log unreadable: %v)", err)
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "(server log empty)"
}

// CheckVector reports whether the pgvector extension is installed for the
// PostgreSQL server binaries that [StartCluster] uses. The error wraps
// [ErrVectorMissing] and tells how to install it.
func CheckVector(ctx context.Context) error {
	binDir, err := findBinDir(ctx)
	if err != nil {
		return err
	}
	pgConfig := filepath.Join(binDir, "pg_config")
	if _, err := os.Stat(pgConfig); err != nil {
		pgConfig = "pg_config"
	}
	out, err := exec.CommandContext(ctx, pgConfig, "--sharedir").Output()
	if err != nil {
		return fmt.Errorf("pgtest: %s --sharedir: %w", pgConfig, err)
	}
	control := filepath.Join(strings.TrimSpace(string(out)), "extension", "vector.control")
	if _, err := os.Stat(control); err != nil {
		return fmt.Errorf("%w (%s not found): run scripts/install-pgvector.sh as root, or make test, which runs it", ErrVectorMissing, control)
	}
	return nil
}

// findBinDir locates initdb and postgres: pg_config --bindir, else the
// highest version under /usr/lib/postgresql.
func findBinDir(ctx context.Context) (string, error) {
	hasServer := func(dir string) bool {
		for _, name := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); hasServer(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int {
		switch va, vb := version(a), version(b); {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return 0
	})
	for _, dir := range dirs {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", errors.New("pgtest: PostgreSQL server binaries not found: pg_config --bindir has no initdb and postgres, and nothing in /usr/lib/postgresql/*/bin does")
}

// serverCredential returns the postgres user's identity when running as
// root, since PostgreSQL refuses to run as root, and nil otherwise.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(superuser)
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root needs the postgres OS user to run the server: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: postgres user id: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: postgres group id: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// serverEnv is the environment for initdb and postgres: ours without the
// libpq variables (PGDATA, PGPORT, ...), which would only confuse them.
func serverEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PG")
	})
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// reachableByOthers checks that users other than the owner can search dir
// and each of its parents.
func reachableByOthers(dir string) error {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s is not searchable by other users", d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// removeStaleDirs removes throwaway cluster directories under parent whose
// owner process and postmaster are both gone (a test binary that crashed
// before Close). It is best effort.
func removeStaleDirs(parent string, logf func(string, ...any)) {
	dirs, _ := filepath.Glob(filepath.Join(parent, tempPrefix+"*"))
	for _, dir := range dirs {
		owner := pidIn(filepath.Join(dir, ownerFile))
		if owner == 0 || alive(owner) {
			continue // not ours to judge, or still in use
		}
		if pm := pidIn(filepath.Join(dir, "data", "postmaster.pid")); pm != 0 && alive(pm) {
			continue
		}
		if err := os.RemoveAll(dir); err == nil {
			logf("pgtest: removed %s, left behind by process %d", dir, owner)
		}
	}
}

// pidIn returns the number on the first line of a PID file, or 0.
func pidIn(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// alive reports whether a process exists; when in doubt it says yes.
func alive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
