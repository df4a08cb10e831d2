package yamlite

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// yaml.v3 is the reference (test-only): where Parse answers, yaml.v3 must
// answer the same tree; where yaml.v3 reads something else, Parse must refuse.

// fromV3 turns yaml.v3's tree into ours (kind, style, null or not, value,
// line), or reports what we do not model (aliases, tags other than the
// implicit ones).
func fromV3(n *yaml.Node) (*Node, error) {
	out := &Node{Line: n.Line, Value: n.Value, Tag: StrTag}
	if n.Style&yaml.FlowStyle != 0 {
		out.Style = FlowStyle
	}
	switch n.Kind {
	case yaml.ScalarNode:
		out.Kind = ScalarNode
		if n.Tag == "!!null" {
			out.Tag = NullTag
		}
	case yaml.SequenceNode:
		out.Kind, out.Value, out.Tag = SequenceNode, "", ""
	case yaml.MappingNode:
		out.Kind, out.Value, out.Tag = MappingNode, "", ""
	default:
		return nil, fmt.Errorf("kind %v", n.Kind)
	}
	for _, c := range n.Content {
		cc, err := fromV3(c)
		if err != nil {
			return nil, err
		}
		out.Content = append(out.Content, cc)
	}
	return out, nil
}

// parseV3 is yaml.v3's reading of b as our tree.
func parseV3(b []byte) (*Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return fromV3(doc.Content[0])
}

// dump is a tree as text, for comparing and for messages.
func dump(n *Node) string {
	if n == nil {
		return "<none>"
	}
	var b strings.Builder
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		fmt.Fprintf(&b, "%s%d kind=%d style=%d", strings.Repeat("  ", depth), n.Line, n.Kind, n.Style)
		if n.Kind == ScalarNode {
			fmt.Fprintf(&b, " %s %q", n.Tag, n.Value)
		}
		b.WriteByte('\n')
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

// agree checks the differential property on src; it reports whether Parse
// accepted it.
func agree(t *testing.T, src []byte) bool {
	t.Helper()
	mine, err := Parse(src)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Line < 1 {
			t.Errorf("Parse(%q): error without a line: %v", src, err)
		}
		return false
	}
	ref, rerr := parseV3(src)
	if rerr != nil {
		t.Errorf("Parse(%q) accepted what yaml.v3 refuses (%v):\n%s", src, rerr, dump(mine))
		return true
	}
	if dump(mine) != dump(ref) {
		t.Errorf("Parse(%q) differs from yaml.v3:\nmine:\n%syaml.v3:\n%s", src, dump(mine), dump(ref))
	}
	return true
}

// Every form the README and the examples document is read, as yaml.v3 reads it.
func TestParseDocumentedForms(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(readme), "```yaml\n# /etc/hcinit/hcinit.yaml\n")
	example, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatal("README's config file example not found")
	}
	cm, err := os.ReadFile(filepath.Join("..", "..", "examples", "kubernetes", "deployment-configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, cmFile, _ := strings.Cut(string(cm), "hcinit.yaml: |\n")
	cmFile, _, _ = strings.Cut(cmFile, "\n---")
	for _, src := range []string{
		example,
		cmFile, // indented by 4: a root at column 4
		`{"interval": "3s", "checks": [{"type": "tcp", "addr": "127.0.0.1:5432"}], "command": ["/app"]}`,
		"{\n  \"interval\": \"3s\",\n  \"retries\": 5,\n  \"checks\": [\n    {\"type\": \"http\", \"url\": \"http://127.0.0.1:1/\",\n     \"httpHeaders\": [{\"name\": \"A\", \"value\": \"b\\u00e9\\n\"}]},\n    \"tcp://127.0.0.1:1\"\n  ],\n  \"single-child\": true,\n  \"pidfile\": null\n}\n",
		"---\n# leading marker\ninterval: 2s\r\nretries: 5\r\n",
		"\uFEFFinterval: 2s\n",
		"checks:\n- process\n- type: tcp\n  addr: :1\nretries: 3\n",
		"command:\n  - /app\n  - \"--port\"\n  - '80''80'\nuser:\nhttp: :8081\nmap-exit: []\nrewrite: [ USR1:TERM , HUP:0, ]\n",
		"a: ~\nb: null\nc: NULL\nd: 'null'\ne: \"\"\nf: x # c\ng: 'x' # c\nh: a#b\ni: x:y\nj: -1\nk: --x\nl: \"\\t\\x41\\u00e9\\U0001F600\\'\\_\\ \"\n",
		"checks:\n  -   type: exec\n      command: [sh,\n        -c, 'exit 0']\n  -\n    type: tcp\n",
		"interval: 5s\n\n\n# comments\n   # indented comment\nretries: 1\n",
		"key:\n  - - a\n    - b\n  - c\n",
		"k: [\n  a,\n  b\n  ]\n",
		"- a\n- b\n",
		"hello\n",
		"# nothing\n",
		"",
		"---\n",
		"a:\n  b:\n    c: d\n  e: f\n",
		"\"quoted key\": 1\n'single': 2\n",
		`{"a":1, "b" : 2, 'c':3}`,
	} {
		if !agree(t, []byte(src)) {
			_, err := Parse([]byte(src))
			t.Errorf("Parse refused a documented form %q: %v", src, err)
		}
	}
}

// What Parse does not read is an error naming the line, never another
// reading.
func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a: &x 1\nb: *x\n", "line 1: anchors and aliases"},
		{"a: !!str 1\n", "line 1: tags"},
		{"body: |\n  text\n", "line 1: block scalars"},
		{"body: >\n  text\n", "line 1: block scalars"},
		{"a: one\n  two\n", "line 2: unexpected indentation"},
		{"- one\n  two\n", "line 2: unexpected indentation"},
		{"a: [one\n  two]\n", "line 2: want ',' or ']'"},
		{"a: \"one\n  two\"\n", "line 1: a quoted value must end on its line"},
		{"a:\tb\n", "line 1: a tab"},
		{"a:\n\t- b\n", "line 2: a tab in the indentation"},
		{"a: 1\n---\nb: 2\n", "line 2: a second document"},
		{"%YAML 1.2\n---\na: 1\n", "line 1: directives"},
		{"? a\n: b\n", "line 1: unexpected"},
		{"a: b: c\n", "line 1: ': ' inside a value"},
		{"a: - b\n", "line 1: a list item after a key"},
		{"a: 'x' y\n", "line 1: unexpected \"y\""},
		{"a: [b\n", "line 1: [ not closed"},
		{"a: {b}\n", "line 1: want key: value"},
		{"a: {b: }\n", "line 1: a key without a value"},
		{"a: \"\\q\"\n", "line 1: unknown escape"},
		{"a: \"\\uD800\"\n", "line 1: bad escape"},
		{"a: 1\n b: 2\n", "line 2: unexpected indentation"},
		{"  a: 1\nb: 2\n", "line 2: unexpected \"b: 2\""},
		{"a: b\rc: d\n", "line 1: character U+000D"},
		{"a: \xff\n", "line 1: not UTF-8"},
		{"a: 1\n...\n", "line 2: a second document (...)"},
	} {
		_, err := Parse([]byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q): error %v, want %q", tc.src, err, tc.want)
		}
		agree(t, []byte(tc.src))
	}
}

// YAML ends an implicit key (one without "?") at most 1024 characters past
// its start (YAML 1.2 §7.4; yaml.v3's scannerc.go yaml_simple_key_is_valid):
// one character more and yaml.v3 refuses the document, so Parse must too, in
// every place a key goes. Characters, not bytes: é counts once.
func TestParseKeyLimit(t *testing.T) {
	for _, form := range []string{"%s:", "%s: v", "%s :", "'%s':", "\"%s\":", "\"%s\" : v", "- %s:", "a:\n  %s: v",
		"a: 1\n%s: 2", "- a: 1\n  %s: 2", "{%s: v}", "{\"%s\":v}", "{a: 1, %s: v}", "{ %s  : v}", "[%s]", "%s"} {
		for _, r := range []string{"p", "é", "\U0001F600"} {
			for n := 1018; n <= 1028; n++ {
				key := strings.Repeat(r, n)
				src := strings.Replace(form, "%s", key, 1)
				_, err := Parse([]byte(src))
				_, rerr := parseV3([]byte(src))
				if (err == nil) != (rerr == nil) {
					t.Errorf("%d × %q in %q: Parse error %v, yaml.v3 error %v", n, r, form, err, rerr)
				}
				if err != nil && rerr != nil && strings.Contains(form, ":") && n > 1020 && !strings.Contains(err.Error(), "1024") {
					t.Errorf("%d × %q in %q: Parse error %v does not name the limit", n, r, form, err)
				}
				agree(t, []byte(src))
			}
		}
	}
}

// yaml.v3 refuses collections nested more than 10000 deep, flow ([ {) and
// block (indented further) counted apart (scannerc.go: max_flow_level,
// max_indents): Parse must too. A list under its key, not indented, is no
// deeper (yaml.v3 pushes no indentation for it).
func TestParseDepthLimit(t *testing.T) {
	flowSeq := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		name string
		src  func(n int) string
	}{
		{"flow lists", flowSeq},
		{"flow mappings", func(n int) string { return strings.Repeat("{a: ", n) + "b" + strings.Repeat("}", n) }},
		{"flow in a block mapping", func(n int) string { return "a: " + flowSeq(n) }},
		{"flow in a block list", func(n int) string { return strings.Repeat("- ", 9999) + flowSeq(n) }},
		{"block lists", func(n int) string { return strings.Repeat("- ", n) + "x" }},
		{"block lists and a mapping", func(n int) string { return strings.Repeat("- ", n-1) + "a: b" }},
		{"block lists under keys", func(n int) string { return "k:\n- " + strings.Repeat("- ", n-1) + "x" }},
		{"block lists, uneven steps", func(n int) string {
			var b strings.Builder
			for i := 0; i < n; i++ {
				b.WriteString(strings.Repeat(" ", i%2) + "- ")
			}
			return b.String()
		}},
	} {
		for _, n := range []int{10000, 10001} {
			src := []byte(tc.src(n))
			_, err := Parse(src)
			_, rerr := parseV3(src)
			if (err == nil) != (rerr == nil) {
				t.Errorf("%s, %d deep: Parse error %v, yaml.v3 error %v", tc.name, n, err, rerr)
			}
			if err != nil && !strings.Contains(err.Error(), "10000") {
				t.Errorf("%s, %d deep: Parse error %v does not name the limit", tc.name, n, err)
			}
			if err == nil && n > 10000 {
				t.Errorf("%s, %d deep: Parse accepted it", tc.name, n)
			}
		}
	}
}

// genConfig writes a random config file from fragments of every documented
// form and of some undocumented ones.
func genConfig(r *rand.Rand) string {
	scalars := []string{"2s", "5", "true", "false", "null", "~", "", "http://u:p@127.0.0.1:8080/x?y=1#f", "USR1:TERM",
		"\"a, b\"", "'it''s'", "\"\\t\\u00e9\\\"\"", "a b", "-1", "--x", ":8081", "x:y", "a#b", "0x1F", "1e3", "é", "'#'",
		"\"\"", "''", "yes", "No", "[a, b]", "{name: A, value: b}", "[]", "{}", "[ \"a\" , 'b' ]", "'a: b'", "a: b", "*x", "&y z",
		"!t v", "|", "'", "\"", "a\tb", "[a,\n  b]", "{\"a\":1}", "[a, [b, c]]", "- a", "? a", ".5", "2001-12-14", "1_000"}
	keys := []string{"interval", "checks", "command", "\"quoted\"", "'single'", "name", "type", "a b", "k#", "-k", "x:y"}
	var gen func(ind, depth int) string
	gen = func(ind, depth int) string {
		var b strings.Builder
		n := 1 + r.Intn(3)
		seq := r.Intn(3) == 0
		for i := 0; i < n; i++ {
			pad := strings.Repeat(" ", ind)
			if r.Intn(8) == 0 {
				b.WriteString(pad + "# comment\n")
			}
			if r.Intn(10) == 0 {
				b.WriteString("\n")
			}
			if seq {
				b.WriteString(pad + "-")
			} else {
				b.WriteString(pad + keys[r.Intn(len(keys))] + ":")
			}
			switch k := r.Intn(6); {
			case k == 0 && depth < 3:
				next := ind + 2
				if !seq && r.Intn(3) == 0 {
					next = ind // a list under its key, not indented
				}
				b.WriteString("\n" + gen(next, depth+1))
			case k == 1 && depth < 3 && seq:
				// a collection in a list item, on the item's line
				b.WriteString(" " + strings.TrimLeft(gen(ind+2, depth+1), " "))
			default:
				v := scalars[r.Intn(len(scalars))]
				if v != "" || r.Intn(2) == 0 {
					b.WriteString(" " + v)
				}
				if r.Intn(6) == 0 {
					b.WriteString(" # trailing")
				}
				b.WriteString("\n")
			}
		}
		return b.String()
	}
	doc := ""
	if r.Intn(10) == 0 {
		doc = "---\n"
	}
	return doc + gen(r.Intn(2)*2, 0)
}

func TestParseAgreesWithYAMLv3(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	n, accepted := 20000, 0
	if testing.Short() {
		n = 2000
	}
	for i := 0; i < n; i++ {
		if agree(t, []byte(genConfig(r))) {
			accepted++
		}
		if t.Failed() {
			return
		}
	}
	if accepted < n/5 {
		t.Errorf("Parse accepted only %d of %d generated files", accepted, n)
	}
	t.Logf("accepted %d of %d", accepted, n)
}

func FuzzParse(f *testing.F) {
	r := rand.New(rand.NewSource(2))
	for i := 0; i < 50; i++ {
		f.Add([]byte(genConfig(r)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		agree(t, b)
	})
}

// encodeV3 is yaml.v3's encoding of n, as --print-config made it.
func encodeV3(n *Node) string {
	var conv func(n *Node) *yaml.Node
	conv = func(n *Node) *yaml.Node {
		y := &yaml.Node{Value: n.Value, Tag: n.Tag}
		if n.Style == FlowStyle {
			y.Style = yaml.FlowStyle
		}
		y.Kind = map[Kind]yaml.Kind{ScalarNode: yaml.ScalarNode, SequenceNode: yaml.SequenceNode, MappingNode: yaml.MappingNode}[n.Kind]
		for _, c := range n.Content {
			y.Content = append(y.Content, conv(c))
		}
		return y
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{conv(n)}}); err != nil {
		return "error: " + err.Error()
	}
	enc.Close()
	return b.String()
}

func str(s string) *Node { return &Node{Kind: ScalarNode, Tag: StrTag, Value: s} }

// doc is --print-config's shape with s in every place a string goes.
func doc(s string) *Node {
	flowSeq := &Node{Kind: SequenceNode, Style: FlowStyle, Content: []*Node{str("a"), str(s), {Kind: ScalarNode, Tag: IntTag, Value: "143"}}}
	header := &Node{Kind: MappingNode, Style: FlowStyle, Content: []*Node{str("name"), str(s), str("value"), str(s)}}
	check := &Node{Kind: MappingNode, Content: []*Node{str("type"), str("http"), str("url"), str(s),
		str("command"), flowSeq, str("httpHeaders"), {Kind: SequenceNode, Content: []*Node{header, header}}}}
	return &Node{Kind: MappingNode, Content: []*Node{
		str("command"), flowSeq,
		str("checks"), {Kind: SequenceNode, Content: []*Node{check, str(s)}},
		str("user"), str(s),
		str("verbose"), {Kind: ScalarNode, Tag: IntTag, Value: "-1"},
		str("subreaper"), {Kind: ScalarNode, Tag: BoolTag, Value: "true"},
		str("rewrite"), {Kind: SequenceNode, Style: FlowStyle},
	}}
}

// encodeAgrees checks that Encode writes what yaml.v3 wrote, and that Parse
// reads it back.
func encodeAgrees(t *testing.T, s string) {
	t.Helper()
	n := doc(s)
	var b bytes.Buffer
	if err := Encode(&b, n); err != nil {
		t.Fatal(err)
	}
	lineBreak := strings.ContainsAny(s, "\n\r\u0085\u2028\u2029")
	// yaml.v3 escapes every character of a double-quoted value that starts
	// with U+FEFF ("\uFEFF\x30"; its is_bom looks at the value's start, not
	// at the character: emitterc.go): Encode escapes the BOM alone, and
	// yaml.v3 must read both the same.
	bom := strings.HasPrefix(s, "\uFEFF")
	if want := encodeV3(n); b.String() != want && !lineBreak && !bom && utf8.ValidString(s) {
		t.Errorf("Encode with %q:\n%s\nyaml.v3:\n%s", s, b.String(), want)
	} else if bom && utf8.ValidString(s) {
		mine, err := parseV3(b.Bytes())
		ref, rerr := parseV3([]byte(want))
		if err != nil || rerr != nil || dump(mine) != dump(ref) {
			t.Errorf("Encode with %q: yaml.v3 reads %v\n%s\nof it, %v\n%s\nof its own:\n%s", s, err, dump(mine), rerr, dump(ref), want)
		}
	}
	if !utf8.ValidString(s) {
		return
	}
	back, err := Parse(b.Bytes())
	if err != nil {
		t.Errorf("Parse(Encode) with %q: %v\n%s", s, err, b.String())
		return
	}
	if got := back.Content[5].Value; got != s {
		t.Errorf("read back %q, wrote %q:\n%s", got, s, b.String())
	}
}

func TestEncodeAgreesWithYAMLv3(t *testing.T) {
	for _, s := range []string{"", "a", "a b", " a", "a ", "***", "'", "it's", "\"", "a, b", "x: y", "x:y", "#c", "a #c", "a#c",
		"-", "- z", "-z", "--port", "?", "?x", ":x", "[", "a]", "{", "8080", "1e3", "1_000", "0x1F", "0o17", "0b101", "-0b1", "0b+0", "0b-1", "0o+7", "0o-7", "-0b-1", "-0o+7", "0b+", "0o-", ".5",
		".inf", "+.INF", "null", "~", "Null", "true", "True", "yes", "no", "on", "2001-12-14", "2001-12-14T21:59:43.10-05:00",
		"---", "...", "--- a", "é", "\u00a0", "\uFEFF", "\uFEFF0", "\uFEFFa é\U0001F600", "a\uFEFF", "\x00", "\x7f", "\t", "a\tb", "\U0001F600", "\\", "a\\b", "<<", "=",
		"SIGHUP:0", "http://u:***@h:1/p?q=1#f", "dbname=app user=probe", "%x", "@x", "`x", "!x", "&x", "*x", "|", ">", "a\nb"} {
		encodeAgrees(t, s)
	}
	r := rand.New(rand.NewSource(3))
	alphabet := []rune("ab -:#,'\"[]{}?!&*|>%@`\\.0123456789eE+_xob\t\x00é\u00a0\U0001F600~nulTF")
	for i := 0; i < 20000 && !t.Failed(); i++ {
		rs := make([]rune, r.Intn(8))
		for j := range rs {
			rs[j] = alphabet[r.Intn(len(alphabet))]
		}
		encodeAgrees(t, string(rs))
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "a b", "x: y", "8080", "'#'", "\t", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { encodeAgrees(t, s) })
}

func TestYAMLFloat(t *testing.T) {
	re := regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
	r := rand.New(rand.NewSource(4))
	for i := 0; i < 200000; i++ {
		b := make([]byte, r.Intn(7))
		for j := range b {
			b[j] = "0123456789.eE+-x"[r.Intn(16)]
		}
		if s := string(b); yamlFloat(s) != re.MatchString(s) {
			t.Fatalf("yamlFloat(%q) = %v, the expression says %v", s, yamlFloat(s), re.MatchString(s))
		}
	}
}
