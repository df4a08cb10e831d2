package main

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// initProg is an init the PID-1 cases run against: hcinit, and Debian's tini,
// dumb-init and catatonit when installed. A peer's failure is data for the
// table in docs/peers.md; only hcinit's fails the test.
type initProg struct {
	name string
	path string // "" when not installed

	base   []string // always given: tini -s (subreaper, and no warning when not PID 1)
	group  []string // signal the child's process group
	single []string // signal the child alone
	noMode string   // why a mode is missing, when one is: "group" or "single"

	hcinit bool // has hcinit's own options (--stop-timeout, --pidfile, …)
}

// argv is the command line: the init, its flags, "--" and the command.
func (in initProg) argv(flags []string, command ...string) []string {
	a := append([]string{in.path}, in.base...)
	a = append(a, flags...)
	a = append(a, "--")
	return append(a, command...)
}

func (in initProg) mode(group bool) ([]string, error) {
	if group && in.noMode == "group" || !group && in.noMode == "single" {
		return nil, na("no such mode")
	}
	if group {
		return in.group, nil
	}
	return in.single, nil
}

var (
	initsOnce sync.Once
	initsList []initProg
)

func inits() []initProg {
	initsOnce.Do(func() {
		look := func(name string) string {
			p, err := exec.LookPath(name)
			if err != nil {
				return ""
			}
			return p
		}
		initsList = []initProg{
			{name: "hcinit", path: filepath.Join(binDir, "hcinit"), single: []string{"-c"}, hcinit: true},
			{name: "tini", path: look("tini"), base: []string{"-s"}, group: []string{"-g"}},
			{name: "dumb-init", path: look("dumb-init"), single: []string{"-c"}},
			{name: "catatonit", path: look("catatonit"), group: []string{"-g"}},
		}
	})
	return initsList
}

// errNA marks a case that does not apply to an init (it has no such option).
var errNA = errors.New("n/a")

func na(why string) error { return fmt.Errorf("%w: %s", errNA, why) }

// compare runs fn for every installed init at once, records each outcome in the
// peers table under row, and fails t only when hcinit fails. fn runs on its own
// goroutine: it must return errors, never call t.Fatal.
func compare(t *testing.T, row string, fn func(t *testing.T, in initProg) error) {
	t.Helper()
	list := inits()
	errs := make([]error, len(list))
	var wg sync.WaitGroup
	for i, in := range list {
		if in.path == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(t, in)
		}()
	}
	wg.Wait()
	for i, in := range list {
		err := errs[i]
		switch {
		case in.path == "":
			peers.record(row, in.name, "not installed")
			t.Logf("%s: not installed, skipped", in.name)
		case errors.Is(err, errNA):
			peers.record(row, in.name, "n/a ("+strings.TrimPrefix(err.Error(), "n/a: ")+")")
		case err == nil:
			peers.record(row, in.name, "pass")
		default:
			peers.record(row, in.name, "**fail**: "+err.Error())
			if in.hcinit {
				t.Errorf("%s: %v", in.name, err)
			} else {
				t.Logf("%s (peer, recorded as data): %v", in.name, err)
			}
		}
	}
}

// Rows of the table, in the order docs/peers.md shows them.
const (
	rowExitCodes   = "exit codes 0..255 passed through"
	rowSignalCodes = "128+N when the child is killed by signal N"
	rowNotFound    = "127 and the path named when the command is missing"
	rowNotExec     = "126 and the path named when the command is not executable"
	rowFwdGroup    = "every forwardable signal reaches child and grandchild, in order (group mode)"
	rowFwdSingle   = "every forwardable signal reaches the child only, in order (single-child mode)"
	rowFwdProf     = "SIGPROF (in hcinit's forwardable list) forwarded"
	rowRewrite     = "--rewrite 15:3 turns TERM into QUIT"
	rowDrop        = "--rewrite 10:0 drops USR1"
	rowURG         = "SIGURG not forwarded"
	rowCHLD        = "SIGCHLD not forwarded"
	rowTermStart   = "TERM right after start as PID 1, 200 runs: the child gets it (143), the init never hangs"
	rowOrphansPID1 = "100 orphans adopted and reaped as PID 1, no zombie left"
	rowOrphansSub  = "100 orphans adopted and reaped as a plain process (subreaper), no zombie left"
	rowGrace       = "--stop-timeout 1s (opt-in): TERM-ignoring child killed after it (137)"
	rowPrompt      = "prompt child: init exits well inside the grace"
	rowBackground  = "background process shutting down for 1 s finishes before the init exits (tini#180, dumb-init#212)"
	rowSecondTerm  = "second TERM during the grace kills at once"
	rowQuit        = "QUIT (a JVM's thread dump) only forwarded: the child runs on, a second QUIT too, no stop sequence"
	rowLongGrace   = "child needing 10 s to shut down, no grace option given: it finishes, exit 0 (the orchestrator owns the grace)"
	rowTTY         = "TTY child reads input and dies of Ctrl-C (130)"
)

var rowOrder = []string{
	rowExitCodes, rowSignalCodes, rowNotFound, rowNotExec,
	rowFwdGroup, rowFwdSingle, rowFwdProf, rowRewrite, rowDrop, rowURG, rowCHLD, rowTermStart,
	rowOrphansPID1, rowOrphansSub,
	rowGrace, rowPrompt, rowBackground, rowSecondTerm, rowQuit, rowLongGrace,
	rowTTY,
}

// peerTable is the outcome of every case for every init.
type peerTable struct {
	mu    sync.Mutex
	cells map[string]map[string]string
	notes []string
}

var peers = &peerTable{cells: map[string]map[string]string{}}

func (p *peerTable) record(row, init, cell string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cells[row] == nil {
		p.cells[row] = map[string]string{}
	}
	p.cells[row][init] = cell
}

// note adds to a cell what a pass does not say.
func (p *peerTable) note(row, init, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cells[row] == nil {
		p.cells[row] = map[string]string{}
	}
	p.notes = append(p.notes, fmt.Sprintf("%s, %s: %s", init, row, text))
	p.cells[row][init+"#note"] = fmt.Sprintf("[%d]", len(p.notes))
}

// markdown renders the rows that ran. Cells name what went wrong, so the table
// shows where hcinit matches the peers and where it goes further.
func (p *peerTable) markdown() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	b.WriteString("# hcinit and its peers\n\n")
	b.WriteString("Generated by `HCINIT_PEERS_OUT=$PWD/docs/peers.md go test -count=1 ./cmd/hcinit` " +
		"(as root, in one run, against the Debian packages installed); do not edit by hand.\n" +
		"Every case runs the same processes and signals against every init. " +
		"\"fail\" says what was observed; for a peer it is data, for hcinit a failing test.\n\n")
	list := inits()
	b.WriteString("| case |")
	for _, in := range list {
		fmt.Fprintf(&b, " %s |", in.name)
	}
	b.WriteString("\n|---|")
	for range list {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, row := range rowOrder {
		cells, ok := p.cells[row]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "| %s |", row)
		for _, in := range list {
			c := strings.ReplaceAll(cells[in.name]+" "+cells[in.name+"#note"], "|", "\\|")
			c = strings.TrimSpace(c)
			c = strings.ReplaceAll(c, "\n", " ")
			fmt.Fprintf(&b, " %s |", c)
		}
		b.WriteString("\n")
	}
	for i, n := range p.notes {
		fmt.Fprintf(&b, "\n[%d] %s\n", i+1, n)
	}
	b.WriteString("\nVersions:")
	for _, in := range list {
		if in.path == "" || in.hcinit {
			continue
		}
		fmt.Fprintf(&b, " %s", peerVersion(in))
	}
	b.WriteString(".\n")
	b.WriteString("\nUnder Kubernetes (failed requests during rolling updates, hcinit vs tini, on a real cluster): " +
		"[peers-kubernetes.md](peers-kubernetes.md).\n")
	return b.String()
}

func peerVersion(in initProg) string {
	flag := "--version"
	if in.name == "catatonit" {
		flag = "-V"
	}
	out, _ := exec.Command(in.path, flag).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return "`" + in.name + "` " + s
}
