package health

import (
	"regexp"
	"strings"
	"sync"
)

// userinfo matches the user information of a URL anywhere in a text (a check's
// URL, an exec check's command line, an error): scheme://user:password@.
// Compiled on first use: not at every start of hcinit (and hcinit check).
var userinfo = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@\s:]*):[^/?#\s]*@`)
})

// redactURLs replaces the password of every URL in s with "***", as net/http
// shows a URL in an error (user:***@): what hcinit reports or logs about a
// check (status on either endpoint, hcinit status, the log) never carries it.
func redactURLs(s string) string {
	if !strings.Contains(s, "@") { // no user information: most texts, every check
		return s
	}
	return userinfo().ReplaceAllString(s, "${1}${2}:***@")
}
