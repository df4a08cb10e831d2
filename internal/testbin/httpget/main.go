// Command httpget does what kubelet's httpGet probe does: GET the URL and exit
// 0 for a status of 200-399, 1 for anything else. It prints the status line.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: httpget URL")
		os.Exit(2)
	}
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 10<<10))
	resp.Body.Close()
	fmt.Printf("%s %s\n", resp.Status, body)
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		os.Exit(1)
	}
}
