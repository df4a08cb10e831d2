package health

import "strings"

// redactURLs replaces the password of every URL in s with "***", as net/http
// shows a URL in an error (user:***@): what hcinit reports or logs about a
// check (status on either endpoint, hcinit status, the log) never carries it.
//
// It finds what the expression
//
//	([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@\s:]*):[^/?#\s]*@
//
// matches, leftmost first, and writes scheme://user:***@ for each. A scanner,
// not package regexp: that was its only use in hcinit and, with the Unicode
// tables it pulls in, 0.27 MB of the binary. TestRedactURLsMatchesExpression
// and FuzzRedactURLs hold the two to the same output.
func redactURLs(s string) string {
	if !strings.Contains(s, "@") { // no user information: most texts, every check
		return s
	}
	var b strings.Builder
	done := 0 // s[:done] is written
	for i := 0; i < len(s); {
		userEnd, end, next := userinfoAt(s, i)
		if end < 0 {
			i = next
			continue
		}
		b.WriteString(s[done:userEnd])
		b.WriteString(":***@")
		done, i = end, end
	}
	if done == 0 {
		return s
	}
	return b.String() + s[done:]
}

// userinfoAt matches scheme://user:password@ at s[i:]: it returns where the
// user ends and where the match ends, or end -1 and the next position where a
// match may start (a later start inside the same scheme characters would
// fail the same way).
func userinfoAt(s string, i int) (userEnd, end, next int) {
	if !isLetter(s[i]) {
		return 0, -1, i + 1
	}
	j := span(s, i+1, func(c byte) bool { return isLetter(c) || c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-' })
	if !strings.HasPrefix(s[j:], "://") {
		return 0, -1, j + 1
	}
	k := span(s, j+3, func(c byte) bool { return !strings.ContainsRune("/?#@:\t\n\f\r ", rune(c)) })
	if k == len(s) || s[k] != ':' {
		return 0, -1, j + 1
	}
	m := span(s, k+1, func(c byte) bool { return !strings.ContainsRune("/?#\t\n\f\r ", rune(c)) })
	at := strings.LastIndexByte(s[k+1:m], '@') // the password's star is greedy
	if at < 0 {
		return 0, -1, j + 1
	}
	return k, k + 1 + at + 1, 0
}

// span is the end of the run of bytes from i that in accepts.
func span(s string, i int, in func(byte) bool) int {
	for i < len(s) && in(s[i]) {
		i++
	}
	return i
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
