package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Every hcinit, as it starts, reclaims what dead hcinits left: it connects to
// each /tmp/hcinit-*.sock and <runtime dir>/notify-*.sock it finds (package
// health, stale.go). On a shared host, and among the instances a section
// runs side by side, that wakes the other hcinits and maps their code back
// in after their trim: one run on a busy host read 5.2 MiB idle for hcinit
// instead of 3.4 MiB, with 233 wake-ups in 5 s. So the driver runs in a
// mount namespace of its own with an empty tmpfs on /tmp and /run/hcinit
// (and every process it starts with it); nothing else changes. Without root
// or unshare(1), or with -shared-tmp, it runs as before and the report says so.

// privateEnv marks the driver that already runs in its own mount namespace.
const privateEnv = "HCINIT_BENCH_PRIVATE_MOUNTS"

// isolated is what the environment table reports about the mounts.
var isolated = "shared with the host (`-shared-tmp`, or not root, or no unshare)"

// isolate re-executes the driver in a private mount namespace; it returns
// only where that is not possible or not wanted, or in the re-executed
// driver. Call it once the binaries under test are copied to out/under-test:
// the re-executed driver uses those copies (underTest), so a -hcinit or
// -also path under the host's /tmp still works.
func isolate() {
	switch os.Getenv(privateEnv) {
	case "1":
		isolated = "private: an empty tmpfs on /tmp and /run/hcinit (`unshare --mount`), so no other hcinit on the host reaches the ones measured"
		return
	case "0":
		isolated = "shared with the host (mounting a tmpfs failed)"
		return
	}
	unshare, err := exec.LookPath("unshare")
	if *sharedFlag || os.Geteuid() != 0 || err != nil || exec.Command(unshare, "--mount", "true").Run() != nil {
		return
	}
	self, err := os.Executable()
	if err != nil {
		return
	}
	script := `if mount -t tmpfs -o mode=1777 tmpfs /tmp && mkdir -p /run/hcinit && mount -t tmpfs -o mode=755 tmpfs /run/hcinit
then export ` + privateEnv + `=1; else export ` + privateEnv + `=0; fi
exec "$@"`
	argv := append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", self}, os.Args[1:]...)
	env := os.Environ()
	if err := syscall.Exec(unshare, argv, env); err != nil {
		return // runs on, shared
	}
}

// underTest returns the copy of src in out/under-test: it makes it, or in
// the re-executed driver finds the one made before.
func underTest(src, name string) (string, error) {
	if os.Getenv(privateEnv) != "" {
		dst := filepath.Join(out, "under-test", name)
		_, err := os.Stat(dst)
		return dst, err
	}
	return copyBinary(src, name)
}
