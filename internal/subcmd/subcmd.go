// Package subcmd tells hcinit's client modes (check, status, version) from a
// supervisor's command line. internal/earlysig needs the answer in a package
// initializer, before anything else of hcinit runs, so it has no dependencies.
package subcmd

// ValueOptions are hcinit's options that take a value as the next argument,
// long names and short letters; cmd/hcinit's tests keep the list in step with
// its option table.
var ValueOptions = []string{
	"check", "interval", "timeout", "start-period", "start-interval", "retries",
	"success-threshold", "on-unhealthy", "watchdog", "watchdog-signal", "notify-access", "http", "socket",
	"stop-signal", "stop-triggers", "stop-timeout", "drain-delay", "rewrite",
	"map-exit", "pdeath-signal", "user", "pidfile", "restart", "restart-delay",
	"restart-max-delay", "log-level", "log-format", "config",
	"r", "e", "p",
}

// IsHealthcheck reports whether a is go-healthcheck v1.0.x's flag.
func IsHealthcheck(a string) bool { return a == "-healthcheck" || a == "--healthcheck" }

// Of returns the client subcommand args ask for — "check", "status" or
// "version" — and the arguments it gets, or "" when args start a supervisor.
//
// "-healthcheck" means "check" wherever it stands among hcinit's own options,
// as go-healthcheck v1.0.x took it anywhere in its arguments
// (`hcinit --socket S -healthcheck`); after the command starts (at "--" or the
// first argument that is not an option) it is the command's.
func Of(args []string) (string, []string) {
	if len(args) == 0 {
		return "", nil
	}
	switch a := args[0]; {
	case a == "check" || IsHealthcheck(a):
		return "check", args[1:]
	case a == "status" || a == "version":
		return a, args[1:]
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case IsHealthcheck(a):
			return "check", args
		case a == "--" || len(a) < 2 || a[0] != '-':
			return "", nil
		case contains(a, '='):
		case takesValue(a):
			i++
		}
	}
	return "", nil
}

// takesValue reports whether option a (without "=VALUE") is followed by its
// value: --name or -name (Go's flag package, which the check client uses), or
// a cluster of short options ending in one that takes a value (-ve 143).
func takesValue(a string) bool {
	name := trimDashes(a)
	if has(name) && (len(name) > 1 || !dashdash(a)) {
		return true
	}
	if dashdash(a) {
		return false
	}
	// A cluster: the first letter that takes a value takes the rest, or the
	// next argument when it is the last letter.
	for j := 0; j < len(name); j++ {
		if has(name[j : j+1]) {
			return j == len(name)-1
		}
	}
	return false
}

func has(name string) bool {
	for _, o := range ValueOptions {
		if o == name {
			return true
		}
	}
	return false
}

// The package imports nothing (internal/earlysig's init order depends on it,
// see internal/siglist): these stand in for strings.Contains, TrimLeft and
// HasPrefix.

func contains(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

func trimDashes(s string) string {
	for len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	return s
}

func dashdash(s string) bool { return len(s) >= 2 && s[0] == '-' && s[1] == '-' }
