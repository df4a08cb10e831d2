package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestExitCodes(t *testing.T) {
	t.Parallel()
	codes := make([]int, 256)
	for i := range codes {
		codes[i] = i
	}
	compare(t, rowExitCodes, func(t *testing.T, in initProg) error {
		return each(codes, 4, func(code int) error {
			p, err := spawn(t, in.argv(nil, "sh", "-c", "exit "+strconv.Itoa(code)))
			if err != nil {
				return err
			}
			if err := p.expectExit(10*time.Second, code); err != nil {
				return fmt.Errorf("exit %d: %v", code, err)
			}
			return nil
		})
	})
}

func TestSignalExitCodes(t *testing.T) {
	t.Parallel()
	// A signal this process inherited as ignored stays ignored in every child
	// (GNU make ignores 32 and 33 for its jobs): such a child cannot die of it.
	ignored, _ := signalMask(os.Getpid(), "SigIgn")
	var signals []int
	for n := 1; n <= 64; n++ {
		if ignored&(1<<(n-1)) != 0 {
			continue
		}
		switch unix.Signal(n) {
		case unix.SIGCHLD, unix.SIGCONT, unix.SIGURG, unix.SIGWINCH, // ignored by default
			unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU: // stop, not kill
			continue
		}
		signals = append(signals, n)
	}
	compare(t, rowSignalCodes, func(t *testing.T, in initProg) error {
		return each(signals, 4, func(n int) error {
			p, err := spawn(t, in.argv(nil, "sh", "-c", "kill -"+strconv.Itoa(n)+" $$"))
			if err != nil {
				return err
			}
			if err := p.expectExit(10*time.Second, 128+n); err != nil {
				return fmt.Errorf("signal %d: %v", n, err)
			}
			return nil
		})
	})
}

func TestCommandNotFound(t *testing.T) {
	t.Parallel()
	compare(t, rowNotFound, func(t *testing.T, in initProg) error {
		for _, c := range []struct{ what, cmd string }{
			{"missing path", "/nonexistent/hcinit-test-cmd"},
			{"not in PATH", "hcinit-test-no-such-command"},
		} {
			if err := execFails(t, in, c.cmd, 127); err != nil {
				return fmt.Errorf("%s: %v", c.what, err)
			}
		}
		return nil
	})
}

func TestCommandNotExecutable(t *testing.T) {
	t.Parallel()
	compare(t, rowNotExec, func(t *testing.T, in initProg) error {
		dir := t.TempDir()
		file := filepath.Join(dir, "not-executable")
		if err := os.WriteFile(file, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
			return err
		}
		for _, c := range []struct{ what, cmd string }{{"file without x bit", file}, {"directory", dir}} {
			if err := execFails(t, in, c.cmd, 126); err != nil {
				return fmt.Errorf("%s: %v", c.what, err)
			}
		}
		return nil
	})
}

var pidInMessage = regexp.MustCompile(`\(([a-z-]+):[0-9]+\)`)

// execFails runs cmd, which cannot be executed, and wants exit code want and a
// message naming cmd.
func execFails(t *testing.T, in initProg, cmd string, want int) error {
	p, err := spawn(t, in.argv(nil, cmd))
	if err != nil {
		return err
	}
	code, err := p.exit(10 * time.Second)
	if err != nil {
		return err
	}
	msg := strings.TrimSpace(p.stderr())
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.ReplaceAll(msg, cmd, "PATH")
	msg = pidInMessage.ReplaceAllString(msg, "($1)") // "(catatonit:1234)": stable text for the table
	if code != want {
		return fmt.Errorf("exit %d, want %d (%q)", code, want, msg)
	}
	if !strings.Contains(p.stderr(), cmd) {
		return fmt.Errorf("the message does not name the path (%q)", msg)
	}
	return nil
}
