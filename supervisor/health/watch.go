package health

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/common"
)

// v1Prefix starts the socket name hcinit writes into .hc-socket for v1.0.x
// clients; the go-healthcheck server's names are 16 letters and digits, so a
// name with this prefix is always an hcinit's.
const v1Prefix = "hcinit-"

// debounce lets a writer finish (a v1.0.x server truncates, then writes) before
// a name file is read.
const debounce = 20 * time.Millisecond

// staleSlack: a name file older than New (minus this, for coarse file clocks)
// was left by an earlier run and is not adopted.
const staleSlack = time.Second

// nameWatcher is the name-file actor: it reads where the child announces
// its own socket and hands the socket to adopt. It knows nothing of the
// checks.
type nameWatcher struct {
	// files are the name files: .hc-socket in Dir (v1.0.x and today's
	// server without HEALTHCHECK_NAME_FILE) and the file
	// HEALTHCHECK_NAME_FILE names.
	files    []string
	childDir string // HEALTHCHECK_SOCKET_DIR, where the child's socket is; "" = none
	nameFile string // HEALTHCHECK_NAME_FILE; "" = none
	v1File   string // the .hc-socket hcinit wrote its v1Name into; "" = none
	v1Name   string
	created  time.Time // a name file older than this (less staleSlack) is an earlier run's
	owner    int       // the uid announced files must have, -1 = any (childOwner)
	log      *logrus.Entry
	adopt    func(addrs []string, from string, nested bool) // Monitor.adopt
	chown    func(path string)                              // hands a restored .hc-socket to the child's user
	childPid func() int                                     // the main child, 0 while none runs
	starts   <-chan struct{}                                // a child started: follow its cwd again
	// trim hands memory back (Config.Trim) after a look at the child's
	// working directory that found nothing new: each look maps code back in
	// that start-up's trim had dropped (idle RSS 1.23x -> 1.60x of the bench's
	// baseline in the first seconds after a start); nil = never.
	trim func()
}

// cwdSteps are the delays at which, after each child start, the watcher looks
// at the child's working directory (about 25 s in all). A v1.0.x server writes
// .hc-socket into the directory it runs in, and a child that changes
// directory before its Init (sh -c 'cd /app && exec ./server', an os.Chdir at
// start) writes it there, not where hcinit started it; the app's own
// -healthcheck, run there, asks that socket. A later chdir is not followed:
// nothing polls while idle.
var cwdSteps = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
	400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond,
	6400 * time.Millisecond, 12800 * time.Millisecond}

// nameWatcher is m's name-file actor; v1File and v1Name are set already.
func (m *Monitor) nameWatcher() *nameWatcher {
	nw := &nameWatcher{childDir: m.childDir, nameFile: m.childNameFile, v1File: m.v1File, v1Name: m.v1Name,
		created: m.created, owner: m.childOwner(), log: m.log, adopt: m.adopt,
		chown: func(path string) { m.chownToChild(path, true) }, childPid: m.pid, starts: m.childStarts, trim: m.trim.fn}
	if m.cfg.Dir != "" {
		nw.files = append(nw.files, filepath.Join(m.cfg.Dir, common.HealthcheckSocketNameFile))
	}
	if m.childNameFile != "" {
		nw.files = append(nw.files, m.childNameFile)
	}
	return nw
}

// startWatcher watches the directories of the name files (never the files: an
// atomic replace would drop a file watch); watch then looks at files already there.
func (nw *nameWatcher) start() *fsnotify.Watcher {
	if len(nw.files) == 0 {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		nw.log.WithError(err).Warn("cannot watch for the child's health socket")
		return nil
	}
	var watched []string
	for _, f := range nw.files {
		dir := filepath.Dir(f)
		if slices.Contains(watched, dir) {
			continue
		}
		if err := w.Add(dir); err != nil {
			nw.log.WithError(err).WithField("path", dir).Debug("cannot watch directory")
			continue
		}
		watched = append(watched, dir)
	}
	return w
}

// watch adopts what the name files announce until w is closed.
func (nw *nameWatcher) watch(w *fsnotify.Watcher) {
	nw.adoptWritten()
	pending := map[string]bool{}
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	// The child has started already, usually: follow its cwd from now.
	step := 0
	follow := time.NewTimer(cwdSteps[0])
	defer follow.Stop()
	for {
		select {
		case <-nw.starts:
			step = 0
			follow.Reset(cwdSteps[0])
		case <-follow.C:
			nw.lookAtCwd(w)
			if step++; step < len(cwdSteps) {
				follow.Reset(cwdSteps[step])
			}
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if name, ok := nameFileEvent(ev, nw.files); ok {
				pending[name] = true
				t.Reset(debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				nw.log.WithError(err).Warn("watch name files")
				continue
			}
			for _, f := range nw.files {
				pending[f] = true
			}
			t.Reset(debounce)
		case <-t.C:
			for f := range pending {
				nw.changed(f)
			}
			clear(pending)
		}
	}
}

// adoptWritten adopts what the name files written since hcinit started
// announce (before the watch began).
func (nw *nameWatcher) adoptWritten() {
	for _, f := range nw.files {
		nw.adoptIfFresh(f)
	}
}

// adoptIfFresh adopts what the name file f announces if it was written since
// hcinit started: an older one is an earlier run's.
func (nw *nameWatcher) adoptIfFresh(f string) {
	if fi, err := os.Stat(f); err == nil && fi.ModTime().After(nw.created.Add(-staleSlack)) {
		nw.changed(f)
	}
}

// lookAtCwd follows the child's working directory, and hands back the memory
// the look mapped when it found nothing new.
func (nw *nameWatcher) lookAtCwd(w *fsnotify.Watcher) {
	if nw.followCwd(w) && nw.trim != nil {
		nw.trim()
	}
}

// followCwd watches .hc-socket in the child's current working directory too,
// when that is a directory not watched yet (see cwdSteps). It reports whether
// it looked and found nothing new: the code the look ran can be dropped again.
func (nw *nameWatcher) followCwd(w *fsnotify.Watcher) (nothingNew bool) {
	if nw.childPid == nil {
		return false // no child: nothing looked at
	}
	pid := nw.childPid()
	if pid <= 0 {
		return false
	}
	dir, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	if err != nil || !filepath.IsAbs(dir) {
		return true // gone, or not ours to read
	}
	file := filepath.Join(dir, common.HealthcheckSocketNameFile)
	if slices.Contains(nw.files, file) || nw.watching(dir) {
		return true
	}
	if err := w.Add(dir); err != nil {
		nw.log.WithError(err).WithField("path", dir).Debug("cannot watch the child's working directory")
		return true
	}
	nw.files = append(nw.files, file)
	nw.log.WithField("path", dir).Debug("watching the child's working directory for .hc-socket")
	nw.adoptIfFresh(file)
	return false
}

// nameFileEvent returns the name file ev created or wrote, if it is one of files.
func nameFileEvent(ev fsnotify.Event, files []string) (string, bool) {
	// fsnotify names a file in "/" "//name": compare clean paths.
	name := filepath.Clean(ev.Name)
	// Chmod is inotify's IN_ATTRIB, which a chown raises too: a name file
	// refused for its owner (written, then handed to the child's user) is
	// read again once it is the child's.
	if !slices.Contains(files, name) || !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Chmod) {
		return "", false
	}
	return name, true
}

// changed adopts the socket a name file announces, unless it is
// hcinit's own, and puts hcinit's name back into .hc-socket so v1.0.x clients
// keep asking hcinit (which includes the child's answer).
func (nw *nameWatcher) changed(path string) {
	// Looked at before it is read: if the child writes again after this,
	// putV1Name below sees it and leaves the child's name in place.
	seen, _ := os.Lstat(path)
	name, err := readNameFile(path, nw.owner, nw.v1File)
	if r := (refusal{}); errors.As(err, &r) {
		nw.log.WithError(err).Warn("name file refused")
		return
	}
	if err != nil {
		nw.log.WithError(err).WithField("path", path).Debug("name file not usable yet")
		return
	}
	if path == nw.v1File && name == nw.v1Name {
		return
	}
	if strings.HasPrefix(name, v1Prefix) {
		// Another hcinit in the same working directory: it is not our child's
		// server, and fighting over the file would make both loop for ever.
		nw.log.WithField("path", path).Debug("name file belongs to another hcinit; leaving it")
		return
	}
	var addrs []string
	if nw.childDir != "" {
		a, _ := common.SocketPath(nw.childDir, name)
		addrs = append(addrs, a)
	}
	if path != nw.nameFile {
		a, _ := common.SocketPath(common.SocketPrefix, name)
		addrs = append(addrs, a)
	}
	nw.adopt(addrs, path, strings.HasPrefix(name, nestedPrefix))
	if path == nw.v1File {
		err := putV1Name(path, nw.v1Name, seen)
		if errors.Is(err, errChildWrote) {
			nw.log.WithField("path", path).Debug("the child wrote its name file again; reading it again")
			return
		}
		if err != nil {
			nw.log.WithError(err).WithField("path", path).Warn("cannot restore hcinit's name file")
			return
		}
		nw.chown(path)
	}
}

// errChildWrote: the child wrote the name file while hcinit was putting its
// own name there; the file holds the child's, for the watcher to adopt.
var errChildWrote = errors.New("the child wrote the name file meanwhile")

// putV1Name makes path hold name, hcinit's v1.0.x name, without losing a name
// the child writes meanwhile. seen is the file hcinit looked at before (nil:
// there was none). A v1.0.x server writes .hc-socket whenever its Init runs
// (create or truncate, then write), which may be while hcinit replaces the
// file: a plain rename would put hcinit's name over the child's fresh one, and
// the child's socket would never be found. So ours is linked in only where no
// file is (link fails if the child created one), and a file that was there is
// exchanged with ours in one step and compared with seen: if the child wrote
// it meanwhile, it is put back. errChildWrote then says path holds the child's
// name; its write also reached the watcher (or, before the watch,
// adoptWritten finds the fresh file). Where the file system cannot exchange,
// the file is moved aside first; where it has no hard links, a rename is the
// fallback.
func putV1Name(path, name string, seen os.FileInfo) error {
	tmp, err := writeTempName(filepath.Dir(path), name)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if seen != nil {
		if handled, err := exchangeIf(path, tmp, seen); handled {
			return err
		}
		if err := moveAsideIf(path, tmp+"-old", seen); err != nil {
			return err
		}
	}
	switch err := os.Link(tmp, path); {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return errChildWrote
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EXDEV):
		// No hard links here (some FUSE and network file systems).
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("write name file: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("write name file: %w", err)
	}
}

// writeTempName writes name into a new file in dir, readable by everyone, and
// returns its path.
func writeTempName(dir, name string) (string, error) {
	f, err := os.CreateTemp(dir, ".hc-socket-*")
	if err != nil {
		return "", fmt.Errorf("write name file: %w", err)
	}
	_, err = f.WriteString(name)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write name file: %w", err)
	}
	return f.Name(), nil
}

// exchangeIf swaps ours (at tmp) with the file at path in one step
// (renameat2 RENAME_EXCHANGE), so that path never goes missing — a child that
// may rewrite that file but not create one in the directory (--user, a
// root-owned working directory) would fail, and a v1.0.x server panics then.
// If what came out is not the version seen (the child wrote it since), the
// two are swapped back and errChildWrote returned. handled is false where the
// file system cannot exchange, or path is gone: the caller takes its way.
func exchangeIf(path, tmp string, seen os.FileInfo) (handled bool, err error) {
	if unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE) != nil {
		return false, nil
	}
	if now, err := os.Lstat(tmp); err == nil && sameVersion(seen, now) {
		return true, nil // tmp now holds the stale file: the caller removes it
	}
	unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE)
	return true, errChildWrote
}

// sameVersion reports whether b is the file a was, unmodified.
func sameVersion(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// moveAsideIf moves the file at path to aside and removes it there if it is
// still the version seen; if it is not (the child wrote it since), it is put
// back and errChildWrote returned. A file already gone is no error.
func moveAsideIf(path, aside string, seen os.FileInfo) error {
	switch err := os.Rename(path, aside); {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("write name file: %w", err)
	}
	defer os.Remove(aside)
	now, err := os.Lstat(aside)
	if err != nil || !sameVersion(seen, now) {
		os.Link(aside, path) // fails only if the child wrote yet again: newer
		return errChildWrote
	}
	return nil
}

// watching reports whether dir is already the directory of a name file,
// under another spelling (a symlink in the path hcinit was started in: the
// kernel watches a directory once, and its events would come under the new
// name).
func (nw *nameWatcher) watching(dir string) bool {
	fi, err := os.Stat(dir)
	if err != nil {
		return true // nothing to watch
	}
	for _, f := range nw.files {
		if d, err := os.Stat(filepath.Dir(f)); err == nil && os.SameFile(fi, d) {
			return true
		}
	}
	return false
}
