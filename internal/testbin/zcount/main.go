// Command zcount counts zombie processes by reading /proc, for images that
// have no ps. It prints "zombies=N procs=M" (and "count=K", the size in bytes
// of the -count file, when given), one line per zombie after it, and exits 0.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/wisdom-oss/go-healthcheck/internal/proc"
)

func main() {
	countFile := flag.String("count", "", "also print the size of this file (orphaner appends one byte per run)")
	flag.Parse()
	var zombies []string
	all := proc.All()
	procs := len(all)
	for _, p := range all {
		if p.State == 'Z' {
			zombies = append(zombies, fmt.Sprintf("%d (%s)", p.PID, p.Comm))
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
