// Command httpd is the tiny HTTP application the health benchmarks supervise.
// GET /health answers 200 "ok" and counts the request; GET /count returns that
// count (without counting itself), so the benchmark can see how often a health
// check actually ran.
package main

import (
	"flag"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	flag.Parse()
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strconv.FormatInt(n.Load(), 10) + "\n"))
	})
	if err := http.ListenAndServe(*addr, mux); err != nil {
		os.Stderr.WriteString("httpd: " + err.Error() + "\n")
		os.Exit(1)
	}
}
