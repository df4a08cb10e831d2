package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// What `hcinit version` says for each way hcinit is built.
func TestVersionText(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		name            string
		version, commit string
		bi              *debug.BuildInfo
		want            []string
	}{
		{"release build (-ldflags)", "v1.1.0", "4aa6f41e330b2bad245d24e5ee81c7f12d7f82a8",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
				Settings: settings("-trimpath", "true", "CGO_ENABLED", "0", "GOARCH", "arm64", "GOOS", "linux", "CGO_CFLAGS", "")},
			[]string{"hcinit v1.1.0\n", "commit:   4aa6f41e330b2bad245d24e5ee81c7f12d7f82a8\n", "go:       go1.26.8 ",
				"build:    -trimpath=true CGO_ENABLED=0\n"}},
		{"go install @v1.1.0", "dev", "",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.1.0"}, Settings: settings("CGO_ENABLED", "1")},
			[]string{"hcinit v1.1.0\n", "commit:   unknown\n", "build:    CGO_ENABLED=1\n"}},
		{"go install @commit", "dev", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v1.0.3-0.20261125140728-4aa6f41e330b"}},
			[]string{"hcinit v1.0.3-0.20261125140728-4aa6f41e330b\n", "commit:   4aa6f41e330b\n", "go:       " + runtime.Version()}},
		{"go build in a checkout", "dev", "",
			&debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
				Settings: settings("vcs", "git", "vcs.revision", "4aa6f41e", "vcs.time", "2026-11-25T14:07:28Z", "vcs.modified", "true")},
			[]string{"hcinit dev\n", "commit:   4aa6f41e (2026-11-25T14:07:28Z, modified)\n"}},
		{"no build info", "dev", "", nil, []string{"hcinit dev\n", "commit:   unknown\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := versionText(tc.version, tc.commit, tc.bi)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("have\n%s\nwant it to contain %q", out, w)
				}
			}
			if strings.Contains(out, "vcs") {
				t.Errorf("vcs settings belong on the commit line:\n%s", out)
			}
		})
	}
}

// A release build (the Makefile's -ldflags) reports its version and commit,
// the same for `version` and `--version`/`-V`; `version` with an argument is
// a usage error.
func TestVersionReleaseBuild(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hcinit")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath",
		"-ldflags", "-s -w -X main.version=v9.8.7 -X main.commit=0123456789abcdef", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var first string
	for _, args := range [][]string{{"version"}, {"--version"}, {"-V"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("hcinit %v: %v", args, err)
		}
		s := string(out)
		for _, w := range []string{"hcinit v9.8.7\n", "commit:   0123456789abcdef\n", "go:       " + runtime.Version(), "CGO_ENABLED=0", "-trimpath=true"} {
			if !strings.Contains(s, w) {
				t.Errorf("hcinit %v: have\n%s\nwant it to contain %q", args, s, w)
			}
		}
		if first == "" {
			first = s
		} else if s != first {
			t.Errorf("hcinit %v differs from hcinit version:\n%s\n%s", args, s, first)
		}
	}
	cmd := exec.Command(bin, "version", "extra")
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "version takes no arguments") {
		t.Errorf("hcinit version extra: exit %v, %q; want exit 2 and a usage error", err, out)
	}
}
