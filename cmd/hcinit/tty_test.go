package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTTY runs the init as `docker run -it` does: session leader on a pty that
// is its controlling terminal. The child must be the terminal's foreground
// process group: it reads a line (a background group would be stopped by
// SIGTTIN), and Ctrl-C, which the line discipline turns into SIGINT for the
// foreground group, kills it: exit 130.
func TestTTY(t *testing.T) {
	t.Parallel()
	compare(t, rowTTY, func(t *testing.T, in initProg) error {
		master, slave, err := openPTY()
		if err != nil {
			return err
		}
		defer master.Close()
		p, err := spawn(t, in.argv(nil, "sh", "-c", `read line; echo "got:$line"; exec sleep 30`),
			withStdio(slave),
			withSys(&syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Pdeathsig: syscall.SIGKILL}))
		slave.Close()
		if err != nil {
			return err
		}
		screen := newLines()
		go screen.read(master)
		if _, err := master.Write([]byte("hello\n")); err != nil {
			return err
		}
		if err := screen.await(readyWait, "got:hello"); err != nil {
			return fmt.Errorf("child did not read from the terminal: %v (screen %q)", err, strings.Join(screen.snapshot(), "\n"))
		}
		if _, err := master.Write([]byte{0x03}); err != nil {
			return err
		}
		if err := p.expectExit(3*time.Second, 130); err != nil {
			return fmt.Errorf("after Ctrl-C: %v (screen %q)", err, strings.Join(screen.snapshot(), "\n"))
		}
		return nil
	})
}
