package subcmd

import (
	"slices"
	"testing"
)

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		args []string
		sub  string
		rest []string
	}{
		{nil, "", nil},
		{[]string{"check", "--live"}, "check", []string{"--live"}},
		{[]string{"-healthcheck"}, "check", []string{}},
		{[]string{"--healthcheck", "--socket", "S"}, "check", []string{"--socket", "S"}},
		{[]string{"status", "--json"}, "status", []string{"--json"}},
		{[]string{"version"}, "version", []string{}},
		// v1.0.x: the flag anywhere among hcinit's own options.
		{[]string{"--socket", "S", "-healthcheck"}, "check", []string{"--socket", "S", "-healthcheck"}},
		{[]string{"--socket=S", "--json", "-healthcheck"}, "check", []string{"--socket=S", "--json", "-healthcheck"}},
		{[]string{"-socket", "S", "-healthcheck"}, "check", []string{"-socket", "S", "-healthcheck"}},
		{[]string{"-ve", "143", "-healthcheck"}, "check", []string{"-ve", "143", "-healthcheck"}},
		// The value of an option is no flag, and the command's arguments are its own.
		{[]string{"--socket", "-healthcheck", "app"}, "", nil},
		{[]string{"--", "app", "-healthcheck"}, "", nil},
		{[]string{"-v", "app", "-healthcheck"}, "", nil},
		{[]string{"--check", "exec=x", "app", "-healthcheck"}, "", nil},
		{[]string{"-e143", "app", "-healthcheck"}, "", nil},
	} {
		sub, rest := Of(tc.args)
		if sub != tc.sub || (sub != "" && !slices.Equal(rest, tc.rest)) {
			t.Errorf("Of(%q) = %q, %q; want %q, %q", tc.args, sub, rest, tc.sub, tc.rest)
		}
	}
}
