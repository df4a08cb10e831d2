package health

import (
	"math/rand"
	"regexp"
	"sync"
	"testing"
)

// userinfo is the expression redactURLs implements (test-only: package regexp
// is not in the binary).
var userinfo = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@\s:]*):[^/?#\s]*@`)
})

// TestRedactURLsMatchesExpression: the scanner writes what the expression's
// ReplaceAllString wrote, on URLs in texts and on random strings of the
// characters that matter.
func TestRedactURLsMatchesExpression(t *testing.T) {
	same := func(s string) {
		t.Helper()
		if have, want := redactURLs(s), userinfo().ReplaceAllString(s, "${1}${2}:***@"); have != want {
			t.Fatalf("redactURLs(%q) = %q, the expression gives %q", s, have, want)
		}
	}
	for _, s := range []string{"", "no url", "http://u:p@h/", "http://u:p@ss@h/x", "x://:@", "curl -u x https://a:b@c:1/d?e=f@g",
		"get http://a:b@h/ and ftp://c:d@e/ then", "http://u@h/", "http://:p@h", "1http://u:p@h", "a+b.c-d://u:p@h", "http://u:p:q@h",
		"HTTP://U:P@H", "http://u:p@", "http://u:p @h", "http://u\t:p@h", "xhttp://u:p@h", "http:/u:p@h", "http://u:p#@h", "é://u:p@h",
		"http://u:p@h@i:j@k", "ws://a:b@c ws://d:e@f", "http://u:pé@h", "\xffhttp://u:p@h\xfe", "a://b:c@d://e:f@g"} {
		same(s)
	}
	r := rand.New(rand.NewSource(1))
	const alphabet = "ab1+.-:/@?# \t\n\v\fé\xff"
	for i := 0; i < 300000; i++ {
		b := make([]byte, r.Intn(16))
		for j := range b {
			b[j] = alphabet[r.Intn(len(alphabet))]
		}
		same(string(b))
	}
}
