// Package health is hcinit's health side: it hosts the wrapper's socket, runs
// the checks against the supervised child, keeps Docker's health state machine
// per check and overall, and answers clients from that state only.
//
// Contract: New validates every --check spec and binds the sockets the child is
// told about (so nothing it sends early is lost) but starts no goroutine. Its
// actors (RunChecks, ServeSocket for each of Sockets, RunNotify, ServeHTTP,
// Watch) run until Interrupt; Close, once they returned, waits for what they
// started and releases the sockets and files, leaving no goroutine behind. The supervisor
// reports the child's life with ChildStarted, ChildExited and Stopping. Exec
// checks are started through the single wait owner, the reaper, and never wait
// themselves.
//
// Where things are:
//
//   - spec.go, specfields.go: the --check language.
//   - checker.go, probes.go, exec.go, httpclient.go, grpc.go: one checker type
//     per kind (checker.Check), knowing nothing of the scheduler.
//   - check.go: the scheduler (one loop per check, Docker's timing) and
//     adopt; state.go: Docker's and kubelet's rules per check.
//   - status.go: Status, a pure function of the checks' views and the
//     child's life; lifecycle.go: that life as the supervisor reports it.
//   - The other actors depend on narrow functions, not on the checks:
//     server.go (socketServer: a func() Status), httpd.go (httpServer: the
//     public func() Status and the metrics), notify.go (notifier:
//     notifyDeps), watch.go (nameWatcher: an adopt callback).
//   - stall.go: a freeze (docker pause) voids a failure; rundir.go,
//     stale.go, leftovers.go: the runtime directory, what dead hcinits and
//     exec probes left.
//   - monitor.go: Config, New and the actors' entry points.
package health

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/admit"
	"github.com/wisdom-oss/go-healthcheck/internal/hcclient"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// Defaults for Config's zero values (hcinit's, not Docker's 30s/30s/5s).
const (
	DefaultInterval         = 10 * time.Second
	DefaultTimeout          = 5 * time.Second
	DefaultStartInterval    = 2 * time.Second
	DefaultRetries          = 3
	DefaultSuccessThreshold = 1
)

// DefaultSockets returns the wrapper socket's addresses when neither --socket
// nor $HCINIT_SOCKET (its twin) names one: the server listens on every one it can, the
// client dials them in this order (hcclient.HcinitSockets). The abstract ones
// need no writable file system; "@hcinit.mnt-INODE" is named after the
// container's mount namespace, so hcinits of containers sharing a network
// namespace (a pod, --network container:X) each have one; the client believes
// only its own container's hcinit (hcclient.VerifyPeer).
func DefaultSockets() []string {
	return hcclient.HcinitSockets()
}

// Config configures a Monitor. Zero durations and counts take the Default
// constants; see the field comments for the rest.
type Config struct {
	Specs                                         []string // --check values; none (and no Checks) = one process check
	Checks                                        []Spec   // checks built already (a config file's), before Specs
	Interval, Timeout, StartPeriod, StartInterval time.Duration
	Retries, SuccessThreshold                     int

	Socket   string // wrapper socket address(es), comma-separated; "" = DefaultSockets
	HTTPAddr string // --http; "" = no HTTP endpoint
	// HTTPDetails (--http-details) serves the checks' outputs (response
	// bodies, exec output) on the HTTP endpoint too; by default they are only
	// on the health socket, which checks its peer.
	HTTPDetails bool
	Watchdog    time.Duration // exported as WATCHDOG_USEC; implies a notify check when none is given

	NotifyAccess   string        // NotifyAccessMain ("" too), NotifyAccessExec or NotifyAccessAll
	WatchdogSignal unix.Signal   // sent to the main process when the watchdog expires; 0 = none
	MainPID        func(pid int) // MAINPID=: supervise pid instead; nil = MAINPID= is ignored
	// ExtendStop gets EXTEND_TIMEOUT_USEC=N as now+N: hcinit's own SIGKILL
	// of a stop must not come before it; nil = only relayed.
	ExtendStop func(until time.Time)

	Dir        string // hcinit's working directory: gets a v1.0.x .hc-socket when writable; "" = none
	RuntimeDir string // for NOTIFY_SOCKET and the child's name file; "" = first writable default

	Log     *logrus.Logger
	Settled func()              // called once, after the overall status first leaves starting (hcinit trims memory then)
	Checked func()              // called after each check result and its logging (hcinit may trim memory then); nil = never
	Trim    func()              // called when a burst of connections is over and the servers are idle, and after a look at the child's working directory that found nothing new (hcinit trims memory then); nil = never
	Reaper  *reaper.Reaper      // required by exec checks
	Cred    *syscall.Credential // who the child runs as: exec checks, shared files and socket peers; nil = hcinit's own
	Home    string              // the child's HOME (--user's home directory), exec checks get it too; "" = hcinit's own

	Version          string                   // hcinit's version, for /metrics
	SignalsForwarded func() map[string]uint64 // signals sent to the child by name, for /metrics; nil = none
}

// Monitor is the health side of hcinit. Create it with New.
type Monitor struct {
	cfg     Config
	log     *logrus.Entry
	ctx     context.Context
	cancel  context.CancelFunc
	created time.Time

	mu         sync.Mutex
	checks     []*check
	gen        int  // child generation; results of an older one are dropped
	settled    bool // Settled was called
	genCtx     context.Context
	genCancel  context.CancelFunc // ends the runs (and exec probes) of this generation
	child      childView          // the child's life, as the supervisor reported it
	exitReason string             // why the child is about to be reported gone (ChildExitReason)
	running    bool               // check loops are started for new checks
	overall    State
	views      []checkView // overallLocked's, reused: every result needs the overall state

	wg        sync.WaitGroup
	unhealthy chan struct{}
	conns     *admit.Pool // health socket connections of allowed peers
	httpConns *admit.Pool // --http connections

	trim          trimmer
	notify        *notifier
	listeners     []*net.UnixListener
	runtimeDir    string   // "" when none was writable
	childDir      string   // HEALTHCHECK_SOCKET_DIR for the child
	childLock     *os.File // childDir, flock'd while it is ours: see takeChildDir
	childNameFile string   // HEALTHCHECK_NAME_FILE for the child
	v1Name        string   // our name in Dir/.hc-socket, "" when not written
	v1File        string
	beforeV1Put   func()        // tests: runs after setupV1 looked at .hc-socket, before it puts its own
	childStarts   chan struct{} // ChildStarted → the name watcher (followCwd)
	httpAddr      string        // (mu) bound HTTP address
	httpLn        net.Listener  // --http, bound by New; nil without an address

	// What announceToParent made for a parent hcinit (nested.go).
	parentAddr, parentName, parentFile string
}

// watchDelay is how long Execute waits before it starts watching for the
// child's name files. Closing an inotify instance waits for an SRCU grace period
// in the kernel (12 ms of a 15 ms exit, seen with strace -tt on
// `hcinit -- /bin/true`); a child that exits at once no longer pays it, and the
// Stat after the watch is added still finds a name file written before.
const watchDelay = 100 * time.Millisecond

// Connection caps. hcinit holds at most maxConns client connections (all
// servers together), fewer when RLIMIT_NOFILE is low: the file limit less a
// reserve (an eighth of it, at least reservedFDs) kept for the checks, the
// reaper, the notify socket and the child's stop path, so that no flood makes
// hcinit's own checks fail for want of a descriptor. Half the places go to the
// health socket (refused peers hold none: they are answered in the accept
// loop), half to --http. A full pool evicts its oldest idle connection
// (package admit).
const (
	maxConns    = 4096
	reservedFDs = 128
)

// connPools sizes the two pools from the file limit (-1: unknown).
func connPools(fileLimit int) (conns, http *admit.Pool) {
	total := maxConns
	if fileLimit > 0 {
		total = min(total, fileLimit-max(reservedFDs, fileLimit/8))
	}
	total = max(total, 16)
	return admit.New(total / 2), admit.New(total - total/2)
}

// New validates cfg and binds the notify socket and the wrapper sockets, so
// that the child can use them from its first instruction. The v1.0.x name file
// and its socket are for clients outside (`app -healthcheck` of an old
// binary): Execute makes them watchDelay later, together with the name file
// watcher, so a child that exits at once never pays for them.
// It starts no goroutine. Once New succeeded, Execute must run (and be
// interrupted) to release what New bound. Only a bad spec, a notify check
// without a notify socket, and a wrapper socket named in Config.Socket or an
// --http address that cannot be bound (ErrUnbound) are errors; every other
// resource that cannot be had is logged and skipped.
func New(cfg Config) (*Monitor, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	m := &Monitor{
		cfg:       cfg,
		log:       cfg.Log.WithField("component", "health"),
		created:   time.Now(),
		unhealthy: make(chan struct{}, 1),
		overall:   StatusStarting,
		// childStarts wakes the name watcher to follow a new child's cwd.
		childStarts: make(chan struct{}, 1),
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.trim.fn = cfg.Trim
	m.conns, m.httpConns = connPools(admit.FileLimit())

	specs, err := m.parseSpecs()
	if err != nil {
		return nil, err
	}
	for _, sp := range specs {
		if err := buildable(sp, cfg.Reaper); err != nil {
			return nil, err
		}
	}
	m.setupRuntimeDir()
	m.notify, err = newNotifier(m.notifyDeps(), m.runtimeDir, func(path string) { m.chownToChild(path, true) })
	if err != nil {
		if needsNotify(specs) {
			return nil, fmt.Errorf("create notify socket: %w", err)
		}
		m.log.WithError(err).Warn("no NOTIFY_SOCKET for the child")
	}
	for _, sp := range specs { // after the notifier: notify and signal checks read it
		m.checks = append(m.checks, m.build(sp))
	}
	m.announceToParent()
	if err := m.bindWrapper(); err != nil {
		m.Close()
		return nil, err
	}
	if m.httpLn, err = m.listenHTTP(); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// withDefaults gives cfg's zero values their defaults and checks what New
// cannot default.
func withDefaults(cfg Config) (Config, error) {
	switch cfg.NotifyAccess {
	case "":
		cfg.NotifyAccess = NotifyAccessMain
	case NotifyAccessMain, NotifyAccessExec, NotifyAccessAll:
	default:
		return cfg, fmt.Errorf("notify access: want main, exec or all, have %q", cfg.NotifyAccess)
	}
	orDefault(&cfg.Interval, DefaultInterval)
	orDefault(&cfg.Timeout, DefaultTimeout)
	orDefault(&cfg.StartInterval, DefaultStartInterval)
	cfg.StartPeriod = max(cfg.StartPeriod, 0)
	orDefault(&cfg.Retries, DefaultRetries)
	orDefault(&cfg.SuccessThreshold, DefaultSuccessThreshold)
	if cfg.Log == nil {
		cfg.Log = logrus.New()
	}
	if cfg.Dir != "" {
		if abs, err := filepath.Abs(cfg.Dir); err == nil {
			cfg.Dir = abs
		}
	}
	return cfg, nil
}

// orDefault sets *v to def unless it is positive.
func orDefault[T time.Duration | int](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// needsNotify reports whether a check reads NOTIFY_SOCKET.
func needsNotify(specs []Spec) bool {
	for _, sp := range specs {
		if sp.Kind == KindNotify || sp.Kind == KindSignal && sp.Heartbeat == "notify" {
			return true
		}
	}
	return false
}

// parseSpecs returns the configured checks, named: Config.Checks, then
// Config.Specs (a process check when neither gives one), then a notify check
// when Config.Watchdog asks for one and none is given.
func (m *Monitor) parseSpecs() ([]Spec, error) {
	raw := m.cfg.Specs
	if len(raw) == 0 && len(m.cfg.Checks) == 0 {
		raw = []string{KindProcess}
	}
	specs := append([]Spec(nil), m.cfg.Checks...)
	for _, s := range raw {
		sp, err := ParseSpec(s)
		if err != nil {
			return nil, err
		}
		specs = append(specs, sp)
	}
	if m.cfg.Watchdog > 0 && !slices.ContainsFunc(specs, func(sp Spec) bool { return sp.Kind == KindNotify }) {
		sp, _ := ParseSpec(KindNotify)
		specs = append(specs, sp)
	}
	return specs, nameSpecs(specs)
}

// nameSpecs names the unnamed specs after their kind ("tcp", "tcp-2"…),
// around the names given, which must be unique.
func nameSpecs(specs []Spec) error {
	used := map[string]bool{}
	for _, sp := range specs {
		if sp.Name == "" {
			continue
		}
		if used[sp.Name] {
			return fmt.Errorf("parse checks: name %q used twice", sp.Name)
		}
		used[sp.Name] = true
	}
	for i := range specs {
		if specs[i].Name != "" {
			continue
		}
		name := specs[i].Kind
		for n := 2; used[name]; n++ {
			name = fmt.Sprintf("%s-%d", specs[i].Kind, n)
		}
		used[name] = true
		specs[i].Name = name
	}
	return nil
}

// resolve fills a spec's Unset fields from the Config.
func (m *Monitor) resolve(sp Spec) Spec {
	if sp.Interval == Unset {
		sp.Interval = m.cfg.Interval
	}
	if sp.Timeout == Unset {
		sp.Timeout = m.cfg.Timeout
	}
	if sp.StartPeriod == Unset {
		sp.StartPeriod = m.cfg.StartPeriod
	}
	if sp.StartInterval == Unset {
		sp.StartInterval = m.cfg.StartInterval
	}
	if sp.Retries == Unset {
		sp.Retries = m.cfg.Retries
	}
	if sp.SuccessThreshold == Unset {
		sp.SuccessThreshold = m.cfg.SuccessThreshold
	}
	if sp.MaxAge == Unset {
		sp.MaxAge = 2 * sp.Interval
	}
	return sp
}

// setupRuntimeDir picks the runtime directory and prepares the child's
// directory in it (writable by the child's user).
func (m *Monitor) setupRuntimeDir() {
	dirs := []string{"/run/hcinit", "/tmp/hcinit", "/dev/shm/hcinit"}
	if m.cfg.RuntimeDir != "" {
		dirs = []string{m.cfg.RuntimeDir}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			m.log.WithError(err).WithField("path", d).Debug("runtime directory not usable")
			continue
		}
		if err := ownDir(d); err != nil {
			level := logrus.WarnLevel
			if errors.Is(err, errForeignDir) {
				level = logrus.DebugLevel
			}
			m.log.WithError(err).WithField("path", d).Log(level, "runtime directory refused")
			continue
		}
		child, lock, err := takeChildDir(d)
		if err != nil {
			m.log.WithError(err).WithField("path", d).Debug("runtime directory not usable")
			continue
		}
		m.chownToChild(child, true)
		m.runtimeDir = d
		m.childDir, m.childLock = child, lock
		m.childNameFile = filepath.Join(child, "hc-socket")
		return
	}
	m.log.Warn("no writable runtime directory: using abstract sockets only")
}

// chownToChild hands path to the child's user (and group), or only its group,
// when hcinit runs as root and the child runs as someone else.
func (m *Monitor) chownToChild(path string, owner bool) {
	cred := m.childCred()
	if cred == nil || os.Getuid() != 0 {
		return
	}
	uid := int(cred.Uid)
	if !owner {
		uid = -1
	}
	if err := os.Lchown(path, uid, int(cred.Gid)); err != nil {
		m.log.WithError(err).WithField("path", path).Warn("cannot hand file to the child's user")
	}
}

func (m *Monitor) childCred() *syscall.Credential { return m.cfg.Cred }

// setupV1 keeps a v1.0.x name file in Dir naming a socket of ours in /tmp, so
// `app -healthcheck` from an old client binary reaches hcinit. It returns the
// new listener (also in m.listeners), nil if there is none. A name the child
// wrote before (a v1.0.x server writes it once, at start) is adopted first,
// exactly as the watcher would, so hcinit's name never hides the child's.
func (m *Monitor) setupV1() *net.UnixListener {
	if m.cfg.Dir == "" {
		return nil
	}
	name := v1Prefix + randomName(16)
	addr, err := common.SocketPath(common.SocketPrefix, name)
	if err != nil {
		return nil
	}
	ln, err := m.listen(addr)
	if err != nil {
		m.log.WithError(err).WithField("path", addr).Debug("no socket for v1.0.x clients")
		return nil
	}
	file := filepath.Join(m.cfg.Dir, common.HealthcheckSocketNameFile)
	m.v1Name, m.v1File = name, file
	// Written since hcinit started, and not by another hcinit (the last one
	// started takes the file): the child was first.
	fi, err := os.Lstat(file)
	var seen os.FileInfo // what putV1Name may replace
	if err == nil {
		seen = fi
	}
	childFirst := err == nil && fi.ModTime().After(m.created.Add(-staleSlack))
	if childFirst {
		if have, err := common.ReadNameFile(file); err == nil && strings.HasPrefix(have, v1Prefix) {
			childFirst = false
		}
	}
	if childFirst {
		// As the watcher would: adopt the child's socket and write ours, or
		// leave a file that is not usable alone.
		m.nameWatcher().changed(file)
	} else {
		if m.beforeV1Put != nil {
			m.beforeV1Put()
		}
		// Never over a name the child writes meanwhile (putV1Name): then
		// the watcher's first look (adoptWritten) adopts it and puts ours.
		switch err := putV1Name(file, name, seen); {
		case errors.Is(err, errChildWrote):
		case err != nil:
			m.log.WithError(err).WithField("path", file).Debug("no name file for v1.0.x clients")
			ln.Close()
			m.v1Name, m.v1File = "", ""
			return nil
		default:
			// A v1.0.x child truncates and rewrites this file in place: let it.
			m.chownToChild(file, true)
		}
	}
	m.listeners = append(m.listeners, ln)
	return ln
}

func randomName(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// ChildEnv returns the KEY=VALUE pairs to add to the child's environment:
// NOTIFY_SOCKET, HEALTHCHECK_NAME_FILE and HEALTHCHECK_SOCKET_DIR (so a child
// built with today's server package announces its socket where hcinit
// watches), and WATCHDOG_USEC when Config.Watchdog is set. WATCHDOG_PID cannot
// be known before the fork and is not set; sd_watchdog_enabled and go-systemd
// treat a missing WATCHDOG_PID as "the watchdog is for any process".
func (m *Monitor) ChildEnv() []string {
	var env []string
	if m.notify != nil {
		env = append(env, "NOTIFY_SOCKET="+m.notify.addr)
	}
	if m.childDir != "" {
		env = append(env, common.EnvNameFile+"="+m.childNameFile, common.EnvSocketDir+"="+m.childDir)
	}
	if m.cfg.Watchdog > 0 {
		env = append(env, "WATCHDOG_USEC="+strconv.FormatInt(m.cfg.Watchdog.Microseconds(), 10))
	}
	return env
}

// RunChecks is the checks actor: one loop per check (and per check adopted
// later), until Interrupt.
func (m *Monitor) RunChecks() error {
	m.mu.Lock()
	m.running = true
	for _, c := range m.checks {
		m.startLoopLocked(c)
	}
	m.mu.Unlock()
	<-m.ctx.Done()
	return nil
}

// Sockets are the wrapper sockets New bound, the v1.0.x one included: one
// ServeSocket actor each.
func (m *Monitor) Sockets() []*net.UnixListener { return m.listeners }

// ServeSocket is a wrapper socket's actor: it answers from the state, never
// running a check, until ln is closed or Interrupt.
func (m *Monitor) ServeSocket(ln *net.UnixListener) error {
	defer ln.Close()
	stop := context.AfterFunc(m.ctx, func() { ln.Close() })
	defer stop()
	m.sockets().serve(ln)
	return nil
}

// RunNotify is the NOTIFY_SOCKET actor: it reads the child's sd_notify
// messages until Interrupt. Without a notify socket it only waits.
func (m *Monitor) RunNotify() error {
	if m.notify == nil {
		<-m.ctx.Done()
		return nil
	}
	stop := context.AfterFunc(m.ctx, func() { m.notify.conn.Close() })
	defer stop()
	m.notify.run()
	return nil
}

// ServeHTTP is the --http actor: it serves on the listener New bound until
// Interrupt. Without an address it only waits.
func (m *Monitor) ServeHTTP() error {
	ln := m.httpLn
	if ln == nil {
		<-m.ctx.Done()
		return nil
	}
	stop := context.AfterFunc(m.ctx, func() { ln.Close() })
	defer stop()
	m.httpServer().serve(ln)
	return nil
}

// Watch is the name-file actor: after watchDelay it starts reclaiming what dead
// hcinits left (reclaimStale), serves the v1.0.x name file's socket and
// watches for the child's own health socket, which it adopts as a delegate
// check, until Interrupt.
func (m *Monitor) Watch() error {
	t := time.NewTimer(watchDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-m.ctx.Done():
		return nil
	}
	// What SIGKILLed hcinits left behind, in the background. Not at start:
	// a child that exits at once never pays for it, nor does its start
	// compete with the probes of other hcinits' sockets.
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.reclaimStale()
	}()
	// The v1.0.x name file and its socket come with the watcher, before it:
	// no goroutine reads v1Name/v1File yet.
	if ln := m.setupV1(); ln != nil {
		m.wg.Add(1)
		go func() { defer m.wg.Done(); m.ServeSocket(ln) }()
	}
	nw := m.nameWatcher()
	w := nw.start()
	if w == nil {
		<-m.ctx.Done()
		return nil
	}
	stop := context.AfterFunc(m.ctx, func() { w.Close() })
	defer stop()
	nw.watch(w)
	return nil
}

// Interrupt ends every actor of the health side and returns at once. It is
// safe to call any number of times, before or after they run.
func (m *Monitor) Interrupt(error) { m.cancel() }

// Close ends the actors if they still run, waits for every goroutine they
// started, and releases the sockets and files New made.
func (m *Monitor) Close() {
	m.cancel()
	for _, ln := range m.listeners {
		ln.Close()
	}
	if m.httpLn != nil {
		m.httpLn.Close()
	}
	if m.notify != nil {
		m.notify.conn.Close()
		m.notify.stop()
	}
	m.wg.Wait()
	m.trim.stop()
	m.release()
}

func (m *Monitor) release() {
	m.unannounce()
	if m.v1Name != "" {
		common.RemoveNameFile(m.v1File, m.v1Name)
	}
	if m.notify != nil && m.notify.path != "" {
		os.Remove(m.notify.path)
	}
	// Usually empty: one rmdir instead of RemoveAll's unlink, then rmdir.
	if m.childDir != "" && syscall.Rmdir(m.childDir) != nil {
		os.RemoveAll(m.childDir)
	}
	if m.childLock != nil { // after the removal: nobody takes it in between
		m.childLock.Close()
	}
}
