package health

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

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

// nameFiles are the files a child announces its own socket in: .hc-socket in
// Dir (v1.0.x and today's server without HEALTHCHECK_NAME_FILE) and the file
// HEALTHCHECK_NAME_FILE names.
func (m *Monitor) nameFiles() []string {
	var files []string
	if m.cfg.Dir != "" {
		files = append(files, filepath.Join(m.cfg.Dir, common.HealthcheckSocketNameFile))
	}
	if m.childNameFile != "" {
		files = append(files, m.childNameFile)
	}
	return files
}

// startWatcher watches the directories of the name files (never the files: an
// atomic replace would drop a file watch); watch then looks at files already there.
func (m *Monitor) startWatcher() (*fsnotify.Watcher, []string) {
	files := m.nameFiles()
	if len(files) == 0 {
		return nil, nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		m.log.WithError(err).Warn("cannot watch for the child's health socket")
		return nil, nil
	}
	var watched []string
	for _, f := range files {
		dir := filepath.Dir(f)
		if slices.Contains(watched, dir) {
			continue
		}
		if err := w.Add(dir); err != nil {
			m.log.WithError(err).WithField("path", dir).Debug("cannot watch directory")
			continue
		}
		watched = append(watched, dir)
	}
	return w, files
}

// watch adopts what the name files announce until w is closed.
func (m *Monitor) watch(w *fsnotify.Watcher, files []string) {
	m.adoptWritten(files)
	pending := map[string]bool{}
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if name, ok := nameFileEvent(ev, files); ok {
				pending[name] = true
				t.Reset(debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				m.log.WithError(err).Warn("watch name files")
				continue
			}
			for _, f := range files {
				pending[f] = true
			}
			t.Reset(debounce)
		case <-t.C:
			for f := range pending {
				m.nameFileChanged(f)
			}
			clear(pending)
		}
	}
}

// adoptWritten adopts what the name files written since hcinit started
// announce (before the watch began).
func (m *Monitor) adoptWritten(files []string) {
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(m.created.Add(-staleSlack)) {
			m.nameFileChanged(f)
		}
	}
}

// nameFileEvent returns the name file ev created or wrote, if it is one of files.
func nameFileEvent(ev fsnotify.Event, files []string) (string, bool) {
	// fsnotify names a file in "/" "//name": compare clean paths.
	name := filepath.Clean(ev.Name)
	if !slices.Contains(files, name) || !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) {
		return "", false
	}
	return name, true
}

// nameFileChanged adopts the socket a name file announces, unless it is
// hcinit's own, and puts hcinit's name back into .hc-socket so v1.0.x clients
// keep asking hcinit (which includes the child's answer).
func (m *Monitor) nameFileChanged(path string) {
	name, err := m.readNameFile(path)
	if r := (refusal{}); errors.As(err, &r) {
		m.log.WithError(err).Warn("name file refused")
		return
	}
	if err != nil {
		m.log.WithError(err).WithField("path", path).Debug("name file not usable yet")
		return
	}
	if path == m.v1File && name == m.v1Name {
		return
	}
	if strings.HasPrefix(name, v1Prefix) {
		// Another hcinit in the same working directory: it is not our child's
		// server, and fighting over the file would make both loop for ever.
		m.log.WithField("path", path).Debug("name file belongs to another hcinit; leaving it")
		return
	}
	var addrs []string
	if m.childDir != "" {
		a, _ := common.SocketPath(m.childDir, name)
		addrs = append(addrs, a)
	}
	if path != m.childNameFile {
		a, _ := common.SocketPath(common.SocketPrefix, name)
		addrs = append(addrs, a)
	}
	m.adopt(addrs, path)
	if path == m.v1File {
		if err := common.WriteNameFile(path, m.v1Name); err != nil {
			m.log.WithError(err).WithField("path", path).Warn("cannot restore hcinit's name file")
			return
		}
		m.chownToChild(path, true)
	}
}

// adopt makes addrs the target of the delegate check, creating one named
// "delegate" unless a delegate check without an address was configured. The
// delegate starts over, with its own start period, and runs at once.
func (m *Monitor) adopt(addrs []string, from string) {
	m.mu.Lock()
	var c *check
	for _, x := range m.checks {
		if x.spec.Kind == KindDelegate && (x.adopted || x.spec.Addr == "") {
			c = x
			break
		}
	}
	if c != nil && slices.Equal(c.addrs, addrs) {
		m.mu.Unlock()
		return
	}
	if c == nil {
		sp, _ := ParseSpec(KindDelegate)
		sp.Name = KindDelegate
		for n := 2; m.hasCheckLocked(sp.Name); n++ {
			sp.Name = KindDelegate + "-" + strconv.Itoa(n)
		}
		c, _ = m.newCheck(sp)
		c.adopted = true
		m.checks = append(m.checks, c)
		m.startLoopLocked(c)
	}
	c.addrs = addrs
	c.st.reset()
	c.since = time.Now()
	c.runNow = true
	m.mu.Unlock()
	m.log.WithField("check", c.spec.Name).WithField("path", from).WithField("socket", addrs).
		Info("delegating to the child's health socket")
	c.wakeUp()
}

func (m *Monitor) hasCheckLocked(name string) bool {
	for _, c := range m.checks {
		if c.spec.Name == name {
			return true
		}
	}
	return false
}
