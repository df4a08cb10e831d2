package main

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hcinit's runtime does not re-read the CPU limit every second (godebug.go),
// and the child's environment gets no GODEBUG for it.
func TestNoGOMAXPROCSUpdates(t *testing.T) {
	bi, err := buildinfo.ReadFile(filepath.Join(binDir, "hcinit"))
	if err != nil {
		t.Fatal(err)
	}
	var def string
	for _, s := range bi.Settings {
		if s.Key == "DefaultGODEBUG" {
			def = s.Value
		}
	}
	if !strings.Contains(","+def+",", ",updatemaxprocs=0,") {
		t.Fatalf("DefaultGODEBUG %q lacks updatemaxprocs=0", def)
	}
	env, err := exec.LookPath("env")
	if err != nil {
		t.Skip("no env(1)")
	}
	cmd := exec.Command(filepath.Join(binDir, "hcinit"), "--", env)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, ownSocket())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hcinit -- env: %v", err)
	}
	if strings.Contains(string(out), "GODEBUG=") {
		t.Fatalf("the child's environment has a GODEBUG:\n%s", out)
	}
}
