// Command orphaner leaves orphans behind, as a careless health check script
// does: it starts -n copies of itself that sleep for -linger and exit, and
// exits at once without waiting for them, so they are reparented to the
// container's init, which must reap them. With -count it first appends one
// byte to that file, so a test can count the runs.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	n := flag.Int("n", 2, "orphans to leave per run")
	linger := flag.Duration("linger", 300*time.Millisecond, "how long each orphan lives")
	count := flag.String("count", "", "append one byte to this file per run")
	orphan := flag.Bool("orphan", false, "be an orphan: sleep -linger and exit")
	flag.Parse()
	if *orphan {
		time.Sleep(*linger)
		return
	}
	if *count != "" {
		if f, err := os.OpenFile(*count, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666); err == nil {
			f.Write([]byte{'.'})
			f.Close()
		}
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := 0; i < *n; i++ {
		p, err := os.StartProcess(exe, []string{exe, "-orphan", "-linger", linger.String()},
			&os.ProcAttr{Files: []*os.File{nil, nil, os.Stderr}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		p.Release()
	}
	fmt.Println("ok: left", *n, "orphans")
}
