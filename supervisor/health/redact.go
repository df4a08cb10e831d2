package health

import "regexp"

// userinfo matches the user information of a URL anywhere in a text (a check's
// URL, an exec check's command line, an error): scheme://user:password@.
var userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@\s:]*):[^/?#\s]*@`)

// redactURLs replaces the password of every URL in s with "***", as net/http
// shows a URL in an error (user:***@): what hcinit reports or logs about a
// check (status on either endpoint, hcinit status, the log) never carries it.
func redactURLs(s string) string {
	return userinfo.ReplaceAllString(s, "${1}${2}:***@")
}
