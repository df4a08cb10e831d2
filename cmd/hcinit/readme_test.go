package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeCommandLines: every hcinit command line in a shell block of the
// READMEs, pasted into sh as printed, parses: hcinit runs it with
// --print-config, which parses the options and the checks and exits. Before,
// the README's multi-check example failed with "hcinit: unknown option -q".
// (Dockerfile and YAML snippets are checked by e2e/snippets_test.go.)
func TestReadmeCommandLines(t *testing.T) {
	t.Parallel()
	ran := 0
	for _, doc := range []string{"../../README.md", "../../examples/README.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		in := false
		var cmd string
		for i, line := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasPrefix(line, "```sh"), strings.HasPrefix(line, "```shell"), strings.HasPrefix(line, "```console"):
				in = true
				continue
			case strings.HasPrefix(line, "```"):
				in = false
				continue
			case !in:
				continue
			}
			cmd += strings.TrimPrefix(strings.TrimSpace(line), "$ ")
			if strings.HasSuffix(cmd, "\\") {
				cmd = strings.TrimSuffix(cmd, "\\") + " "
				continue
			}
			if strings.HasPrefix(cmd, "hcinit ") {
				ran++
				c := exec.Command("sh", "-c", "hcinit --print-config "+strings.TrimPrefix(cmd, "hcinit "))
				c.Dir = t.TempDir()
				c.Env = append(os.Environ(), "PATH="+binDir+string(filepath.ListSeparator)+os.Getenv("PATH"))
				if out, err := c.CombinedOutput(); err != nil {
					t.Errorf("%s:%d: %s\n%v: %s", doc, i+1, cmd, err, out)
				}
			}
			cmd = ""
		}
	}
	if ran == 0 {
		t.Fatal("no hcinit command line found in the READMEs")
	}
}
