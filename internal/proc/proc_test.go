package proc

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Process
	}{
		{"42 (sh) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 100 0 0",
			Process{PID: 42, PPID: 1, State: 'S', Comm: "sh", Ticks: 10}},
		{"7 (a) b) (c) Z 3 7 7", Process{PID: 7, PPID: 3, State: 'Z', Comm: "a) b) (c"}},
	} {
		have, err := Parse(tc.line)
		if err != nil || have != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.line, have, err, tc.want)
		}
	}
	for _, bad := range []string{"", "1 sh S 1", "1 (sh)", "1 (sh) S x", "x (sh) S 1", "1 (sh) SS 1"} {
		if p, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", bad, p)
		}
	}
}

func TestStatAndDescendants(t *testing.T) {
	self, err := Stat(os.Getpid())
	if err != nil || self.PID != os.Getpid() || self.PPID != os.Getppid() {
		t.Fatalf("Stat(self) = %+v, %v", self, err)
	}
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if !slices.Contains(Descendants(os.Getpid()), cmd.Process.Pid) {
		t.Errorf("Descendants(self) misses the child %d", cmd.Process.Pid)
	}
	if _, err := Stat(1 << 30); err != ErrNoProcess {
		t.Errorf("Stat(no such pid): %v, want ErrNoProcess", err)
	}
}

func TestStatOfNoProcess(t *testing.T) {
	// pid_max is at most 4194304 (2^22): this pid never exists.
	if _, err := Stat(1 << 30); !errors.Is(err, ErrNoProcess) {
		t.Errorf("Stat(no such pid) = %v, want ErrNoProcess", err)
	}
}

func TestReadSmall(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 513, 5000} {
		path := filepath.Join(t.TempDir(), "f")
		want := bytes.Repeat([]byte("x"), size)
		if err := os.WriteFile(path, want, 0o600); err != nil {
			t.Fatal(err)
		}
		have, err := readSmall(path)
		if err != nil || !bytes.Equal(have, want) {
			t.Errorf("readSmall(%d bytes) = %d bytes, %v", size, len(have), err)
		}
	}
	if _, err := readSmall(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("readSmall(missing) = %v, want ErrNotExist", err)
	}
}

func TestUnder(t *testing.T) {
	self := os.Getpid()
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	child := cmd.Process.Pid
	for _, c := range []struct {
		pid, root int
		want      bool
	}{
		{self, self, true},
		{child, self, true},
		{child, child, true},
		{self, child, false},
		{child, os.Getppid(), true},
		{0, self, false},
	} {
		if got, err := Under(c.pid, c.root); err != nil || got != c.want {
			t.Errorf("Under(%d, %d) = %v, %v; want %v", c.pid, c.root, got, err, c.want)
		}
	}
	if _, err := Under(1<<30, self); err == nil {
		t.Error("Under of a pid that does not exist: no error")
	}
}
