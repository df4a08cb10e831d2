package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// TestReadmeOptionsMatchHelp: an option the READMEs write at the start of a
// code span (`--name …`) is one `hcinit --help` lists (or another tool's,
// named below), a default the README gives as "`--name` (VALUE)" is the one
// --help gives, and every HCINIT_* variable the README names is an option's
// environment twin or one of the few others hcinit and its builds read.
func TestReadmeOptionsMatchHelp(t *testing.T) {
	t.Parallel()
	help, err := exec.Command(filepath.Join(binDir, "hcinit"), "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("hcinit --help: %v\n%s", err, help)
	}
	opts := map[string]string{} // long name -> its help text
	optLine := regexp.MustCompile(`^\s+(?:-\w, )?--([a-z][a-z-]*)(?: \S+)?\s{2,}(.*)$`)
	for _, line := range strings.Split(string(help), "\n") {
		if m := optLine.FindStringSubmatch(line); m != nil {
			opts[m[1]] = m[2]
		}
	}
	if len(opts) < 30 {
		t.Fatalf("read %d options from --help; the pattern no longer matches its layout", len(opts))
	}
	others := map[string]bool{ // docker's and Pebble's, in the same text
		"cap-add": true, "cap-drop": true, "pid": true, "read-only": true, "level": true,
		"json": true, "live": true, "ready": true, // hcinit check's
	}
	otherEnv := map[string]bool{
		"HCINIT_": true, "HCINIT_PROBE_RUN": true, "HCINIT_IMAGE": true, "HCINIT_FILE": true,
		"HCINIT_VERSION": true, "HCINIT_K8S_ROLLOUTS": true, "HCINIT_PEERS_OUT": true,
	}
	spanOpt := regexp.MustCompile("`--([a-z][a-z-]*)")
	withDefault := regexp.MustCompile("`--([a-z][a-z-]*)` \\(([^ )]+)\\)")
	envVar := regexp.MustCompile(`HCINIT_[A-Z0-9_]*`)
	for _, doc := range []string{"../../README.md", "../../examples/README.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range spanOpt.FindAllStringSubmatch(line, -1) {
				if _, ok := opts[m[1]]; !ok && !others[m[1]] {
					t.Errorf("%s:%d: --%s is not an option hcinit --help lists", doc, i+1, m[1])
				}
			}
			for _, m := range withDefault.FindAllStringSubmatch(line, -1) {
				h, ok := opts[m[1]]
				if ok && !strings.Contains(h, "default "+m[2]) {
					t.Errorf("%s:%d: README gives --%s a default of %s; --help: %q", doc, i+1, m[1], m[2], h)
				}
			}
			for _, v := range envVar.FindAllString(line, -1) {
				name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(v, "HCINIT_"), "_", "-"))
				if _, ok := opts[name]; !ok && !otherEnv[v] {
					t.Errorf("%s:%d: %s is no option's environment twin", doc, i+1, v)
				}
			}
		}
	}
}
