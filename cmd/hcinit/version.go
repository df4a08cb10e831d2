package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// version and commit are set by release builds (`make build`, `make release`):
//
//	-ldflags "-X main.version=v1.1.0 -X main.commit=<full hash>"
//
// Left empty/"dev", they come from the binary's build information instead:
// `go install github.com/wisdom-oss/go-healthcheck/cmd/hcinit@v1.1.0` records
// the module version, a build inside a git checkout the vcs.* settings.
var (
	version = "dev"
	commit  = ""
)

// versionMain is `hcinit version`: it takes no arguments.
func versionMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "hcinit: version takes no arguments, have %q\nTry 'hcinit --help'.\n", args[0])
		return 2
	}
	bi, _ := debug.ReadBuildInfo()
	io.WriteString(stdout, versionText(version, commit, bi))
	return 0
}

// versionText is what `hcinit version` and `hcinit --version` print: the
// version on the first line ("hcinit v1.1.0", which scripts can rely on), then
// the commit, the Go toolchain and platform, and the build settings Go
// recorded (CGO_ENABLED, -trimpath, GOARCH's level…). bi may be nil.
func versionText(version, commit string, bi *debug.BuildInfo) string {
	settings := map[string]string{}
	var keys []string
	goVersion := runtime.Version()
	if bi != nil {
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
			keys = append(keys, s.Key)
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		// go install …/cmd/hcinit@v1.1.0 (or @commit: a pseudo-version).
		if (version == "" || version == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
	}
	if version == "" {
		version = "dev"
	}
	if commit == "" {
		commit = vcsCommit(settings)
	}
	if commit == "" {
		commit = pseudoVersionRev(version)
	}
	if commit == "" {
		commit = "unknown"
	}

	var b strings.Builder
	fmt.Fprintf(&b, "hcinit %s\n", version)
	fmt.Fprintf(&b, "commit:   %s\n", commit)
	fmt.Fprintf(&b, "go:       %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	if flags := buildFlags(keys, settings); len(flags) > 0 {
		fmt.Fprintf(&b, "build:    %s\n", strings.Join(flags, " "))
	}
	return b.String()
}

// vcsCommit is the commit a build inside a git checkout recorded, with its
// time and whether the tree was modified; "" when none was recorded.
func vcsCommit(settings map[string]string) string {
	commit := settings["vcs.revision"]
	if commit == "" {
		return ""
	}
	var notes []string
	if t := settings["vcs.time"]; t != "" {
		notes = append(notes, t)
	}
	if settings["vcs.modified"] == "true" {
		notes = append(notes, "modified")
	}
	if len(notes) > 0 {
		commit += " (" + strings.Join(notes, ", ") + ")"
	}
	return commit
}

// buildFlags are the build settings other than vcs.*, GOOS and GOARCH, as
// KEY=VALUE in the order Go recorded them.
func buildFlags(keys []string, settings map[string]string) []string {
	var flags []string
	for _, k := range keys {
		if strings.HasPrefix(k, "vcs") || k == "GOOS" || k == "GOARCH" || settings[k] == "" {
			continue
		}
		flags = append(flags, k+"="+settings[k])
	}
	return flags
}

// pseudoVersionRev returns the commit prefix of a Go pseudo-version
// (v0.0.0-20261125140728-4aa6f41e330b, v1.1.1-0.20261125140728-4aa6f41e330b),
// the form `go install …@<commit>` records; "" for anything else.
func pseudoVersionRev(v string) string {
	i := strings.LastIndexByte(v, '-')
	if i < 0 {
		return ""
	}
	rev, rest := v[i+1:], v[:i]
	j := strings.LastIndexAny(rest, "-.")
	if len(rev) != 12 || j < 0 || len(rest)-j-1 != 14 {
		return ""
	}
	for _, c := range rev + rest[j+1:] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return ""
		}
	}
	return rev
}
