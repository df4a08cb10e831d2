package health

import (
	"net/url"
	"strings"
	"testing"
)

// Headers follow kubelet's httpHeaders: Host, User-Agent and Accept replace
// the defaults, an empty Accept drops it, Authorization replaces the URL's
// user info; the rest is added in order.
func TestRequestHeaders(t *testing.T) {
	u, _ := url.Parse("http://user:pw@127.0.0.1:8080/healthz?x=1")
	for _, tc := range []struct {
		name    string
		headers []Header
		want    []string
		not     []string
	}{
		{"defaults", nil, []string{"GET /healthz?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: hcinit\r\nAccept: */*\r\n", "Authorization: Basic "}, nil},
		{"overrides", []Header{{"host", "app.internal"}, {"User-Agent", "kube-probe/1.34"}, {"Accept", "application/json"}, {"X-A", "1, 2"}},
			[]string{"Host: app.internal\r\nUser-Agent: kube-probe/1.34\r\nAccept: application/json\r\nX-A: 1, 2\r\n"}, []string{"127.0.0.1:8080\r\n", "hcinit"}},
		{"empty accept", []Header{{"Accept", ""}}, nil, []string{"Accept:"}},
		{"authorization", []Header{{"Authorization", "Bearer t"}}, []string{"Authorization: Bearer t\r\n"}, []string{"Basic"}},
	} {
		req := string(appendRequest(nil, u, "", tc.headers))
		for _, w := range tc.want {
			if !strings.Contains(req, w) {
				t.Errorf("%s: request lacks %q:\n%s", tc.name, w, req)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(req, n) {
				t.Errorf("%s: request has %q:\n%s", tc.name, n, req)
			}
		}
	}
}

func TestNewSpec(t *testing.T) {
	sp, err := NewSpec([]SpecField{{"type", "http"}, {"url", "http://127.0.0.1:1/"}, {"body", "a, b=c"}}, nil,
		[]Header{{"X-A", "v"}})
	if err != nil || sp.Body != "a, b=c" || len(sp.Headers) != 1 {
		t.Errorf("NewSpec http: %+v, %v", sp, err)
	}
	sp, err = NewSpec([]SpecField{{"type", "exec"}}, []string{"/bin/sh", "-c", "exit 0"}, nil)
	if err != nil || len(sp.Argv) != 3 || sp.Argv[2] != "exit 0" {
		t.Errorf("NewSpec exec: %+v, %v", sp, err)
	}
	for _, tc := range []struct {
		fields  []SpecField
		argv    []string
		headers []Header
		want    string
	}{
		{[]SpecField{{"url", "http://x:1/"}}, nil, nil, "no type"},
		{[]SpecField{{"type", "http"}, {"url", "http://x:1/"}}, nil, []Header{{"Bad Name", "v"}}, "not a valid header name"},
		{[]SpecField{{"type", "http"}, {"url", "http://x:1/"}}, nil, []Header{{"X", "a\r\nInjected: 1"}}, "line break"},
		{[]SpecField{{"type", "exec"}, {"command", "/bin/true"}}, nil, nil, "as a list"},
		{[]SpecField{{"type", "tcp"}, {"addr", "x:1"}}, []string{"/bin/true"}, nil, `"command" does not apply to a tcp check`},
		{[]SpecField{{"type", "http"}, {"url", "http://u:secret@x:1/"}, {"status", "999"}}, nil, nil, "status:"},
	} {
		_, err := NewSpec(tc.fields, tc.argv, tc.headers)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("NewSpec(%v, %v, %v): have %v, want %q", tc.fields, tc.argv, tc.headers, err, tc.want)
		}
	}
}
