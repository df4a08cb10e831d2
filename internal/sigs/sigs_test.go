package sigs

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want unix.Signal
	}{
		{"TERM", unix.SIGTERM}, {"SIGTERM", unix.SIGTERM}, {"term", unix.SIGTERM},
		{"15", unix.SIGTERM}, {" 9 ", unix.SIGKILL}, {"0", 0}, {"usr1", unix.SIGUSR1},
		{"RTMIN", 34}, {"RTMIN+2", 36}, {"SIGRTMAX", 64}, {"RTMAX-1", 63},
	} {
		have, err := Parse(tc.in)
		if err != nil || have != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tc.in, have, err, tc.want)
		}
	}
	for _, bad := range []string{"", "FOO", "65", "-1", "RTMIN+40", "RTMINx", "1e3"} {
		if s, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", bad, s)
		}
	}
}

func TestForwardable(t *testing.T) {
	for _, never := range []unix.Signal{unix.SIGCHLD, unix.SIGURG, unix.SIGKILL, unix.SIGSTOP,
		unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, 32, 33, 34} {
		if IsForwardable(never) {
			t.Errorf("%s is forwardable", Name(never))
		}
	}
	for _, s := range Lethal {
		if !IsForwardable(s.(unix.Signal)) {
			t.Errorf("lethal %v is not forwardable", s)
		}
	}
	if Name(unix.SIGTERM) != "SIGTERM" || Name(40) != "SIGRTMIN+6" {
		t.Errorf("Name: %s %s", Name(unix.SIGTERM), Name(40))
	}
}
