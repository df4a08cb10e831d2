package reaper

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// defaultPath is searched when the environment has no PATH (Debian's and
// Docker's default for root).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ExecError is a command that could not be started. Code is what a shell,
// Docker and tini's users expect: 127 when it was not found, 126 when it was
// found but cannot be executed.
type ExecError struct {
	Code int
	Path string // the path tried, or the name when none was found
	Err  error
}

func (e *ExecError) Error() string { return "exec " + e.Path + ": " + e.Err.Error() }
func (e *ExecError) Unwrap() error { return e.Err }

// LookPath finds name as execve would from a shell with environment env: a
// name with a slash is used as it is; otherwise the first executable file of
// that name in env's PATH (defaultPath when it has none). A file found
// without execute permission is 126 when nothing executable follows it.
func LookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathEnv := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	var denied error
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() {
			continue
		}
		if fi.Mode()&0o111 == 0 {
			denied = &ExecError{Code: 126, Path: p, Err: errors.New("permission denied")}
			continue
		}
		return p, nil
	}
	if denied != nil {
		return "", denied
	}
	return "", &ExecError{Code: 127, Path: name, Err: exec.ErrNotFound}
}

// Exec finds name in attr.Env's PATH (LookPath) and starts it with argv and
// attr, registered with the reaper as Start does. Its error is an *ExecError:
// 127 when the file does not exist (ENOENT, ENOTDIR), 126 otherwise.
func (r *Reaper) Exec(name string, argv []string, attr *syscall.ProcAttr) (int, <-chan Exit, error) {
	var env []string
	if attr != nil {
		env = attr.Env
	}
	path, err := LookPath(name, env)
	if err != nil {
		return 0, nil, err
	}
	pid, exited, err := r.Start(func() (int, error) {
		return syscall.ForkExec(path, argv, attr)
	})
	if err != nil {
		code := 126
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
			code = 127
		}
		return 0, nil, &ExecError{Code: code, Path: path, Err: err}
	}
	return pid, exited, nil
}
