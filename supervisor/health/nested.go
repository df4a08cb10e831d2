package health

// hcinit below hcinit: an image whose ENTRYPOINT is hcinit, run with a
// command that is hcinit again with the user's checks (a pod's args, a
// `docker run IMAGE /hcinit --check … -- /app`). `hcinit check` reaches the
// outer one, the container's init, which knew nothing of the inner one's
// checks: it said healthy while every check the user configured failed. A
// parent hcinit exports HEALTHCHECK_SOCKET_DIR and HEALTHCHECK_NAME_FILE to
// its child, as to any go-healthcheck server (server.Start writes its name
// there); so hcinit, finding them, listens there too and writes its name, and
// its parent adopts it as a delegate check, its answer (overall health, the
// "ping" word) counting as the parent's own checks do.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/proc"
)

// nestedPrefix starts the name a nested hcinit announces: not v1Prefix, which
// a watcher leaves alone as another hcinit's v1.0.x name.
const nestedPrefix = "hcinit_"

// ParentHcinit returns the directory and name file a parent hcinit gave this
// process (HEALTHCHECK_SOCKET_DIR, HEALTHCHECK_NAME_FILE), ok only when they
// provably are one's: the directory is <runtime dir>/child-N[-…] (takeChildDir)
// of a process N that is this one's ancestor, this user's, not a symbolic link,
// not writable by others, and holds the name file. A go-healthcheck app's own
// setting of the variables is none of that.
func ParentHcinit() (dir, file string, ok bool) {
	dir, file = os.Getenv(common.EnvSocketDir), os.Getenv(common.EnvNameFile)
	if dir == "" || file == "" || !filepath.IsAbs(dir) || filepath.Dir(file) != filepath.Clean(dir) {
		return "", "", false
	}
	rest, found := strings.CutPrefix(filepath.Base(dir), "child-")
	n, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
	if !found || err != nil || n <= 0 || n == os.Getpid() {
		return "", "", false
	}
	if under, _ := proc.Under(os.Getpid(), n); !under {
		return "", "", false
	}
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o022 != 0 {
		return "", "", false
	}
	if st, isStat := fi.Sys().(*syscall.Stat_t); !isStat || int(st.Uid) != os.Geteuid() {
		return "", "", false
	}
	return dir, file, true
}

// announceToParent listens in the directory a parent hcinit gave (see
// ParentHcinit) and writes the name there.
func (m *Monitor) announceToParent() {
	dir, file, ok := ParentHcinit()
	if !ok {
		return
	}
	log := m.log.WithField("path", dir)
	name := nestedPrefix + randomName(16)
	addr, err := common.SocketPath(dir, name)
	if err != nil {
		return
	}
	ln, err := m.listen(addr)
	if err != nil {
		log.WithError(err).Debug("cannot answer the parent hcinit")
		return
	}
	tmp, err := writeTempName(dir, name)
	if err == nil {
		if err = os.Rename(tmp, file); err != nil {
			os.Remove(tmp)
		}
	}
	if err != nil {
		log.WithError(err).Debug("cannot answer the parent hcinit")
		ln.Close()
		os.Remove(addr)
		return
	}
	m.listeners = append(m.listeners, ln)
	m.parentAddr, m.parentName, m.parentFile = addr, name, file
	log.Debug("answering the parent hcinit's delegate check")
}

// nestedWord is what a delegate check asks its target: a nested hcinit
// answers Kubernetes' two questions apart, and a check of one level asks its
// own; anything else (a go-healthcheck server), and a check of both levels,
// is asked "ping", overall health. Asking a nested hcinit "ping" for a
// liveness check would make kubelet restart the container for a failing
// readiness-only check, or one in its start period.
func nestedWord(nested bool, l Level) string {
	switch {
	case nested && l == LevelLive:
		return wordLive
	case nested && l == LevelReady:
		return wordReady
	}
	return wordPing
}

// unannounce removes what announceToParent made.
func (m *Monitor) unannounce() {
	if m.parentName == "" {
		return
	}
	common.RemoveNameFile(m.parentFile, m.parentName)
	os.Remove(m.parentAddr)
}
