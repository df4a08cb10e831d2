package main

import (
	"fmt"

	"golang.org/x/sys/unix"
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
func Example_parseArgs() {
	for _, args := range [][]string{
		{"--stop-timeout", "5s", "--", "app", "-v"},
		{"-v", "app", "-c", "--stop-timeout", "1s"},
		{"--stop-timeout=2.5", "app"},
	} {
		cfg, err := parseArgs(args, noEnv)
		fmt.Printf("%q stop-timeout=%s single=%t verbosity=%d err=%v\n",
			cfg.Command, cfg.StopTimeout, cfg.SingleChild, cfg.Verbosity, err)
	}
	// Output:
	// ["app" "-v"] stop-timeout=5s single=false verbosity=-1 err=<nil>
	// ["app" "-c" "--stop-timeout" "1s"] stop-timeout=0s single=false verbosity=2 err=<nil>
	// ["app"] stop-timeout=2.5s single=false verbosity=-1 err=<nil>
}

// tini's options, one by one or clustered as getopt allows.
func Example_parseArgsTini() {
	for _, args := range [][]string{
		{"-s", "-g", "-e", "143", "-p", "SIGKILL", "-v", "-w", "--", "app"},
		{"-sgwvv", "-e143", "-e", "0", "-pKILL", "app"},
	} {
		cfg, err := parseArgs(args, noEnv)
		fmt.Printf("subreaper=%t single=%t map-exit=%v pdeath=%d verbosity=%d warn=%t %q err=%v\n",
			cfg.Subreaper, cfg.SingleChild, cfg.MapToZero, cfg.PdeathSig, cfg.Verbosity, cfg.WarnZombies, cfg.Command, err)
	}
	// Output:
	// subreaper=true single=false map-exit=map[143:true] pdeath=9 verbosity=2 warn=true ["app"] err=<nil>
	// subreaper=true single=false map-exit=map[0:true 143:true] pdeath=9 verbosity=3 warn=true ["app"] err=<nil>
}

// dumb-init's options: -c for the child alone, -r FROM:TO by number or name,
// TO 0 to drop.
func Example_parseArgsDumbInit() {
	cfg, err := parseArgs([]string{"-c", "-r", "15:3", "-r", "USR1:0", "--rewrite", "SIGHUP:SIGUSR2", "app"}, noEnv)
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
func Example_parseArgsEnvironment() {
	for _, getenv := range []func(string) string{
		env("DUMB_INIT_SETSID", "0"),
		env("DUMB_INIT_SETSID", "1"),
		env("TINI_SUBREAPER", "1", "TINI_VERBOSITY", "3"),
		env("HCINIT_STOP_SIGNAL", "USR1", "HCINIT_STOP_TIMEOUT", "30", "HCINIT_MAP_EXIT", "3;4"),
	} {
		cfg, err := parseArgs([]string{"app"}, getenv)
		fmt.Printf("single=%t subreaper=%t verbosity=%d stop=%d/%s map-exit=%v err=%v\n",
			cfg.SingleChild, cfg.Subreaper, cfg.Verbosity, cfg.StopSignal, cfg.StopTimeout, cfg.MapToZero, err)
	}
	cfg, _ := parseArgs([]string{"--stop-signal", "HUP", "--stop-timeout", "1s", "app"},
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
func Example_parseArgsErrors() {
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
		_, err := parseArgs(args, noEnv)
		fmt.Println(err)
	}
	_, err := parseArgs([]string{"app"}, env("HCINIT_STOP_TIMEOUT", "soon"))
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
