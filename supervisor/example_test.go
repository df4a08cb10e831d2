package supervisor_test

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/supervisor"
)

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// env is an environment of the given pairs.
func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

// Options stop at "--" or at the first argument that is not an option; what
// follows is the command, its own options untouched.
func ExampleParse() {
	for _, args := range [][]string{
		{"--stop-timeout", "5s", "--", "app", "-v"},
		{"-v", "app", "-c", "--stop-timeout", "1s"},
		{"--stop-timeout=2.5", "app"},
	} {
		cfg, err := supervisor.Parse(args, noEnv)
		fmt.Printf("%q stop-timeout=%s single=%t verbosity=%d err=%v\n",
			cfg.Command, cfg.StopTimeout, cfg.SingleChild, cfg.Verbosity, err)
	}
	// Output:
	// ["app" "-v"] stop-timeout=5s single=false verbosity=-1 err=<nil>
	// ["app" "-c" "--stop-timeout" "1s"] stop-timeout=0s single=false verbosity=2 err=<nil>
	// ["app"] stop-timeout=2.5s single=false verbosity=-1 err=<nil>
}

// tini's options, one by one or clustered as getopt allows.
func ExampleParse_tini() {
	for _, args := range [][]string{
		{"-s", "-g", "-e", "143", "-p", "SIGKILL", "-v", "-w", "--", "app"},
		{"-sgwvv", "-e143", "-e", "0", "-pKILL", "app"},
	} {
		cfg, err := supervisor.Parse(args, noEnv)
		fmt.Printf("subreaper=%t single=%t map-exit=%v pdeath=%d verbosity=%d warn=%t %q err=%v\n",
			cfg.Subreaper, cfg.SingleChild, cfg.MapToZero, cfg.PdeathSig, cfg.Verbosity, cfg.WarnZombies, cfg.Command, err)
	}
	// Output:
	// subreaper=true single=false map-exit=map[143:true] pdeath=9 verbosity=2 warn=true ["app"] err=<nil>
	// subreaper=true single=false map-exit=map[0:true 143:true] pdeath=9 verbosity=3 warn=true ["app"] err=<nil>
}

// dumb-init's options: -c for the child alone, -r FROM:TO by number or name,
// TO 0 to drop.
func ExampleParse_dumbInit() {
	cfg, err := supervisor.Parse([]string{"-c", "-r", "15:3", "-r", "USR1:0", "--rewrite", "SIGHUP:SIGUSR2", "app"}, noEnv)
	fmt.Println(cfg.SingleChild, err)
	for _, from := range []unix.Signal{unix.SIGHUP, unix.SIGUSR1, unix.SIGTERM} {
		fmt.Printf("%d -> %d\n", from, cfg.Rewrite[from])
	}
	// Output:
	// true <nil>
	// 1 -> 12
	// 10 -> 0
	// 15 -> 3
}

// The peers' variables mean what they mean there; HCINIT_* twins exist for every
// option, and an explicit option wins.
func ExampleParse_environment() {
	for _, getenv := range []func(string) string{
		env("DUMB_INIT_SETSID", "0"),
		env("DUMB_INIT_SETSID", "1"),
		env("TINI_SUBREAPER", "1", "TINI_VERBOSITY", "3"),
		env("HCINIT_STOP_SIGNAL", "USR1", "HCINIT_STOP_TIMEOUT", "30", "HCINIT_MAP_EXIT", "3;4"),
	} {
		cfg, err := supervisor.Parse([]string{"app"}, getenv)
		fmt.Printf("single=%t subreaper=%t verbosity=%d stop=%d/%s map-exit=%v err=%v\n",
			cfg.SingleChild, cfg.Subreaper, cfg.Verbosity, cfg.StopSignal, cfg.StopTimeout, cfg.MapToZero, err)
	}
	cfg, _ := supervisor.Parse([]string{"--stop-signal", "HUP", "--stop-timeout", "1s", "app"},
		env("HCINIT_STOP_SIGNAL", "USR1", "HCINIT_STOP_TIMEOUT", "30"))
	fmt.Printf("option wins: stop=%d/%s\n", cfg.StopSignal, cfg.StopTimeout)
	// Output:
	// single=true subreaper=false verbosity=-1 stop=15/0s map-exit=map[] err=<nil>
	// single=false subreaper=false verbosity=-1 stop=15/0s map-exit=map[] err=<nil>
	// single=false subreaper=true verbosity=3 stop=15/0s map-exit=map[] err=<nil>
	// single=false subreaper=false verbosity=-1 stop=10/30s map-exit=map[3:true 4:true] err=<nil>
	// option wins: stop=1/1s
}

// Errors name the option (or variable) and what was wrong with it.
func ExampleParse_errors() {
	for _, args := range [][]string{
		{},
		{"--bogus", "app"},
		{"-x", "app"},
		{"--stop-timeout"},
		{"--stop-signal", "0", "app"},
		{"-r", "15", "app"},
		{"-e", "256", "app"},
		{"--restart", "sometimes", "app"},
		{"--help=yes"},
	} {
		_, err := supervisor.Parse(args, noEnv)
		fmt.Println(err)
	}
	_, err := supervisor.Parse([]string{"app"}, env("HCINIT_STOP_TIMEOUT", "soon"))
	fmt.Println(err)
	// Output:
	// no command given: usage is hcinit [OPTION...] [--] COMMAND [ARG...]
	// unknown option --bogus
	// unknown option -x
	// option --stop-timeout needs a value (D)
	// option --stop-signal: signal 0 cannot stop anything
	// option -r: want FROM:TO, have "15"
	// option -e: want an exit code 0..255, have "256"
	// option --restart: want no, on-failure or always, have "sometimes"
	// option --help takes no value
	// environment HCINIT_STOP_TIMEOUT: want a duration such as 10s or 500ms, have "soon"
}

// Durations as Go writes them or as plain seconds, as tini's and Docker's users do.
func ExampleParseDuration() {
	for _, s := range []string{"10", "0.5", "1m30s", "250ms", "-1s", "soon"} {
		d, err := supervisor.ParseDuration(s)
		fmt.Println(d, err)
	}
	// Output:
	// 10s <nil>
	// 500ms <nil>
	// 1m30s <nil>
	// 250ms <nil>
	// 0s negative duration "-1s"
	// 0s want a duration such as 10s or 500ms, have "soon"
}

// LookupUser reads /etc/passwd and /etc/group when they exist; numbers work
// without them (a scratch image has neither).
func ExampleLookupUser() {
	dir, _ := os.MkdirTemp("", "lookupuser")
	defer os.RemoveAll(dir)
	passwd, group := dir+"/passwd", dir+"/group"
	os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(group, []byte("root:x:0:\napp:x:1000:\ndocker:x:999:app\nstaff:x:50:other,app\n"), 0o644)
	for _, spec := range []string{"app", "1000", "app:staff", "2000", "2000:50", "nobody", "app:nogroup"} {
		id, err := supervisor.LookupUser(spec, passwd, group)
		if err != nil {
			fmt.Println(strings.ReplaceAll(err.Error(), dir, "DIR"))
			continue
		}
		fmt.Printf("%s: uid=%d gid=%d groups=%v home=%s\n", spec, id.Cred.Uid, id.Cred.Gid, id.Cred.Groups, id.Home)
	}
	// Output:
	// app: uid=1000 gid=1000 groups=[999 50] home=/home/app
	// 1000: uid=1000 gid=1000 groups=[999 50] home=/home/app
	// app:staff: uid=1000 gid=50 groups=[999] home=/home/app
	// 2000: uid=2000 gid=2000 groups=[] home=/
	// 2000:50: uid=2000 gid=50 groups=[] home=/
	// user "nobody": not found in DIR/passwd (use a numeric uid)
	// group "nogroup": not found in DIR/group (use a numeric gid)
}
