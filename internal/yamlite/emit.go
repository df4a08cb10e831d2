package yamlite

import (
	"encoding/base64"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Encode writes the document root (a mapping) as yaml.v3's encoder with an
// indentation of 2 writes it: block collections unless FlowStyle, scalars
// plain unless that would read back differently, then 'single-quoted', then
// "double-quoted". Two differences: a value with a line break is written
// double-quoted ("a\nb"), not as a block scalar (|), which Parse does not
// read; in a double-quoted value that starts with U+FEFF, yaml.v3 escapes
// every character ("\uFEFF\x61\x62"; its is_bom looks at the value's start),
// Encode only what it escapes elsewhere ("\uFEFFab"), which reads the same.
func Encode(w io.Writer, root *Node) error {
	var b strings.Builder
	writeBlock(&b, root, 0)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeBlock writes n, which starts where the cursor is, in block context;
// ind is the indentation of its lines.
func writeBlock(b *strings.Builder, n *Node, ind int) {
	switch {
	case n.Kind == ScalarNode:
		b.WriteString(scalar(n, false) + "\n")
	case n.Style == FlowStyle || len(n.Content) == 0:
		b.WriteString(flow(n) + "\n")
	case n.Kind == SequenceNode:
		for i, e := range n.Content {
			if i > 0 {
				b.WriteString(strings.Repeat(" ", ind))
			}
			b.WriteString("- ")
			writeBlock(b, e, ind+2)
		}
	default:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteString(strings.Repeat(" ", ind))
			}
			b.WriteString(scalar(n.Content[i], false) + ":")
			writeValue(b, n.Content[i+1], ind)
		}
	}
}

// writeValue writes a mapping's value; ind is the mapping's indentation.
func writeValue(b *strings.Builder, v *Node, ind int) {
	if v.Kind == ScalarNode || v.Style == FlowStyle || len(v.Content) == 0 {
		b.WriteString(" ")
		writeBlock(b, v, ind)
		return
	}
	b.WriteString("\n" + strings.Repeat(" ", ind+2))
	writeBlock(b, v, ind+2)
}

// flow writes n on one line.
func flow(n *Node) string {
	if n.Kind == ScalarNode {
		return scalar(n, true)
	}
	var parts []string
	for i := 0; i < len(n.Content); i++ {
		if n.Kind == SequenceNode {
			parts = append(parts, flow(n.Content[i]))
			continue
		}
		parts = append(parts, scalar(n.Content[i], true)+": "+flow(n.Content[i+1]))
		i++
	}
	if n.Kind == SequenceNode {
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// scalar writes a scalar in the style yaml.v3 picks (emitterc.go,
// yaml_emitter_select_scalar_style and yaml_emitter_analyze_scalar).
func scalar(n *Node, inFlow bool) string {
	v := n.Value
	switch {
	case !utf8.ValidString(v):
		return "!!binary " + base64.StdEncoding.EncodeToString([]byte(v))
	case strings.ContainsAny(v, "\n\r\u0085\u2028\u2029"):
		return doubleQuoted(v)
	case n.Tag == StrTag && resolvesOther(v):
		return doubleQuoted(v)
	}
	plainOK, singleOK := analyze(v, inFlow)
	switch {
	case plainOK:
		return v
	case singleOK:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return doubleQuoted(v)
}

// analyze says whether v may be written plain (in flow or block context) or
// single-quoted.
func analyze(v string, inFlow bool) (plainOK, singleOK bool) {
	if v == "" {
		return !inFlow, true
	}
	flowInd := strings.HasPrefix(v, "---") || strings.HasPrefix(v, "...")
	blockInd, special := flowInd, false
	prevBlank := true
	for i, r := range v {
		f, bl := indicator(r, i == 0, prevBlank, followedByBlank(v, i+utf8.RuneLen(r)))
		flowInd, blockInd = flowInd || f, blockInd || bl
		special = special || r == '\t' || !printable(r)
		prevBlank = r == ' ' || r == '\t'
	}
	edgeSpace := v[0] == ' ' || v[len(v)-1] == ' '
	plainOK = !edgeSpace && !special && !(inFlow && flowInd) && !(!inFlow && blockInd)
	return plainOK, !special
}

// followedByBlank: v ends at i, or a space or tab is there.
func followedByBlank(v string, i int) bool {
	return i >= len(v) || v[i] == ' ' || v[i] == '\t'
}

// indicator says whether r makes a plain scalar impossible in flow and in
// block context.
func indicator(r rune, first, prevBlank, followedByBlank bool) (flowInd, blockInd bool) {
	if first {
		switch r {
		case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
			return true, true
		case '?', ':':
			return true, followedByBlank
		case '-':
			return followedByBlank, followedByBlank
		}
		return false, false
	}
	switch r {
	case ',', '?', '[', ']', '{', '}':
		return true, false
	case ':':
		return true, followedByBlank
	case '#':
		return prevBlank, prevBlank
	}
	return false, false
}

// printable is YAML's printable set as yaml.v3's emitter checks it (is_printable).
func printable(r rune) bool {
	return r == '\n' || r >= 0x20 && r <= 0x7E || r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD && r != 0xFEFF
}

// doubleEscape is the short escape yaml.v3 writes for r, if any.
func doubleEscape(r rune) (string, bool) {
	const from, to = "\x00\a\b\t\n\v\f\r\x1b\"\\", "0abtnvfre\"\\"
	switch i := strings.IndexRune(from, r); {
	case i >= 0:
		return `\` + to[i:i+1], true
	case r == 0x85:
		return `\N`, true
	case r == 0x2028:
		return `\L`, true
	case r == 0x2029:
		return `\P`, true
	}
	return "", false
}

func doubleQuoted(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		e, ok := doubleEscape(r)
		switch {
		case ok:
			b.WriteString(e)
		case printable(r) && r != 0xFEFF:
			b.WriteRune(r)
		case r <= 0xFF:
			b.WriteString(`\x` + hex(r, 2))
		case r <= 0xFFFF:
			b.WriteString(`\u` + hex(r, 4))
		default:
			b.WriteString(`\U` + hex(r, 8))
		}
	}
	b.WriteByte('"')
	return b.String()
}

func hex(r rune, width int) string {
	s := strings.ToUpper(strconv.FormatUint(uint64(r), 16))
	return strings.Repeat("0", width-len(s)) + s
}

// resolvesOther reports whether v, written plain, would read as something
// other than a string (yaml.v3's resolve.go: null, bool, int, float,
// timestamp), so a string must be quoted.
func resolvesOther(v string) bool {
	switch v {
	case "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
		".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return true
	}
	switch c := v[0]; {
	case c == '.':
		_, err := strconv.ParseFloat(v, 64)
		return err == nil
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		return timestamp(v) || number(strings.ReplaceAll(v, "_", ""))
	}
	return false
}

// number: an int (any Go base prefix, 0b, 0o) or a YAML-style float.
func number(s string) bool {
	if _, err := strconv.ParseInt(s, 0, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseUint(s, 0, 64); err == nil {
		return true
	}
	if yamlFloat(s) {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return true
		}
	}
	for _, b := range []struct {
		pre  string
		base int
	}{{"0b", 2}, {"0o", 8}} {
		if d, ok := strings.CutPrefix(s, b.pre); ok {
			// ParseInt first, as resolve.go: it takes a sign ("0b+1", "0o-7" are ints).
			if _, err := strconv.ParseInt(d, b.base, 64); err == nil {
				return true
			}
			if _, err := strconv.ParseUint(d, b.base, 64); err == nil {
				return true
			}
		}
		if d, ok := strings.CutPrefix(s, "-"+b.pre); ok {
			if _, err := strconv.ParseInt("-"+d, b.base, 64); err == nil {
				return true
			}
		}
	}
	return false
}

// yamlFloat matches ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$.
func yamlFloat(s string) bool {
	s = dropSign(s)
	mant, exp, hasExp := s, "", false
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp, hasExp = s[:i], dropSign(s[i+1:]), true
	}
	whole, frac, hasDot := strings.Cut(mant, ".")
	switch {
	case !digits(whole) || !digits(frac):
		return false
	case whole == "" && (!hasDot || frac == ""):
		return false
	}
	return !hasExp || exp != "" && digits(exp)
}

func dropSign(s string) string {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		return s[1:]
	}
	return s
}

// digits: only 0-9 (or nothing).
func digits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

// timestamp: yaml.v3 reads these formats as a timestamp.
func timestamp(s string) bool {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, f := range []string{"2006-1-2T15:4:5.999999999Z07:00", "2006-1-2t15:4:5.999999999Z07:00", "2006-1-2 15:4:5.999999999", "2006-1-2"} {
		if _, err := time.Parse(f, s); err == nil {
			return true
		}
	}
	return false
}
