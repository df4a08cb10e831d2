package health

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/duration"
	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
)

// Check kinds.
const (
	KindProcess  = "process"
	KindTCP      = "tcp"
	KindHTTP     = "http"
	KindHTTPS    = "https"
	KindExec     = "exec"
	KindFile     = "file"
	KindNotify   = "notify"
	KindSignal   = "signal"
	KindDelegate = "delegate"
	KindGRPC     = "grpc"
)

// Level says which question a check answers: liveness, readiness or both.
type Level string

// Levels.
const (
	LevelLive  Level = "live"
	LevelReady Level = "ready"
	LevelBoth  Level = "both"
)

func (l Level) live() bool  { return l == LevelLive || l == LevelBoth }
func (l Level) ready() bool { return l == LevelReady || l == LevelBoth }

// Unset marks a timing field of a Spec that takes its value from Config.
const Unset = -1

// Spec is one parsed --check value. Durations and counts that are Unset take the
// Config's defaults in New.
type Spec struct {
	Name  string
	Kind  string
	Level Level

	Interval, Timeout, StartPeriod, StartInterval time.Duration
	Retries, SuccessThreshold                     int

	URL        string        // http, https
	StatusLow  int           // http: accepted status range, default 200..399
	StatusHigh int           //
	Body       string        // http: substring the body's first 10 KiB must contain
	Insecure   bool          // https, grpc with TLS: skip certificate verification
	Service    string        // grpc: the service asked about ("" = the server as a whole)
	TLS        bool          // grpc: over TLS
	Headers    []Header      // http, https: request headers (a config file's httpHeaders)
	Addr       string        // tcp, grpc: host:port; delegate: socket address ("" = adopt the child's)
	Argv       []string      // exec
	Path       string        // file
	MaxAge     time.Duration // file: 0 = existence only; Unset = 2 × interval
	Signal     unix.Signal   // signal
	Heartbeat  string        // signal: "notify" or a file path
}

// SpecSyntax documents --check for `hcinit --help` and the README.
const SpecSyntax = `CHECKS (--check SPEC, repeatable; without any, one "process" check):
  A SPEC is comma-separated key=value items. The first item may be a shorthand:
    process                          the child is alive, not a zombie, not stopped
    http://127.0.0.1:8080/healthz    GET; success is status 200-399
    https://127.0.0.1:8443/healthz   the same over TLS
    tcp://127.0.0.1:5432             a TCP connection is accepted
    grpc://127.0.0.1:50051/SERVICE   grpc.health.v1.Health/Check says SERVING
                                     (SERVICE optional: "" asks about the server)
    exec=/bin/probe -q 'an arg'      run argv (shell-style quoting, no shell); exit 0 passes
    file=/run/app/heartbeat          the file's mtime is younger than max-age
    notify                           the child's sd_notify: READY=1, WATCHDOG=1 (NOTIFY_SOCKET)
    signal=USR1                      send the child USR1 (only when that cannot kill it); expect a
                                     heartbeat within the timeout
    delegate                         the child's own go-healthcheck socket (found by itself)
  or say type=KIND and the kind's keys. Keys for every kind:
    name=N  level=live|ready|both (default both)  interval=D  timeout=D
    start-period=D  start-interval=D  retries=N  success-threshold=N
  Keys per kind:
    http, https  url=URL status=200|200-299 body=SUBSTRING insecure=true
    tcp          addr=HOST:PORT
    grpc         addr=HOST:PORT service=NAME tls=true insecure=true (with tls:
                 skip certificate verification)
    exec         command=ARGV (shell-style words, or a JSON array ["/bin/probe","-q"])
                 arg=A (repeatable, appended as is)
    file         path=P  max-age=D (default 2 x interval; 0 = the file exists)
    signal       signal=SIG (not KILL or STOP)  heartbeat=notify|FILE (default notify)
    delegate     addr=SOCKET (default: the socket the child announces; its server must be
                 in hcinit's container)
  A URL, command, path or body may contain commas unless "KEY=" of a known key
  follows the comma; a value in quotes ("…" or '…') may contain anything, and
  commas inside a command's quotes never split. In HCINIT_CHECK, ';' or a
  newline separates specs and "\;" is a ';' of the spec. A key given twice, or
  a port outside 1-65535, is an error. Quote a spec with spaces for your shell.
  Examples:
    --check http://127.0.0.1:8080/healthz,level=live,timeout=2s
    --check type=tcp,addr=:5432,level=ready,interval=2s
    --check 'exec=/usr/bin/pg_isready -q,name=pg,retries=5'
    --check "exec=/bin/sh -c 'test -f /ready',name=ready,level=ready"
    --check 'exec=["/bin/sh","-c","test -f /ready"]'
    --check file=/tmp/alive,max-age=30s
    --check signal=USR1,heartbeat=/tmp/alive
`

var commonKeys = []string{"type", "name", "level", "interval", "timeout", "start-period",
	"start-interval", "retries", "success-threshold"}

var kindKeys = map[string][]string{
	KindProcess:  nil,
	KindNotify:   nil,
	KindHTTP:     {"url", "status", "body", "insecure"},
	KindHTTPS:    {"url", "status", "body", "insecure"},
	KindTCP:      {"addr"},
	KindExec:     {"command", "arg"},
	KindFile:     {"path", "max-age"},
	KindSignal:   {"signal", "heartbeat"},
	KindDelegate: {"addr"},
	KindGRPC:     {"addr", "service", "tls", "insecure"},
}

// shorthandKey is the key a "KIND=VALUE" first item sets.
var shorthandKey = map[string]string{
	KindExec: "command", KindFile: "path", KindSignal: "signal",
	KindTCP: "addr", KindDelegate: "addr", KindHTTP: "url", KindHTTPS: "url",
}

func isKey(k string) bool {
	for _, c := range commonKeys {
		if c == k {
			return true
		}
	}
	for _, keys := range kindKeys {
		for _, c := range keys {
			if c == k {
				return true
			}
		}
	}
	return false
}

type item struct{ key, val string }

// freeText are the keys (and shorthands) whose values may contain commas.
var freeText = map[string]bool{"url": true, "body": true, "command": true, "arg": true,
	"path": true, "heartbeat": true, KindExec: true, KindFile: true, KindDelegate: true}

// splitItems splits s on commas. A piece that does not start with a known
// "key=" is glued back onto a free-text value before it (a URL, a command, a
// body), so those may contain commas. Commas inside quotes never split: a
// value that starts with a quote ("…" or '…') runs to its closing quote (so a
// quoted URL may hold ",name="), and a command (exec=, command=) follows the
// shell's quoting, or is a JSON array when it starts with '['.
func splitItems(s string) []string {
	var raw []string
	start := 0
	for i := 0; i < len(s); i++ {
		if i == start {
			i = skipValue(s, start)
			if i >= len(s) {
				break
			}
		}
		if s[i] == ',' {
			raw = append(raw, s[start:i])
			start = i + 1
			i = start - 1
			if start == len(s) {
				raw = append(raw, "")
			}
		}
	}
	if start < len(s) {
		raw = append(raw, s[start:])
	}
	var out []string
	glue := false
	for _, p := range raw {
		k, _, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if glue && !(ok && isKey(k)) {
			out[len(out)-1] += "," + p
			continue
		}
		out = append(out, p)
		glue = ok && freeText[k] || strings.Contains(p, "://")
	}
	return out
}

// skipValue returns the index in s after the quoted or bracketed part of the
// item starting at start, or start when it has none.
func skipValue(s string, start int) int {
	v := start
	key := ""
	if k, _, ok := strings.Cut(s[start:], "="); ok && !strings.ContainsAny(k, ",\"'") {
		key = strings.TrimSpace(k)
		v = start + len(k) + 1
	}
	for v < len(s) && s[v] == ' ' {
		v++
	}
	if v >= len(s) {
		return start
	}
	shell := key == KindExec || key == "command"
	switch {
	case shell && s[v] == '[':
		return skipJSONArray(s, v)
	case shell:
		return skipShellWords(s, v)
	case s[v] == '"' || s[v] == '\'':
		if j := strings.IndexByte(s[v+1:], s[v]); j >= 0 {
			return v + 1 + j + 1
		}
	}
	return start
}

// skipJSONArray returns the index after the JSON array that starts at s[v]
// ('['): its closing bracket, strings honoured; len(s) when it has none.
func skipJSONArray(s string, v int) int {
	inStr := false
	for i := v + 1; i < len(s); i++ {
		switch c := s[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && c == ']':
			return i + 1
		}
	}
	return len(s)
}

// skipShellWords returns the index of the first comma from v on that no quote
// or backslash protects; len(s) when there is none.
func skipShellWords(s string, v int) int {
	var q byte
	for i := v; i < len(s); i++ {
		switch c := s[i]; {
		case q == 0 && c == ',':
			return i
		case q == 0 && (c == '\'' || c == '"'):
			q = c
		case q == 0 && c == '\\', q == '"' && c == '\\':
			i++
		case q != 0 && c == q:
			q = 0
		}
	}
	return len(s)
}

// unquoteValue strips the quotes of a value given as "…" or '…', except a
// command's, whose quotes are shell syntax (see splitCommand).
func unquoteValue(key, v string) string {
	if key == "command" {
		return v
	}
	return unquote(v)
}

// unquote strips the quotes of a value given as "…" or '…'.
func unquote(v string) string {
	t := strings.TrimSpace(v)
	if len(t) >= 2 && (t[0] == '"' || t[0] == '\'') && t[len(t)-1] == t[0] {
		return t[1 : len(t)-1]
	}
	return v
}

// splitCommand reads exec='s command: a JSON array of strings (the explicit
// argv form, as Docker's exec form) or shell-style words: single quotes,
// double quotes (with \\, \" and \$ escapes) and backslashes, no expansion.
func splitCommand(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "[") {
		var argv []string
		if err := json.Unmarshal([]byte(v), &argv); err != nil {
			return nil, fmt.Errorf("command: want a JSON array of strings like [\"/bin/probe\",\"-q\"], have %q: %v", v, err)
		}
		return argv, nil
	}
	var w shellWords
	for i := 0; i < len(v); i++ {
		switch w.quote {
		case '\'':
			w.singleQuoted(v[i])
		case '"':
			i = w.doubleQuoted(v, i)
		default:
			i = w.unquoted(v, i)
		}
	}
	if w.quote != 0 {
		return nil, fmt.Errorf("command: unterminated %c quote in %q", w.quote, v)
	}
	w.end()
	return w.argv, nil
}

// shellWords splits a command into shell words, one byte at a time.
type shellWords struct {
	argv   []string
	word   strings.Builder
	inWord bool
	quote  byte // the open quote, 0 outside quotes
}

// singleQuoted takes c inside '…': everything is literal up to the next '.
func (w *shellWords) singleQuoted(c byte) {
	if c == '\'' {
		w.quote = 0
		return
	}
	w.word.WriteByte(c)
}

// doubleQuoted takes v[i] inside "…", where a backslash escapes only \ " $ and
// `; it returns the index of the last byte it used.
func (w *shellWords) doubleQuoted(v string, i int) int {
	switch c := v[i]; {
	case c == '"':
		w.quote = 0
	case c == '\\' && i+1 < len(v) && strings.IndexByte("\\\"$`", v[i+1]) >= 0:
		i++
		w.word.WriteByte(v[i])
	default:
		w.word.WriteByte(c)
	}
	return i
}

// unquoted takes v[i] outside quotes; it returns the index of the last byte
// it used.
func (w *shellWords) unquoted(v string, i int) int {
	switch c := v[i]; c {
	case '\'', '"':
		w.quote, w.inWord = c, true
	case '\\':
		if i+1 < len(v) {
			i++
			w.word.WriteByte(v[i])
		}
		w.inWord = true
	case ' ', '\t', '\n':
		w.end()
	default:
		w.word.WriteByte(c)
		w.inWord = true
	}
	return i
}

// end closes the word being read, if any.
func (w *shellWords) end() {
	if w.inWord {
		w.argv = append(w.argv, w.word.String())
		w.word.Reset()
		w.inWord = false
	}
}

// ParseSpec parses one --check value (see SpecSyntax). Its errors name the
// offending key or value.
func ParseSpec(s string) (Spec, error) {
	sp, err := parseSpec(s)
	if err != nil {
		// The message quotes the spec: never with a URL's password.
		err = errors.New(redactURLs(err.Error()))
	}
	return sp, err
}

// blankSpec is a Spec before any key is applied.
func blankSpec() Spec {
	return Spec{
		Level: LevelBoth, Interval: Unset, Timeout: Unset, StartPeriod: Unset,
		StartInterval: Unset, Retries: Unset, SuccessThreshold: Unset, MaxAge: Unset,
		StatusLow: 200, StatusHigh: 399,
	}
}

func parseSpec(s string) (Spec, error) {
	sp := blankSpec()
	s = strings.TrimSpace(s)
	if s == "" {
		return sp, fmt.Errorf("parse check: empty spec")
	}
	if err := sp.fromItems(s); err != nil {
		return sp, fmt.Errorf("parse check %q: %w", s, err)
	}
	return sp, nil
}

// fromItems applies the items of the one-line spec s.
func (sp *Spec) fromItems(s string) error {
	items, err := specItems(s)
	if err != nil {
		return err
	}
	allowed, err := sp.setKind(items, "kind", "no kind: start with a shorthand (process, http://…, exec=…) or type=KIND")
	if err != nil {
		return err
	}
	given := map[string]bool{}
	for _, it := range items {
		if it.key == "type" {
			continue
		}
		// One value per key (arg= is a list): a second one is a mistake
		// whichever was meant, never silently the last.
		if given[it.key] && it.key != "arg" {
			return fmt.Errorf("%s given twice", it.key)
		}
		given[it.key] = true
		if err := sp.set(it.key, it.val, allowed); err != nil {
			return err
		}
	}
	return sp.validate()
}

// specItems splits s into its items, the first one's shorthand spelt out.
func specItems(s string) ([]item, error) {
	pieces := splitItems(s)
	items, err := firstItems(unquote(strings.TrimSpace(pieces[0]))) // "http://…,name=x",name=web
	if err != nil {
		return nil, err
	}
	for _, p := range pieces[1:] {
		k, v, _ := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		items = append(items, item{k, unquoteValue(k, v)})
	}
	return items, nil
}

// firstItems reads the first item of a spec, which may be a shorthand: a
// URL, a bare kind or KIND=VALUE.
func firstItems(first string) ([]item, error) {
	switch {
	case strings.HasPrefix(first, "http://"), strings.HasPrefix(first, "https://"):
		u, err := url.Parse(first)
		if err != nil {
			return nil, fmt.Errorf("url: %w", err)
		}
		return []item{{"type", u.Scheme}, {"url", first}}, nil
	case strings.HasPrefix(first, "grpc://"):
		u, err := url.Parse(first)
		if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("want grpc://HOST:PORT[/SERVICE], have %q", first)
		}
		items := []item{{"type", KindGRPC}, {"addr", u.Host}}
		if svc := strings.TrimPrefix(u.Path, "/"); svc != "" {
			items = append(items, item{"service", svc})
		}
		return items, nil
	case strings.HasPrefix(first, "tcp://"):
		return []item{{"type", KindTCP}, {"addr", strings.TrimPrefix(first, "tcp://")}}, nil
	case !strings.Contains(first, "="):
		return []item{{"type", first}}, nil
	}
	k, v, _ := strings.Cut(first, "=")
	k = strings.TrimSpace(k)
	if key, ok := shorthandKey[k]; ok {
		return []item{{"type", k}, {key, unquoteValue(key, v)}}, nil
	}
	return []item{{k, unquoteValue(k, v)}}, nil
}

// setKind sets the kind from the one type= item of items, first, since it
// decides which keys are allowed; it returns those. word names the kind in
// errors ("kind" in a one-line spec, "type" in a config file), noKind is the
// error when no item gives it.
func (sp *Spec) setKind(items []item, word, noKind string) ([]string, error) {
	for _, it := range items {
		if it.key != "type" {
			continue
		}
		if sp.Kind != "" {
			return nil, errors.New("type given twice")
		}
		sp.Kind = strings.TrimSpace(it.val)
	}
	if sp.Kind == "" {
		return nil, errors.New(noKind)
	}
	allowed, ok := kindKeys[sp.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown %s %q (want process, http, https, tcp, grpc, exec, file, notify, signal or delegate)", word, sp.Kind)
	}
	return allowed, nil
}

// set applies one key=value item, after checking that the key applies to the
// kind: allowed are the kind's keys (kindKeys).
func (sp *Spec) set(key, raw string, allowed []string) error {
	if !slices.Contains(commonKeys, key) && !slices.Contains(allowed, key) {
		if isKey(key) {
			return fmt.Errorf("key %q does not apply to a %s check", key, sp.Kind)
		}
		return fmt.Errorf("unknown key %q", key)
	}
	if set := setters[key]; set != nil {
		return set(sp, keyValue{key, strings.TrimSpace(raw), raw})
	}
	return nil
}

// keyValue is one item as a setter sees it: val is trimmed, raw as given
// (body= and arg= keep their spaces).
type keyValue struct{ key, val, raw string }

func (kv keyValue) duration(zeroOK bool) (time.Duration, error) {
	return parseDuration(kv.key, kv.val, zeroOK)
}

func (kv keyValue) count() (int, error) { return parseCount(kv.key, kv.val) }

func (kv keyValue) boolean() (bool, error) {
	b, err := strconv.ParseBool(kv.val)
	if err != nil {
		return false, fmt.Errorf("%s: want true or false, have %q", kv.key, kv.val)
	}
	return b, nil
}

// setters apply each key of commonKeys (but type) and kindKeys to a Spec.
var setters = map[string]func(*Spec, keyValue) error{
	"name":              func(sp *Spec, kv keyValue) error { sp.Name = kv.val; return nil },
	"level":             (*Spec).setLevel,
	"interval":          func(sp *Spec, kv keyValue) (err error) { sp.Interval, err = kv.duration(false); return err },
	"timeout":           func(sp *Spec, kv keyValue) (err error) { sp.Timeout, err = kv.duration(false); return err },
	"start-period":      func(sp *Spec, kv keyValue) (err error) { sp.StartPeriod, err = kv.duration(true); return err },
	"start-interval":    func(sp *Spec, kv keyValue) (err error) { sp.StartInterval, err = kv.duration(false); return err },
	"max-age":           func(sp *Spec, kv keyValue) (err error) { sp.MaxAge, err = kv.duration(true); return err },
	"retries":           func(sp *Spec, kv keyValue) (err error) { sp.Retries, err = kv.count(); return err },
	"success-threshold": func(sp *Spec, kv keyValue) (err error) { sp.SuccessThreshold, err = kv.count(); return err },
	"url":               func(sp *Spec, kv keyValue) error { sp.URL = kv.val; return nil },
	"status":            (*Spec).setStatus,
	"body":              func(sp *Spec, kv keyValue) error { sp.Body = kv.raw; return nil },
	"insecure":          func(sp *Spec, kv keyValue) (err error) { sp.Insecure, err = kv.boolean(); return err },
	"addr":              func(sp *Spec, kv keyValue) error { sp.Addr = kv.val; return nil },
	"service":           func(sp *Spec, kv keyValue) error { sp.Service = kv.val; return nil },
	"tls":               func(sp *Spec, kv keyValue) (err error) { sp.TLS, err = kv.boolean(); return err },
	"command":           (*Spec).setCommand,
	"arg":               func(sp *Spec, kv keyValue) error { sp.Argv = append(sp.Argv, kv.raw); return nil },
	"path":              func(sp *Spec, kv keyValue) error { sp.Path = kv.val; return nil },
	"signal":            (*Spec).setSignal,
	"heartbeat":         func(sp *Spec, kv keyValue) error { sp.Heartbeat = kv.val; return nil },
}

func (sp *Spec) setLevel(kv keyValue) error {
	switch l := Level(strings.ToLower(kv.val)); l {
	case LevelLive, LevelReady, LevelBoth:
		sp.Level = l
		return nil
	}
	return fmt.Errorf("level: want live, ready or both, have %q", kv.val)
}

// setStatus reads a status code (200) or an inclusive range (200-299).
func (sp *Spec) setStatus(kv keyValue) error {
	lo, hi, isRange := strings.Cut(kv.val, "-")
	if !isRange {
		hi = lo
	}
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || l < 100 || h > 599 || l > h {
		return fmt.Errorf("status: want a code like 200 or a range like 200-299, have %q", kv.val)
	}
	sp.StatusLow, sp.StatusHigh = l, h
	return nil
}

// setCommand puts the command's words before any arg= already given.
func (sp *Spec) setCommand(kv keyValue) error {
	argv, err := splitCommand(kv.val)
	if err != nil {
		return err
	}
	sp.Argv = append(argv, sp.Argv...)
	return nil
}

func (sp *Spec) setSignal(kv keyValue) error {
	sig, err := sigs.Parse(kv.val)
	if err != nil || sig == 0 {
		return fmt.Errorf("signal: want a signal name or number like USR1, have %q", kv.val)
	}
	if sig == unix.SIGKILL || sig == unix.SIGSTOP {
		return fmt.Errorf("signal: %s cannot be caught: the check could only end or stop the child", sigs.Name(sig))
	}
	sp.Signal = sig
	return nil
}

// validate checks what a spec needs as a whole, once every key is applied.
func (sp *Spec) validate() error {
	if err := sp.validateCommon(); err != nil {
		return err
	}
	switch sp.Kind {
	case KindHTTP, KindHTTPS:
		return sp.validateURL()
	case KindTCP:
		_, port, err := net.SplitHostPort(sp.Addr)
		if err != nil {
			return fmt.Errorf("addr: want HOST:PORT, have %q", sp.Addr)
		}
		return validPort("addr", port)
	case KindGRPC:
		return sp.validateGRPC()
	case KindExec:
		if len(sp.Argv) == 0 || sp.Argv[0] == "" {
			return fmt.Errorf("command: missing (exec=/path/to/probe arg…)")
		}
	case KindFile:
		if sp.Path == "" {
			return fmt.Errorf("path: missing (file=/path/to/heartbeat)")
		}
	case KindSignal:
		if sp.Signal == 0 {
			return fmt.Errorf("signal: missing (signal=USR1)")
		}
		if sp.Heartbeat == "" {
			sp.Heartbeat = "notify"
		}
	}
	return nil
}

// validateCommon checks the keys every kind takes.
func (sp *Spec) validateCommon() error {
	if err := validName(sp.Name); err != nil {
		return err
	}
	if sp.Level == LevelLive && sp.SuccessThreshold > 1 {
		// Kubernetes' API refuses it on a liveness probe too.
		return fmt.Errorf("success-threshold: must be 1 for a check of level live (readiness alone reads it), have %d", sp.SuccessThreshold)
	}
	return nil
}

// validName accepts "" (a name is given later) and letters, digits, '-', '_'
// and '.'.
func validName(name string) error {
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("name: %q may hold only letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}

func (sp *Spec) validateURL() error {
	u, err := url.Parse(sp.URL)
	if sp.URL == "" || err != nil || u.Host == "" {
		return fmt.Errorf("url: want an absolute URL like %s://127.0.0.1:8080/healthz, have %q", sp.Kind, sp.URL)
	}
	if u.Scheme != sp.Kind {
		return fmt.Errorf("url: a %s check needs a %s:// URL, have %q", sp.Kind, sp.Kind, sp.URL)
	}
	if p := u.Port(); p != "" { // an empty port is the scheme's (RFC 3986, net/http, curl)
		return validPort("url", p)
	}
	return nil
}

// validPort accepts a port a check can connect to: 1-65535 (kubelet
// validates its probes' ports so), or a service name such as http. A port
// out of range is a usage error now, not a check that fails at every run.
func validPort(field, port string) error {
	n, err := strconv.Atoi(port)
	switch {
	case err == nil && n >= 1 && n <= 65535:
		return nil
	case port != "" && err != nil && isToken(port) && strings.Trim(port, "0123456789-+") != "":
		return nil // a service name (net.LookupPort)
	}
	return fmt.Errorf("%s: port: want 1-65535, have %q", field, port)
}

func (sp *Spec) validateGRPC() error {
	_, port, err := net.SplitHostPort(sp.Addr)
	if err != nil {
		return fmt.Errorf("addr: want HOST:PORT, have %q", sp.Addr)
	}
	if err := validPort("addr", port); err != nil {
		return err
	}
	if sp.Insecure && !sp.TLS {
		return fmt.Errorf("insecure: skips certificate verification, which needs tls=true")
	}
	return nil
}

// minDuration is the shortest interval or timeout a check takes; Docker's
// HEALTHCHECK refuses durations below 1 ms too.
const minDuration = time.Millisecond

// parseDuration accepts Go durations and plain seconds, like hcinit's flags.
func parseDuration(key, val string, zeroOK bool) (time.Duration, error) {
	d, err := duration.Parse(val)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	if d == 0 && !zeroOK {
		return 0, fmt.Errorf("%s: want a positive duration, have %q", key, val)
	}
	if d > 0 && d < minDuration {
		return 0, fmt.Errorf("%s: %s is below the minimum of %s", key, d, minDuration)
	}
	return d, nil
}

func parseCount(key, val string) (int, error) {
	n, err := strconv.Atoi(val)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s: want a whole number ≥ 1, have %q", key, val)
	}
	return n, nil
}
