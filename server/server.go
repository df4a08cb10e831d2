// Package server answers health checks for the program that links it, over a
// local socket (unix domain socket; named pipe on Windows), speaking the
// go-healthcheck v1 protocol. It is a drop-in replacement for go-healthcheck
// v1.0.x: same type, same methods, same files and socket names on disk.
//
// Protocol: Start writes a random 16-character socket name into the name file
// (".hc-socket" in the working directory Init ran in, as v1.0.x did, or
// $HEALTHCHECK_NAME_FILE) and listens on SocketDir + name + ".sock" (/tmp/ or
// $HEALTHCHECK_SOCKET_DIR; Windows: the pipe \\.\pipe\<name>). Per
// connection the server reads one request (at most common.BufferSize bytes, 10
// s read deadline): "ping" runs the check function and gets "healthy" or the
// error's text; anything else gets common.InvalidRequestResponse. Then the
// connection is closed.
//
// Differences from v1.0.x, all of them fixes:
//   - Errors are returned by Start, never panics: an unwritable working
//     directory (or name file location) makes Start fail, naming the file.
//   - The name file is written by Start once the socket listens (v1.0.x
//     wrote it in Init, before listening), in the same place: a client never
//     reads a name nobody listens on yet.
//   - Without a check function (Init, InitWithContext) a ping is answered
//     "healthy"; v1.0.x called the nil function and the program crashed.
//   - A missing socket directory is created: /tmp with mode 01777, any other
//     directory ($HEALTHCHECK_SOCKET_DIR) with mode 0700 — never 0000.
//   - Every connection is served in its own goroutine under 10 s read and
//     write deadlines. At most 256 connections are held (a quarter of
//     RLIMIT_NOFILE if that is less); a new one is always accepted, and when
//     the cap is reached the one that has waited longest for its request is
//     closed. A silent, slow, flooding or resetting client only loses its
//     own connections: an honest ping is answered in time whatever others do.
//   - Stop (or cancelling the context given to Init*) closes the listener,
//     unblocks Run, removes the socket and removes the name file if it still
//     holds this server's name. Stop may be called any number of times.
//   - The check function runs with a 9 s timeout (reply "healthcheck timed
//     out", in time for a v1.0.x client's 10 s deadline), and concurrent pings
//     share one run of it instead of starting one each. A check function that
//     panics is reported as unhealthy.
//   - A stale socket left by a crashed process is replaced; a socket that a
//     live server still answers on is left alone and Start returns an error.
//   - The socket is made accessible to its owner and group only (mode 0660).
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/admit"
)

const (
	// nameLength is the length of a generated socket name, as in v1.0.x.
	nameLength = 16
	// defaultIOTimeout bounds reading a request and writing a reply (v1.0.x:
	// 10 s).
	defaultIOTimeout = 10 * time.Second
	// defaultCheckTimeout bounds one run of the check function. It stays below
	// the v1.0.x client's 10 s read deadline so such a client still reads
	// "healthcheck timed out" instead of timing out itself.
	defaultCheckTimeout = 9 * time.Second
	// maxConns caps the connections held at once (fewer when a quarter of
	// RLIMIT_NOFILE is less: the rest is the application's). A new
	// connection is always accepted; when the cap is reached the connection
	// that has waited longest for its request is closed (package admit).
	maxConns = 256
)

// TimeoutResponse is the reply to "ping" when the check function did not
// return within its timeout.
const TimeoutResponse = "healthcheck timed out"

// ErrStopped is returned by Start on a server that was already stopped.
var ErrStopped = errors.New("healthcheck server stopped")

// HealthcheckServer answers health checks on a local socket. Call one of the
// Init methods, then Start, then Run (it blocks until the server stops), and
// Stop when done. The zero value behaves as if Init had been called. An Init
// method called on a running server does nothing; called after Stop, it
// prepares a new run with a new name.
//
// The check function may be called from several goroutines over time, but
// never concurrently with itself by this server: concurrent pings share one
// run.
type HealthcheckServer struct {
	mu           sync.Mutex
	ctx          context.Context
	cancel       context.CancelCauseFunc
	check        func() error
	name         string // set by Init*; tests may override it before Start
	started      bool
	closing      bool // shutdown began; no new handlers
	ln           net.Listener
	sock         string // socket path we listen on
	nameFile     string // absolute path of the name file we wrote
	initNameFile string // the name file's path as Init* saw it (v1.0.x wrote it then); "" = work it out in Start
	conns        map[net.Conn]struct{}
	stopCtx      func() bool // deregisters the context watcher

	done    chan struct{} // closed when shutdown begins
	stopped chan struct{} // closed when shutdown finished
	once    *sync.Once
	wg      sync.WaitGroup // connection handlers
	pool    *admit.Pool    // connections held
	flight  *flight

	// checkTimeout and ioTimeout override the defaults in tests.
	checkTimeout time.Duration
	ioTimeout    time.Duration
}

// Init prepares the server with a background context and no check function:
// every ping is answered "healthy" for as long as the process runs. The name
// file is written by Start.
func (s *HealthcheckServer) Init() {
	ctx, cancel := context.WithCancelCause(context.Background())
	s.init(nil, ctx, cancel)
}

// InitWithFunc prepares the server with a background context and the check
// function f: a ping is answered "healthy" when f returns nil, else with the
// text of f's error.
func (s *HealthcheckServer) InitWithFunc(f func() error) {
	ctx, cancel := context.WithCancelCause(context.Background())
	s.init(f, ctx, cancel)
}

// InitWithContext prepares the server with a context derived from ctx; the
// server stops when ctx is done.
func (s *HealthcheckServer) InitWithContext(ctx context.Context) {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	s.init(nil, ctx, cancel)
}

// InitWithCancellableContext prepares the server with ctx and its cancel
// function: the server stops when ctx is done, and Stop calls cancelFunc(nil),
// as in v1.0.x.
func (s *HealthcheckServer) InitWithCancellableContext(ctx context.Context, cancelFunc context.CancelCauseFunc) {
	s.init(nil, ctx, cancelFunc)
}

// InitFull combines InitWithFunc and InitWithCancellableContext.
func (s *HealthcheckServer) InitFull(f func() error, ctx context.Context, cancelFunc context.CancelCauseFunc) {
	s.init(f, ctx, cancelFunc)
}

func (s *HealthcheckServer) init(f func() error, ctx context.Context, cancel context.CancelCauseFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked(f, ctx, cancel)
}

// ensureInitLocked makes the zero value behave like Init; s.mu is held.
func (s *HealthcheckServer) ensureInitLocked() {
	if s.ctx == nil {
		ctx, cancel := context.WithCancelCause(context.Background())
		s.initLocked(nil, ctx, cancel)
	}
}

// initLocked (re)sets the server for a new run; s.mu is held. A server that is
// started and not yet fully stopped is left alone.
func (s *HealthcheckServer) initLocked(f func() error, ctx context.Context, cancel context.CancelCauseFunc) {
	if s.started && !isClosed(s.stopped) {
		return
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if cancel == nil {
		cancel = func(error) {}
	}
	s.ctx, s.cancel, s.check = ctx, cancel, f
	s.name = newName()
	// v1.0.x wrote the name file in Init*, in the working directory of that
	// moment; a program that changes directory before Start still has it
	// there (where its -healthcheck runs).
	s.initNameFile, _ = filepath.Abs(common.NameFilePath())
	s.started, s.closing = false, false
	s.ln, s.sock, s.nameFile, s.stopCtx = nil, "", "", nil
	s.done = make(chan struct{})
	s.stopped = make(chan struct{})
	s.once = new(sync.Once)
	s.pool = admit.New(poolSize(admit.FileLimit()))
	s.conns = make(map[net.Conn]struct{})
	s.flight = new(flight)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Start creates the socket and then writes the name file, so a client that
// finds the name finds a listening socket. A relative name file (.hc-socket)
// is in the working directory the Init method ran in, where v1.0.x wrote it,
// even if the program changed directory since. It returns an error, and leaves
// nothing behind, when the socket directory cannot be created, a live server
// already listens on the socket, or the name file cannot be written (for
// example because the working directory is not writable; set
// $HEALTHCHECK_NAME_FILE to write it elsewhere). Start also fails when called
// twice or after Stop.
func (s *HealthcheckServer) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureInitLocked()
	switch {
	case s.closing:
		return fmt.Errorf("start: %w", ErrStopped)
	case s.started:
		return errors.New("start: already started")
	case s.ctx.Err() != nil:
		return fmt.Errorf("start: %w", context.Cause(s.ctx))
	}

	nameFile := s.initNameFile
	if nameFile == "" {
		var err error
		if nameFile, err = filepath.Abs(common.NameFilePath()); err != nil {
			return fmt.Errorf("start: locate name file %s: %w", common.NameFilePath(), err)
		}
	}
	sock, err := common.SocketPath(common.SocketDir(), s.name)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	ln, err := listen(sock)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if err := common.WriteNameFile(nameFile, s.name); err != nil {
		ln.Close()
		return fmt.Errorf("start: %w", err)
	}
	s.ln, s.sock, s.nameFile, s.started = ln, sock, nameFile, true
	s.stopCtx = context.AfterFunc(s.ctx, func() { s.shutdown(context.Cause(s.ctx)) })
	return nil
}

// Run accepts connections until the server stops, and returns once Stop's
// cleanup is complete. It returns at once when the server was not started or
// is already stopped. Run is meant to be called once, usually in its own
// goroutine.
func (s *HealthcheckServer) Run() {
	s.mu.Lock()
	ln, started, done, stopped, pool := s.ln, s.started, s.done, s.stopped, s.pool
	s.mu.Unlock()
	if !started {
		return
	}
	backoff := 5 * time.Millisecond
	for {
		conn, err := ln.Accept()
		if err != nil {
			if isClosed(done) {
				<-stopped
				return
			}
			if errors.Is(err, net.ErrClosed) {
				s.Stop() // closed under us: clean up as Stop does
				return
			}
			// Out of file descriptors and the like: wait, don't spin.
			select {
			case <-time.After(backoff):
			case <-done:
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !s.track(conn) {
			conn.Close()
			continue
		}
		pc := pool.Admit(conn) // may close the oldest idle connection
		go s.handle(conn, pc)
	}
}

// Stop stops the server: it closes the listener and all open connections,
// unblocks Run, waits for the connection handlers, removes the socket, removes
// the name file if it still holds this server's name, and calls the context's
// cancel function. It returns when all of that is done. Stop is idempotent and
// safe to call before Start (Start then fails). A check function still running
// is not waited for.
func (s *HealthcheckServer) Stop() {
	s.shutdown(nil)
}

func (s *HealthcheckServer) shutdown(cause error) {
	s.mu.Lock()
	s.ensureInitLocked()
	stopped := s.stopped
	once := s.once
	s.mu.Unlock()
	once.Do(func() {
		s.mu.Lock()
		s.closing = true
		close(s.done)
		if s.stopCtx != nil {
			s.stopCtx()
		}
		if s.ln != nil {
			s.ln.Close() // also removes the socket file
		}
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()

		s.wg.Wait()
		if s.nameFile != "" {
			common.RemoveNameFile(s.nameFile, s.name)
		}
		s.cancel(cause)
		close(stopped)
	})
	<-stopped
}

// track registers a connection for Stop to close; false once shutdown began.
func (s *HealthcheckServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *HealthcheckServer) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// poolSize is maxConns, or a quarter of the file limit when that is less.
func poolSize(fileLimit int) int {
	if fileLimit <= 0 {
		return maxConns
	}
	return max(8, min(maxConns, fileLimit/4))
}

// handle serves one connection: one request, one reply, close. conn is
// registered for Stop; pc is its place in the pool.
func (s *HealthcheckServer) handle(conn net.Conn, pc *admit.Conn) {
	defer s.wg.Done()
	defer s.untrack(conn)
	defer pc.Close()

	ioTimeout := s.ioTimeout
	if ioTimeout <= 0 {
		ioTimeout = defaultIOTimeout
	}
	conn.SetReadDeadline(time.Now().Add(ioTimeout))
	req, err := common.ReadRequest(conn, common.HealthcheckIPCCommand)
	if err != nil && req == "" {
		return // silent, reset or closed: nothing to answer
	}
	pc.Busy()
	var reply string
	switch req {
	case common.HealthcheckIPCCommand:
		var ok bool
		if reply, ok = s.runCheck(); !ok {
			return
		}
	default:
		reply = common.InvalidRequestResponse
	}
	if len(reply) > common.BufferSize {
		reply = reply[:common.BufferSize]
	}
	conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	io.WriteString(conn, reply)
}

// runCheck returns the reply to a ping; false when the server stopped while
// waiting.
func (s *HealthcheckServer) runCheck() (string, bool) {
	if s.check == nil {
		return common.HealthcheckIPCResponse, true
	}
	timeout := s.checkTimeout
	if timeout <= 0 {
		timeout = defaultCheckTimeout
	}
	c := s.flight.join(s.check)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.done:
		if c.err != nil {
			return c.err.Error(), true
		}
		return common.HealthcheckIPCResponse, true
	case <-t.C:
		return TimeoutResponse, true
	case <-s.done:
		return "", false
	}
}

// newName returns nameLength random letters and digits. crypto/rand keeps the
// path in a shared /tmp unpredictable.
func newName() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	out := make([]byte, 0, nameLength)
	var b [32]byte
	for len(out) < nameLength {
		rand.Read(b[:]) // never fails (crypto/rand contract)
		for _, v := range b {
			// Reject the top 8 values so every letter is equally likely.
			if v < 248 && len(out) < nameLength {
				out = append(out, alphabet[int(v)%len(alphabet)])
			}
		}
	}
	return string(out)
}
