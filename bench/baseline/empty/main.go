// Command empty does nothing: its wall time is the floor of any static Go
// program on this machine (exec, runtime start-up, exit).
package main

func main() {}
