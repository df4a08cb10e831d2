package health

// Outside-in audit cases (wave 2, session 5): each compares what an http
// check reports with what kubelet's prober reports on the same server. The
// oracle is kubelet's rule written with net/http, as pkg/probe/http/http.go
// builds it: a transport that never verifies certificates
// (InsecureSkipVerify, pkg/probe/http/http.go New), no keep-alive, no proxy,
// redirects followed while the hostname stays the same
// (RedirectChecker(false)), success 200-399.

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// kubeletHTTPProbe is kubelet's verdict on a GET of url: true when it passes.
func kubeletHTTPProbe(url string) (bool, string) {
	c := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives: true,
			Proxy:             nil,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Hostname() != via[0].URL.Hostname() {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		},
	}
	resp, err := c.Get(url)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	return resp.StatusCode >= 200 && resp.StatusCode < 400, resp.Status
}

// TestHTTPRedirectToHTTPSLikeKubelet: an app that sends plain http to https
// on the same host ("force HTTPS" middleware) with a self-signed certificate.
// The user wrote an http:// URL and asked for no TLS at all; kubelet follows
// the redirect and, never verifying, passes; so does curl -f (the 3xx is no
// error). The old code verified the https hop the user never wrote and
// reported "tls: failed to verify certificate" for ever. A URL the user wrote
// as https:// keeps verification (a deliberate difference, insecure=true
// opts out), on every hop.
func TestHTTPRedirectToHTTPSLikeKubelet(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, "ok")
		case "/again":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, tlsSrv.URL+r.URL.Path, http.StatusMovedPermanently)
	}))
	defer plain.Close()
	m := bare(t, Config{})

	for _, c := range []struct{ path, want string }{
		{"/ok", "HTTP 200"},
		{"/again", "HTTP 200"},
		{"/down", "HTTP 503"},
	} {
		kubelet, why := kubeletHTTPProbe(plain.URL + c.path)
		o := probeOnce(t, m, plain.URL+c.path)
		if (o.code == 0) != kubelet {
			t.Errorf("%s: hcinit code %d %q, kubelet passes=%v (%s)", c.path, o.code, o.output, kubelet, why)
		}
		if !kubelet {
			wantFail(t, o, c.want)
		} else {
			wantPass(t, o, c.want)
		}
	}
	// What the user wrote as https:// is still verified, on every hop.
	wantFail(t, probeOnce(t, m, tlsSrv.URL+"/again"), "certificate")
	wantPass(t, probeOnce(t, m, tlsSrv.URL+"/again,insecure=true"), "HTTP 200")
}

// kubeletRequestHead is the head kubelet writes for a probe of u with the
// httpHeaders hs: pkg/probe/http/request.go newProbeRequest (User-Agent and
// Accept defaults unless given, an empty Accept dropped, req.Host the
// Host header's first value) written by net/http.
func kubeletRequestHead(t *testing.T, u string, hs []Header) string {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	headers := http.Header{}
	for _, h := range hs {
		headers.Add(h.Name, h.Value)
	}
	if _, ok := headers["User-Agent"]; !ok {
		headers.Set("User-Agent", "hcinit")
	}
	if _, ok := headers["Accept"]; !ok {
		headers.Set("Accept", "*/*")
	} else if headers.Get("Accept") == "" {
		headers.Del("Accept")
	}
	req.Header = headers
	req.Host = headers.Get("Host")
	var b strings.Builder
	if err := req.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// headerLines are the lines of head for the header name, in order.
func headerLines(head, name string) []string {
	var out []string
	for _, l := range strings.Split(head, "\r\n") {
		if k, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			out = append(out, l)
		}
	}
	return out
}

// TestHTTPHostHeaderLikeKubelet: the Host, User-Agent and Accept a check
// sends for a config file's httpHeaders are the ones kubelet sends for the
// same httpHeaders. The old code took the last of two Host (or User-Agent)
// entries where net/http, and so kubelet, takes the first, sent "Host: "
// with nothing for an empty Host value where kubelet falls back to the URL's
// host, and kept one of two Accept values where kubelet sends both.
func TestHTTPHostHeaderLikeKubelet(t *testing.T) {
	const raw = "http://127.0.0.1:8080/healthz"
	u, _ := url.Parse(raw)
	for _, hs := range [][]Header{
		nil,
		{{"Host", "app.internal"}},
		{{"Host", "a.internal"}, {"Host", "b.internal"}},
		{{"Host", ""}},
		{{"Host", ""}, {"Host", "b.internal"}},
		{{"User-Agent", "one"}, {"User-Agent", "two"}},
		{{"User-Agent", ""}},
		{{"Accept", "text/plain"}, {"Accept", "application/json"}},
		{{"Accept", ""}},
		{{"Accept", ""}, {"Accept", "text/plain"}},
		{{"X-A", "1"}, {"X-A", "2"}},
	} {
		want := kubeletRequestHead(t, raw, hs)
		have := string(appendRequest(nil, u, "", hs))
		for _, name := range []string{"Host", "User-Agent", "Accept", "X-A"} {
			w, h := headerLines(want, name), headerLines(have, name)
			if strings.Join(w, "\n") != strings.Join(h, "\n") {
				t.Errorf("httpHeaders %v: %s lines %q, kubelet's %q", hs, name, h, w)
			}
		}
	}
}
