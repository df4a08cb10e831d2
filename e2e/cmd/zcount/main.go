// Command zcount counts zombie processes by reading /proc, for images that
// have no ps. It prints "zombies=N procs=M" (and "count=K", the size in bytes
// of the -count file, when given), one line per zombie after it, and exits 0.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	countFile := flag.String("count", "", "also print the size of this file (orphaner appends one byte per run)")
	flag.Parse()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var zombies []string
	procs := 0
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) S ppid ...": comm may hold spaces and parentheses, so
		// the state is the first field after the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) {
			continue
		}
		procs++
		if b[i+2] == 'Z' {
			zombies = append(zombies, string(b[:i+1]))
		}
	}
	fmt.Printf("zombies=%d procs=%d", len(zombies), procs)
	if *countFile != "" {
		n := int64(0)
		if fi, err := os.Stat(*countFile); err == nil {
			n = fi.Size()
		}
		fmt.Print(" count=" + strconv.FormatInt(n, 10))
	}
	fmt.Println()
	for _, z := range zombies {
		fmt.Println(z)
	}
}
