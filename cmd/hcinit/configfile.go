package main

// --config FILE: the settings of the command line in a YAML file (a JSON
// document is YAML too), for what one-line flags express badly: several checks,
// HTTP headers, argv arrays, bodies with commas. Its keys are the long option
// names; a setting given on the command line beats its environment twin, which
// beats the file.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
	"github.com/wisdom-oss/go-healthcheck/internal/yamlite"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// maxConfigFile bounds what --config reads.
const maxConfigFile = 1 << 20

// listOptions are the repeatable options: one setting each, replaced whole
// by a higher source.
var listOptions = []string{"check", "rewrite", "map-exit"}

// notInFile are options that make no sense in the file.
var notInFile = []string{"help", "version", "config", "print-config", "check"}

// configPath returns --config's value from args (before the command), else
// $HCINIT_CONFIG.
func configPath(args []string, opts []option, getenv func(string) string) string {
	path, given := "", false
	scanOptions(args, opts, func(o option, val string) bool {
		if o.long == "config" {
			path, given = val, true
		}
		return !given
	})
	if given {
		return path
	}
	return getenv("HCINIT_CONFIG")
}

// configError is an error at a line of the file.
func configError(path string, n *yamlite.Node, format string, a ...any) error {
	return fmt.Errorf("config %s: line %d: %s", path, n.Line, fmt.Sprintf(format, a...))
}

// loadConfigFile applies the file at path to c. Unknown keys, wrong types and
// invalid values are errors naming the line.
func loadConfigFile(c *config, path string, opts []option) error {
	root, err := readConfigFile(path)
	if root == nil || err != nil {
		return err // nil, nil: an empty file
	}
	if root.Kind != yamlite.MappingNode {
		return configError(path, root, "want a mapping of settings (interval: 5s, checks: […]), have %s", nodeKind(root))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if seen[k.Value] {
			return configError(path, k, "%q given twice", k.Value)
		}
		seen[k.Value] = true
		if err := applyConfigKey(c, path, opts, k, v); err != nil {
			return err
		}
	}
	return nil
}

// readConfigFile reads and parses the file at path; an empty file has no
// root node. Only a regular file is read (symbolic links to one, as a
// Kubernetes ConfigMap mounts them, included): it is opened without blocking,
// as opening a FIFO nobody writes to would block hcinit before it starts
// anything, deaf to TERM, which it keeps for the child.
func readConfigFile(path string) (*yamlite.Node, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("config %s: not a regular file (%s)", path, fileKind(fi.Mode()))
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(b) > maxConfigFile {
		return nil, fmt.Errorf("config %s: larger than %d bytes", path, maxConfigFile)
	}
	root, err := yamlite.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return root, nil
}

// fileKind names what a file that is not regular is.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}

// applyConfigKey applies the file's setting k: v.
func applyConfigKey(c *config, path string, opts []option, k, v *yamlite.Node) error {
	switch key := k.Value; key {
	case "command":
		argv, err := stringList(v)
		if err != nil || len(argv) == 0 {
			return configError(path, v, "command: want a list of strings ([/app, --port, \"8080\"])")
		}
		c.Command = argv
		return nil
	case "checks":
		specs, err := fileChecks(path, v)
		if err != nil {
			return err
		}
		c.Health.Checks = specs
		return nil
	}
	o, ok := findLong(opts, k.Value)
	if !ok || slices.Contains(notInFile, k.Value) {
		hint := ""
		if k.Value == "check" {
			hint = " (checks: is a list)"
		}
		return configError(path, k, "unknown key %q%s", k.Value, hint)
	}
	if err := applyFileOption(c, o, v); err != nil {
		return configError(path, v, "%s: %v", k.Value, err)
	}
	return nil
}

func nodeKind(n *yamlite.Node) string {
	switch n.Kind {
	case yamlite.SequenceNode:
		return "a list"
	case yamlite.MappingNode:
		return "a mapping"
	case yamlite.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// stringList reads a sequence of scalars.
func stringList(n *yamlite.Node) ([]string, error) {
	if n.Kind != yamlite.SequenceNode {
		return nil, errors.New("not a list")
	}
	var out []string
	for _, e := range n.Content {
		if e.Kind != yamlite.ScalarNode {
			return nil, errors.New("not a list of strings")
		}
		out = append(out, e.Value)
	}
	return out, nil
}

// applyFileOption sets one option from a YAML value, through the option's own
// parser: the file accepts exactly what the flag accepts.
func applyFileOption(c *config, o option, v *yamlite.Node) error {
	switch {
	case slices.Contains(listOptions, o.long):
		return applyFileList(c, o, v)
	case v.Kind != yamlite.ScalarNode:
		return fmt.Errorf("want a value, have %s", nodeKind(v))
	case o.arg == "":
		return applyFileSwitch(c, o, v.Value)
	case v.Tag == "!!null":
		return errors.New("want a value, have nothing")
	}
	return o.set(c, v.Value)
}

// applyFileList sets a repeatable option from a value or a list of them.
func applyFileList(c *config, o option, v *yamlite.Node) error {
	vals := []string{v.Value}
	if v.Kind == yamlite.SequenceNode {
		var err error
		if vals, err = stringList(v); err != nil {
			return err
		}
	} else if v.Kind != yamlite.ScalarNode {
		return fmt.Errorf("want a value or a list, have %s", nodeKind(v))
	}
	for _, val := range vals {
		if err := o.set(c, val); err != nil {
			return err
		}
	}
	return nil
}

// applyFileSwitch sets a switch: true or false (verbose: a level).
func applyFileSwitch(c *config, o option, v string) error {
	if o.long == "verbose" {
		if _, err := strconv.Atoi(v); err == nil {
			return o.set(c, v)
		}
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("want true or false, have %q", v)
	}
	switch {
	case on:
		return o.set(c, "")
	case o.long == "single-child":
		c.SingleChild = false
	case o.long == "kill-group":
		c.SingleChild = true
	}
	return nil
}

// fileChecks reads the checks list: each entry a one-line spec (a string) or
// a mapping of the same keys, where an exec check's command is a list and an
// http check's httpHeaders are kubelet's [{name, value}].
func fileChecks(path string, n *yamlite.Node) ([]health.Spec, error) {
	if n.Kind != yamlite.SequenceNode {
		return nil, configError(path, n, "checks: want a list, have %s", nodeKind(n))
	}
	var specs []health.Spec
	for i, e := range n.Content {
		sp, err := fileCheck(path, i, e)
		if err != nil {
			return nil, err
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

// fileCheck reads checks[i], e.
func fileCheck(path string, i int, e *yamlite.Node) (health.Spec, error) {
	switch e.Kind {
	case yamlite.ScalarNode:
		sp, err := health.ParseSpec(e.Value)
		if err != nil {
			return sp, configError(path, e, "checks[%d]: %v", i, err)
		}
		return sp, nil
	case yamlite.MappingNode:
	default:
		return health.Spec{}, configError(path, e, "checks[%d]: want a mapping (type: http, url: …) or a one-line spec, have %s", i, nodeKind(e))
	}
	var m checkMapping
	seen := map[string]bool{}
	for j := 0; j+1 < len(e.Content); j += 2 {
		k, v := e.Content[j], e.Content[j+1]
		if seen[k.Value] {
			return health.Spec{}, configError(path, k, "checks[%d]: %q given twice", i, k.Value)
		}
		seen[k.Value] = true
		if err := m.add(path, i, k, v); err != nil {
			return health.Spec{}, err
		}
	}
	sp, err := health.NewSpec(m.fields, m.argv, m.headers)
	if err != nil {
		return sp, configError(path, e, "checks[%d]: %v", i, err)
	}
	return sp, nil
}

// checkMapping collects a check given as a mapping.
type checkMapping struct {
	fields  []health.SpecField
	argv    []string
	headers []health.Header
}

// add reads the key k: v of checks[i].
func (m *checkMapping) add(path string, i int, k, v *yamlite.Node) error {
	switch k.Value {
	case "command":
		var err error
		if m.argv, err = stringList(v); err != nil || len(m.argv) == 0 {
			return configError(path, v, "checks[%d]: command: want a list of strings ([/bin/probe, -q])", i)
		}
	case "httpHeaders":
		if v.Kind != yamlite.SequenceNode {
			return configError(path, v, "checks[%d]: httpHeaders: want a list of {name, value}", i)
		}
		m.headers = []health.Header{}
		for _, h := range v.Content {
			hd, err := header(h)
			if err != nil {
				return configError(path, h, "checks[%d]: httpHeaders: %v", i, err)
			}
			m.headers = append(m.headers, hd)
		}
	default:
		if !health.IsSpecKey(k.Value) {
			return configError(path, k, "checks[%d]: unknown key %q", i, k.Value)
		}
		if v.Kind != yamlite.ScalarNode {
			return configError(path, v, "checks[%d]: %s: want a value, have %s", i, k.Value, nodeKind(v))
		}
		if spelledNull(v) {
			return configError(path, v, "checks[%d]: %s: %s is YAML's null, no value: quote it (\"%s\") for the text, or leave the key out", i, k.Value, v.Value, v.Value)
		}
		m.fields = append(m.fields, health.SpecField{Key: k.Value, Value: v.Value})
	}
	return nil
}

// spelledNull: ~ or null written as a value, which YAML reads as no value
// (yaml.v3 kept the text in Node.Value, so "body: null" asked for the body
// "null"). An empty value stays what it was.
func spelledNull(v *yamlite.Node) bool { return v.Tag == yamlite.NullTag && v.Value != "" }

func header(n *yamlite.Node) (health.Header, error) {
	var h health.Header
	if n.Kind != yamlite.MappingNode {
		return h, fmt.Errorf("want {name: …, value: …}, have %s", nodeKind(n))
	}
	got := map[string]bool{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], n.Content[j+1]
		if v.Kind != yamlite.ScalarNode {
			return h, fmt.Errorf("%s: want a value, have %s", k.Value, nodeKind(v))
		}
		if spelledNull(v) {
			return h, fmt.Errorf("line %d: %s: %s is YAML's null, no value: quote it (\"%s\") for the text", v.Line, k.Value, v.Value, v.Value)
		}
		if got[k.Value] { // the last would win silently, as in a check's keys
			return h, fmt.Errorf("line %d: %q given twice", k.Line, k.Value)
		}
		switch k.Value {
		case "name":
			h.Name = v.Value
		case "value":
			h.Value = v.Value
		default:
			return h, fmt.Errorf("line %d: unknown key %q (want name and value)", k.Line, k.Value)
		}
		got[k.Value] = true
	}
	if !got["name"] {
		return h, errors.New("missing name")
	}
	return h, nil
}

// resetLists drops the file's value of each list option that the environment
// or the command line gives: a list is one setting, replaced whole.
func resetLists(c *config, opts []option, given map[string]bool, getenv func(string) string) {
	for _, o := range opts {
		if !slices.Contains(listOptions, o.long) || !given[o.long] && getenv(o.envName()) == "" {
			continue
		}
		switch o.long {
		case "check":
			c.Health.Checks = nil
		case "rewrite":
			c.Rewrite = map[unix.Signal]unix.Signal{}
		case "map-exit":
			c.MapToZero = map[int]bool{}
		}
	}
}

// sensitiveHeader reports whether a header's value is a secret to redact.
func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"auth", "cookie", "token", "secret", "key", "password", "session"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// printConfig writes the effective configuration as a config file would hold
// it, with secrets redacted (a URL's password, sensitive header values).
func printConfig(w io.Writer, c config) error {
	root := &yamlite.Node{Kind: yamlite.MappingNode}
	add := func(key string, v *yamlite.Node) { root.Content = append(root.Content, str(key), v) }
	if len(c.Command) > 0 {
		add("command", strList(c.Command))
	}
	checks := &yamlite.Node{Kind: yamlite.SequenceNode}
	for _, sp := range c.Health.Checks {
		checks.Content = append(checks.Content, specNode(sp))
	}
	for _, s := range c.Health.Specs {
		checks.Content = append(checks.Content, str(health.RedactURLs(s)))
	}
	if len(checks.Content) > 0 {
		add("checks", checks)
	}
	printHealth(c, add)
	printSignals(c, add)
	add("subreaper", boolean(c.Subreaper))
	if c.PdeathSig != 0 {
		add("pdeath-signal", str(sigs.Name(c.PdeathSig)))
	}
	if c.Verbosity >= 0 {
		add("verbose", num(c.Verbosity))
	}
	add("warn-zombies", boolean(c.WarnZombies))
	add("user", str(c.User))
	add("pidfile", str(c.Pidfile))
	add("restart", str(c.Restart))
	add("restart-delay", dur(c.RestartDelay))
	add("restart-max-delay", dur(c.RestartMaxDelay))
	add("log-level", str(c.LogLevel))
	add("log-format", str(c.LogFormat))

	return yamlite.Encode(w, root)
}

func dur(d time.Duration) *yamlite.Node { return str(d.String()) }

func num(n int) *yamlite.Node {
	return &yamlite.Node{Kind: yamlite.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

func boolean(b bool) *yamlite.Node {
	return &yamlite.Node{Kind: yamlite.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

// printHealth adds the checks' settings (but the checks) and the endpoints'.
func printHealth(c config, add func(string, *yamlite.Node)) {
	add("interval", dur(c.Health.Interval))
	add("timeout", dur(c.Health.Timeout))
	add("start-period", dur(c.Health.StartPeriod))
	add("start-interval", dur(c.Health.StartInterval))
	add("retries", num(c.Health.Retries))
	add("success-threshold", num(c.Health.SuccessThreshold))
	add("on-unhealthy", str(c.OnUnhealthy))
	add("watchdog", dur(c.Health.Watchdog))
	add("http", str(c.Health.HTTPAddr))
	add("http-details", boolean(c.Health.HTTPDetails))
	add("socket", str(c.Health.Socket))
}

// printSignals adds the stop sequence's and the signals' settings.
func printSignals(c config, add func(string, *yamlite.Node)) {
	add("stop-signal", str(sigs.Name(c.StopSignal)))
	var triggers []string
	for _, s := range c.StopTriggers {
		triggers = append(triggers, sigs.Name(s))
	}
	add("stop-triggers", str(strings.Join(triggers, ",")))
	add("stop-timeout", dur(c.StopTimeout))
	add("drain-delay", dur(c.DrainDelay))
	add("single-child", boolean(c.SingleChild))
	rewrites := []string{}
	for from, to := range c.Rewrite {
		t := "0" // dropped
		if to != 0 {
			t = sigs.Name(to)
		}
		rewrites = append(rewrites, sigs.Name(from)+":"+t)
	}
	sort.Strings(rewrites)
	add("rewrite", strList(rewrites))
	codes := []int{}
	for code := range c.MapToZero {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	mapExit := &yamlite.Node{Kind: yamlite.SequenceNode, Style: yamlite.FlowStyle}
	for _, code := range codes {
		mapExit.Content = append(mapExit.Content, num(code))
	}
	add("map-exit", mapExit)
}

func str(s string) *yamlite.Node {
	return &yamlite.Node{Kind: yamlite.ScalarNode, Tag: "!!str", Value: s}
}

func strList(l []string) *yamlite.Node {
	n := &yamlite.Node{Kind: yamlite.SequenceNode, Style: yamlite.FlowStyle}
	for _, s := range l {
		n.Content = append(n.Content, str(s))
	}
	return n
}

// specNode is a check as a config file's mapping.
func specNode(sp health.Spec) *yamlite.Node {
	n := &yamlite.Node{Kind: yamlite.MappingNode}
	add := func(k string, v *yamlite.Node) { n.Content = append(n.Content, str(k), v) }
	add("type", str(sp.Kind))
	if sp.Name != "" {
		add("name", str(sp.Name))
	}
	add("level", str(string(sp.Level)))
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"interval", sp.Interval}, {"timeout", sp.Timeout}, {"start-period", sp.StartPeriod}, {"start-interval", sp.StartInterval}} {
		if d.v != health.Unset {
			add(d.key, str(d.v.String()))
		}
	}
	if sp.Retries != health.Unset {
		add("retries", num(sp.Retries))
	}
	if sp.SuccessThreshold != health.Unset {
		add("success-threshold", num(sp.SuccessThreshold))
	}
	kindFields(sp, add)
	return n
}

// kindFields adds the keys of sp's kind.
func kindFields(sp health.Spec, add func(string, *yamlite.Node)) {
	flag := func(key string, on bool) {
		if on {
			add(key, str("true"))
		}
	}
	switch sp.Kind {
	case health.KindHTTP, health.KindHTTPS:
		httpFields(sp, add)
	case health.KindTCP, health.KindDelegate:
		if sp.Addr != "" {
			add("addr", str(sp.Addr))
		}
	case health.KindGRPC:
		add("addr", str(sp.Addr))
		if sp.Service != "" {
			add("service", str(sp.Service))
		}
		flag("tls", sp.TLS)
		flag("insecure", sp.Insecure)
	case health.KindExec:
		add("command", strList(sp.Argv))
	case health.KindFile:
		add("path", str(sp.Path))
		if sp.MaxAge != health.Unset {
			add("max-age", str(sp.MaxAge.String()))
		}
	case health.KindSignal:
		add("signal", str(sigs.Name(sp.Signal)))
		add("heartbeat", str(sp.Heartbeat))
	}
}

// httpFields adds an http check's keys, its URL's password and sensitive
// header values redacted.
func httpFields(sp health.Spec, add func(string, *yamlite.Node)) {
	add("url", str(health.RedactURLs(sp.URL)))
	add("status", str(strconv.Itoa(sp.StatusLow)+"-"+strconv.Itoa(sp.StatusHigh)))
	if sp.Body != "" {
		add("body", str(sp.Body))
	}
	if sp.Insecure {
		add("insecure", str("true"))
	}
	if len(sp.Headers) == 0 {
		return
	}
	hs := &yamlite.Node{Kind: yamlite.SequenceNode}
	for _, h := range sp.Headers {
		v := h.Value
		if sensitiveHeader(h.Name) {
			v = "***"
		}
		hs.Content = append(hs.Content, &yamlite.Node{Kind: yamlite.MappingNode, Style: yamlite.FlowStyle,
			Content: []*yamlite.Node{str("name"), str(h.Name), str("value"), str(v)}})
	}
	add("httpHeaders", hs)
}
