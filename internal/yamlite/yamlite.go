// Package yamlite reads and writes the part of YAML that hcinit's config file
// uses (README, "A config file"), so that the binary does without a full YAML
// library (gopkg.in/yaml.v3 cost 0.35 MiB of binary and 0.1 ms of package
// initialisation on every start, `hcinit check` included).
//
// It reads block mappings and sequences (indented or not under their key),
// flow sequences and mappings over one line or several (so a JSON document
// too), plain, 'single-quoted' and "double-quoted" scalars with every YAML
// escape, comments, a leading "---", CRLF line ends and a UTF-8 BOM. Anything
// else is an error naming its line, never a different reading: anchors,
// aliases, tags, block scalars (| and >), a value continued on the next line,
// tabs outside quotes, several documents, complex keys. Where it answers, it
// answers as yaml.v3 does (a differential test and fuzz target hold it to
// that).
package yamlite

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is a node's kind.
type Kind int

// The kinds of node.
const (
	ScalarNode Kind = iota + 1
	SequenceNode
	MappingNode
)

// Style is how a collection is written.
type Style int

// FlowStyle writes a collection on one line: [a, b] or {k: v}.
const FlowStyle Style = 1

// Tags: a parsed scalar is NullTag (plain ~, null, Null, NULL, or nothing) or
// StrTag; Encode also knows IntTag and BoolTag, written plain.
const (
	NullTag = "!!null"
	StrTag  = "!!str"
	IntTag  = "!!int"
	BoolTag = "!!bool"
)

// Node is a scalar, a sequence or a mapping (Content holds key, value,
// key, value…), with the line it starts on (1-based).
type Node struct {
	Kind    Kind
	Style   Style
	Tag     string
	Value   string
	Line    int
	Content []*Node
}

// Error is a syntax error, or a YAML feature this package does not read.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse reads one document. An empty document (nothing but comments and blank
// lines) has no root: nil, nil.
func Parse(b []byte) (*Node, error) {
	src, err := normalize(b)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, line: 1, indent: -1}
	if err := p.skipBlank(true); err != nil {
		return nil, err
	}
	started, err := p.docStart()
	if err != nil || p.eof() {
		if started && err == nil { // "---" and nothing: a null root, on the line after (yaml.v3)
			line := p.line
			if src[len(src)-1] != '\n' {
				line++
			}
			return &Node{Kind: ScalarNode, Tag: NullTag, Line: line}, nil
		}
		return nil, err
	}
	root, err := p.blockNode(-1)
	if err != nil {
		return nil, err
	}
	if !p.eof() {
		return nil, p.errf("unexpected %q: a document has one root (a value continued on the next line is not supported)", rest(p.src[p.pos:]))
	}
	return root, nil
}

// normalize checks that b is UTF-8 text YAML allows, drops a leading BOM and
// turns CRLF into LF.
func normalize(b []byte) ([]byte, error) {
	b = []byte(strings.TrimPrefix(string(b), "\uFEFF"))
	out := make([]byte, 0, len(b))
	line := 1
	for i := 0; i < len(b); {
		r, w := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			return nil, &Error{line, "not UTF-8 text"}
		case r == '\r' && i+1 < len(b) && b[i+1] == '\n':
			i++
			continue
		case r == '\n':
			line++
		case !allowedRune(r):
			return nil, &Error{line, fmt.Sprintf("character %U is not supported", r)}
		}
		out = append(out, b[i:i+w]...)
		i += w
	}
	return out, nil
}

// allowedRune: YAML's printable characters, less the line breaks other than
// LF (NEL, LS, PS, a lone CR) and a BOM past the start.
func allowedRune(r rune) bool {
	return r == '\t' || r == '\n' || r >= 0x20 && r <= 0x7E || r >= 0xA0 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD && r != 0xFEFF && r != 0x2028 && r != 0x2029 || r >= 0x10000 && r <= 0x10FFFF
}

type parser struct {
	src       []byte
	pos       int
	line      int // of pos
	lineStart int // offset of the line's start
	indent    int // of the innermost block collection (-1: none)
	depth     int // block collections nested, each indented further
	flowDepth int // [ and { open
}

// maxDepth is how deep yaml.v3 nests collections: 10000 block collections,
// each indented further than the one it is in (a list under its key, not
// indented, does not count), and 10000 [ and { (scannerc.go, max_indents and
// max_flow_level).
const maxDepth = 10000

// enterBlock enters a block collection at column ind; leave restores the
// depth.
func (p *parser) enterBlock(ind int) (leave func(), err error) {
	indent, depth := p.indent, p.depth
	leave = func() { p.indent, p.depth = indent, depth }
	if ind > p.indent {
		p.indent, p.depth = ind, p.depth+1
	}
	if p.depth > maxDepth {
		return leave, p.errf("collections nested more than %d deep (yaml.v3's limit)", maxDepth)
	}
	return leave, nil
}

// enterFlow enters a [ or {.
func (p *parser) enterFlow() (leave func(), err error) {
	p.flowDepth++
	leave = func() { p.flowDepth-- }
	if p.flowDepth > maxDepth {
		return leave, p.errf("[ and { nested more than %d deep (yaml.v3's limit)", maxDepth)
	}
	return leave, nil
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }
func (p *parser) col() int  { return p.pos - p.lineStart }

// at returns the byte i past pos, 0 past the end.
func (p *parser) at(i int) byte {
	if p.pos+i < len(p.src) {
		return p.src[p.pos+i]
	}
	return 0
}

// blankz: a space, a line end, the end, or a tab (refused where it matters).
func blankz(c byte) bool { return c == ' ' || c == '\n' || c == 0 || c == '\t' }

func (p *parser) errf(format string, a ...any) error {
	return &Error{p.line, fmt.Sprintf(format, a...)}
}

// newline steps over the LF at pos.
func (p *parser) newline() {
	p.pos++
	p.line++
	p.lineStart = p.pos
}

// skipBlank moves from the start of a line to the first character of the
// next line with content, past blank and comment lines. A document marker at
// column 0 is an error unless first is set (the start of the file).
func (p *parser) skipBlank(first bool) error {
	for !p.eof() {
		for p.at(0) == ' ' {
			p.pos++
		}
		switch c := p.at(0); {
		case c == '\n':
			p.newline()
			continue
		case c == '#':
			p.toLineEnd()
			continue
		case c == '\t':
			return p.errf("a tab in the indentation: indent with spaces")
		case c == 0:
			return nil
		}
		if p.col() == 0 && !first && p.marker() != "" {
			return p.errf("a second document (%s) is not supported", p.marker())
		}
		return nil
	}
	return nil
}

// marker is "---" or "..." when the line starts with a document marker (at
// column 0: " ---" is the plain scalar "---").
func (p *parser) marker() string {
	s := string(p.src[p.pos:min(p.pos+3, len(p.src))])
	if p.col() == 0 && (s == "---" || s == "...") && blankz(p.at(3)) {
		return s
	}
	return ""
}

// docStart consumes a leading "---".
func (p *parser) docStart() (bool, error) {
	switch {
	case p.eof():
		return false, nil
	case p.at(0) == '%':
		return false, p.errf("directives (%%) are not supported")
	case p.marker() == "...":
		return false, p.errf("a document end (...) is not supported")
	case p.marker() != "---":
		return false, nil
	}
	p.pos += 3
	if err := p.endLine(); err != nil {
		return true, err
	}
	return true, p.skipBlank(false)
}

func (p *parser) toLineEnd() {
	for !p.eof() && p.at(0) != '\n' {
		p.pos++
	}
}

// endLine accepts what may follow a value on its line (spaces, a comment)
// and moves to the next line with content.
func (p *parser) endLine() error {
	for p.at(0) == ' ' {
		p.pos++
	}
	switch c := p.at(0); {
	case c == '#' && (p.col() == 0 || p.src[p.pos-1] == ' '):
		p.toLineEnd()
	case c == '\t':
		return p.errf("a tab after a value: use spaces")
	case c != '\n' && c != 0:
		return p.errf("unexpected %q after the value (quote a value that holds ': ' or ' #')", rest(p.src[p.pos:]))
	}
	if !p.eof() {
		p.newline()
	}
	return p.skipBlank(false)
}

// rest is the rest of the line, shortened.
func rest(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	if len(s) > 20 {
		s = s[:20] + "…"
	}
	return s
}

// blockNode reads the node at pos in block context; parent is the
// indentation of the collection it belongs to (-1 for the root). It returns
// at the first character of the next line with content.
func (p *parser) blockNode(parent int) (*Node, error) {
	switch c := p.at(0); {
	case c == '-' && blankz(p.at(1)):
		return p.blockSeq(p.col())
	case c == '[' || c == '{':
		n, err := p.flowNode()
		if err != nil {
			return nil, err
		}
		return n, p.endLine()
	}
	isKey, err := p.isKey()
	if err != nil {
		return nil, err
	}
	if isKey {
		return p.blockMap(p.col())
	}
	n, err := p.scalar(false)
	if err != nil {
		return nil, err
	}
	return n, p.endLine()
}

// isKey reports whether the line at pos holds "key:" (a simple key), without
// consuming it.
func (p *parser) isKey() (bool, error) {
	save := *p
	defer func() { *p = save }()
	var err error
	switch p.at(0) {
	case '"', '\'':
		_, err = p.quoted()
	default:
		if !plainStart(p.at(0), p.at(1), false) {
			return false, nil
		}
		p.plainKeyText()
	}
	if err != nil {
		return false, err
	}
	for p.at(0) == ' ' {
		p.pos++
	}
	if p.at(0) != ':' || !blankz(p.at(1)) {
		return false, nil
	}
	return true, p.keyLimit(save.pos)
}

// maxKey is how far past a key's start its ':' may be, in characters: YAML
// 1.2 §7.4 limits an implicit key (one without "?") to 1024, and yaml.v3
// (scannerc.go, yaml_simple_key_is_valid) refuses the document past it.
const maxKey = 1024

// keyLimit refuses a key that started at start when its ':' (at pos) is
// further than YAML allows.
func (p *parser) keyLimit(start int) error {
	if n := utf8.RuneCount(p.src[start:p.pos]); n > maxKey {
		return p.errf("a key must reach its ':' within %d characters (YAML's limit on a key; this one takes %d)", maxKey, n)
	}
	return nil
}

// plainKeyText consumes a plain scalar up to ": ", " #" or the line's end and
// returns it, trailing spaces trimmed.
func (p *parser) plainKeyText() string {
	start := p.pos
	for c := p.at(0); c != '\n' && c != 0; c = p.at(0) {
		if c == ':' && blankz(p.at(1)) || c == '#' && p.src[p.pos-1] == ' ' || c == '\t' {
			break
		}
		p.pos++
	}
	return strings.TrimRight(string(p.src[start:p.pos]), " ")
}

// plainStart reports whether c (followed by next) may start a plain scalar.
func plainStart(c, next byte, flow bool) bool {
	switch c {
	case 0, ' ', '\n', '\t', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	case '-':
		return !blankz(next)
	case '?', ':':
		return !flow && !blankz(next)
	}
	return true
}

// blockMap reads a block mapping whose keys are at column ind.
func (p *parser) blockMap(ind int) (*Node, error) {
	leave, err := p.enterBlock(ind)
	defer leave()
	if err != nil {
		return nil, err
	}
	m := &Node{Kind: MappingNode, Line: p.line}
	for {
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		v, err := p.mapValue(ind, k)
		if err != nil {
			return nil, err
		}
		m.Content = append(m.Content, k, v)
		switch {
		case p.eof() || p.col() < ind:
			return m, nil
		case p.col() > ind:
			return nil, p.errf("unexpected indentation (a value continued on the next line is not supported; quote it on one line)")
		}
	}
}

// key reads "key:" at pos.
func (p *parser) key() (*Node, error) {
	var k *Node
	var err error
	start := p.pos
	switch c := p.at(0); {
	case c == '"' || c == '\'':
		k, err = p.quoted()
	case plainStart(c, p.at(1), false):
		k = plain(p.line, p.plainKeyText())
	default:
		return nil, p.errf("want a key (name: value), have %q", rest(p.src[p.pos:]))
	}
	if err != nil {
		return nil, err
	}
	for p.at(0) == ' ' {
		p.pos++
	}
	if p.at(0) != ':' || !blankz(p.at(1)) {
		return nil, p.errf("want a key (name: value), have %q", rest(p.src[p.lineStart:]))
	}
	if err := p.keyLimit(start); err != nil {
		return nil, err
	}
	p.pos++
	return k, nil
}

// mapValue reads the value of key k of a mapping at column ind.
func (p *parser) mapValue(ind int, k *Node) (*Node, error) {
	for p.at(0) == ' ' {
		p.pos++
	}
	switch c := p.at(0); {
	case c == '\t':
		return nil, p.errf("a tab after a key: use spaces")
	case c == '#' || c == '\n' || c == 0:
		return p.valueBelow(ind, true)
	case c == '-' && blankz(p.at(1)):
		return nil, p.errf("a list item after a key on the same line: start the list on the next line")
	case c == '[' || c == '{':
		n, err := p.flowNode()
		if err != nil {
			return nil, err
		}
		return n, p.endLine()
	}
	n, err := p.scalar(false)
	if err != nil {
		return nil, err
	}
	return n, p.endLine()
}

// blockSeq reads a block sequence whose "- " are at column ind.
func (p *parser) blockSeq(ind int) (*Node, error) {
	leave, err := p.enterBlock(ind)
	defer leave()
	if err != nil {
		return nil, err
	}
	s := &Node{Kind: SequenceNode, Line: p.line}
	for {
		p.pos++ // the '-'
		for p.at(0) == ' ' {
			p.pos++
		}
		item, err := p.seqItem(ind)
		if err != nil {
			return nil, err
		}
		s.Content = append(s.Content, item)
		switch {
		case p.eof() || p.col() < ind:
			return s, nil
		case p.col() > ind:
			return nil, p.errf("unexpected indentation (a value continued on the next line is not supported; quote it on one line)")
		case p.at(0) != '-' || !blankz(p.at(1)):
			return s, nil // a list under a key, not indented: the mapping goes on
		}
	}
}

// seqItem reads an item of a sequence at column ind, pos just past "- ".
func (p *parser) seqItem(ind int) (*Node, error) {
	switch c := p.at(0); c {
	case '\t':
		return nil, p.errf("a tab after '-': use spaces")
	case '#', '\n', 0:
		return p.valueBelow(ind, false)
	}
	return p.blockNode(ind)
}

// valueBelow reads a value that starts on the next line with content, for a
// key or "-" at column ind with nothing after it: a node indented more, a
// list at the key's own column (seqOK), or else nothing (null).
func (p *parser) valueBelow(ind int, seqOK bool) (*Node, error) {
	line := p.line
	if err := p.endLine(); err != nil {
		return nil, err
	}
	switch {
	case !p.eof() && p.col() > ind:
		return p.blockNode(ind)
	case seqOK && !p.eof() && p.col() == ind && p.at(0) == '-' && blankz(p.at(1)):
		return p.blockSeq(ind)
	}
	return &Node{Kind: ScalarNode, Tag: NullTag, Line: line}, nil
}

// scalar reads a quoted or plain scalar at pos (flow: inside [ ] or { }).
func (p *parser) scalar(flow bool) (*Node, error) {
	c := p.at(0)
	switch {
	case c == '"' || c == '\'':
		return p.quoted()
	case c == '|' || c == '>':
		return nil, p.errf("block scalars (%c) are not supported: write the value in quotes on one line (\\n for a line break)", c)
	case c == '&' || c == '*':
		return nil, p.errf("anchors and aliases (%c) are not supported", c)
	case c == '!':
		return nil, p.errf("tags (!) are not supported")
	case !plainStart(c, p.at(1), flow):
		return nil, p.errf("unexpected %q", rest(p.src[p.pos:]))
	}
	return p.plainScalar(flow)
}

// plainScalar reads a plain scalar to the end of its line, a comment, or (in
// flow) a flow indicator.
func (p *parser) plainScalar(flow bool) (*Node, error) {
	line, start := p.line, p.pos
	for c := p.at(0); c != '\n' && c != 0; c = p.at(0) {
		if c == '#' && p.src[p.pos-1] == ' ' || flow && strings.IndexByte(",?[]{}", c) >= 0 {
			break
		}
		if c == ':' && blankz(p.at(1)) {
			if flow {
				break
			}
			return nil, p.errf("': ' inside a value: quote the value")
		}
		if c == '\t' {
			return nil, p.errf("a tab in a value: quote the value (\"\\t\")")
		}
		p.pos++
	}
	return plain(line, strings.TrimRight(string(p.src[start:p.pos]), " ")), nil
}

// plain is a plain scalar: null when it reads as null.
func plain(line int, v string) *Node {
	n := &Node{Kind: ScalarNode, Tag: StrTag, Value: v, Line: line}
	switch v {
	case "~", "null", "Null", "NULL":
		n.Tag = NullTag
	}
	return n
}

// quoted reads a 'single-' or "double-quoted" scalar on one line.
func (p *parser) quoted() (*Node, error) {
	q := p.at(0)
	n := &Node{Kind: ScalarNode, Tag: StrTag, Line: p.line}
	p.pos++
	var b strings.Builder
	for {
		c := p.at(0)
		switch {
		case c == '\n' || c == 0:
			return nil, p.errf("a quoted value must end on its line (\\n for a line break)")
		case c == q && q == '\'' && p.at(1) == '\'':
			b.WriteByte('\'')
			p.pos += 2
		case c == q:
			p.pos++
			n.Value = b.String()
			return n, nil
		case c == '\\' && q == '"':
			if err := p.escape(&b); err != nil {
				return nil, err
			}
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
}

// simpleEscape is YAML's one-character escape \c (as yaml.v3 reads them;
// no JSON \/). A switch, not a map: no work at package initialisation.
func simpleEscape(c byte) (string, bool) {
	const from, to = "0abt\tnvfre \"'\\NLP_", "\x00\a\b\t\t\n\v\f\r\x1b \"'\\"
	switch i := strings.IndexByte(from, c); {
	case c == 0 || i < 0:
		return "", false
	case c == 'N':
		return "\u0085", true
	case c == 'L':
		return "\u2028", true
	case c == 'P':
		return "\u2029", true
	case c == '_':
		return "\u00a0", true
	default:
		return to[i : i+1], true
	}
}

// escape reads the escape at pos (a backslash) into b.
func (p *parser) escape(b *strings.Builder) error {
	c := p.at(1)
	if s, ok := simpleEscape(c); ok {
		b.WriteString(s)
		p.pos += 2
		return nil
	}
	width := 0 // \xXX, \uXXXX, \UXXXXXXXX
	if i := strings.IndexByte("x.u.U", c); i >= 0 && c != '.' {
		width = 2 << (i / 2)
	}
	if width == 0 {
		if c == '\n' || c == 0 {
			return p.errf("a quoted value must end on its line (\\n for a line break)")
		}
		return p.errf("unknown escape \\%c in a double-quoted value", c)
	}
	hex := string(p.src[min(p.pos+2, len(p.src)):min(p.pos+2+width, len(p.src))])
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || len(hex) != width || strings.ContainsAny(hex, "+-_") || v >= 0xD800 && v <= 0xDFFF || v > 0x10FFFF {
		return p.errf("bad escape \\%c%s in a double-quoted value", c, hex)
	}
	b.WriteRune(rune(v))
	p.pos += 2 + width
	return nil
}

// flowSkip skips white space, line ends and comments inside [ ] and { }
// (at any indentation, as yaml.v3 reads them).
func (p *parser) flowSkip() error {
	for {
		switch c := p.at(0); {
		case c == ' ':
			p.pos++
		case c == '\n':
			p.newline()
			for p.at(0) == ' ' {
				p.pos++
			}
			if p.col() == 0 && p.marker() != "" {
				return p.errf("a document marker (%s) inside [ ] or { }", p.marker())
			}
		case c == '#' && (p.pos == p.lineStart || p.src[p.pos-1] == ' ' || p.src[p.pos-1] == '\n'):
			p.toLineEnd()
		case c == '#':
			return p.errf("a comment needs a space before '#'")
		case c == '\t':
			return p.errf("a tab inside [ ] or { }: use spaces")
		default:
			return nil
		}
	}
}

// flowNode reads a node inside [ ] or { } (or the collection itself).
func (p *parser) flowNode() (*Node, error) {
	switch p.at(0) {
	case '[':
		return p.flowSeq()
	case '{':
		return p.flowMap()
	}
	return p.scalar(true)
}

func (p *parser) flowSeq() (*Node, error) {
	leave, err := p.enterFlow()
	defer leave()
	if err != nil {
		return nil, err
	}
	s := &Node{Kind: SequenceNode, Style: FlowStyle, Line: p.line}
	p.pos++
	for {
		if err := p.flowSkip(); err != nil {
			return nil, err
		}
		if p.at(0) == ']' {
			p.pos++
			return s, nil
		}
		item, err := p.flowNode()
		if err != nil {
			return nil, err
		}
		s.Content = append(s.Content, item)
		if err := p.flowNext(']', s.Line); err != nil {
			return nil, err
		}
	}
}

// flowNext consumes the ',' after an item, or leaves the closing bracket.
func (p *parser) flowNext(end byte, open int) error {
	if err := p.flowSkip(); err != nil {
		return err
	}
	switch p.at(0) {
	case ',':
		p.pos++
		return nil
	case end:
		return nil
	case 0:
		return &Error{open, fmt.Sprintf("%c not closed", map[byte]byte{']': '[', '}': '{'}[end])}
	}
	return p.errf("want ',' or '%c', have %q (a value continued on the next line is not supported; quote it)", end, rest(p.src[p.pos:]))
}

func (p *parser) flowMap() (*Node, error) {
	leave, err := p.enterFlow()
	defer leave()
	if err != nil {
		return nil, err
	}
	m := &Node{Kind: MappingNode, Style: FlowStyle, Line: p.line}
	p.pos++
	for {
		if err := p.flowSkip(); err != nil {
			return nil, err
		}
		if p.at(0) == '}' {
			p.pos++
			return m, nil
		}
		k, v, err := p.flowPair()
		if err != nil {
			return nil, err
		}
		m.Content = append(m.Content, k, v)
		if err := p.flowNext('}', m.Line); err != nil {
			return nil, err
		}
	}
}

// flowPair reads "key: value" inside { }.
func (p *parser) flowPair() (*Node, *Node, error) {
	if c := p.at(0); c == '[' || c == '{' {
		return nil, nil, p.errf("a key must be a scalar")
	}
	start := p.pos
	k, err := p.scalar(true)
	if err != nil {
		return nil, nil, err
	}
	for p.at(0) == ' ' {
		p.pos++
	}
	if p.at(0) != ':' {
		return nil, nil, p.errf("want key: value inside { }")
	}
	quotedKey := p.src[p.pos-1] == '"' || p.src[p.pos-1] == '\''
	if !blankz(p.at(1)) && !quotedKey {
		return nil, nil, p.errf("want key: value inside { }")
	}
	if err := p.keyLimit(start); err != nil {
		return nil, nil, err
	}
	p.pos++
	if err := p.flowSkip(); err != nil {
		return nil, nil, err
	}
	if c := p.at(0); c == ',' || c == '}' {
		return nil, nil, p.errf("a key without a value inside { }")
	}
	v, err := p.flowNode()
	return k, v, err
}
