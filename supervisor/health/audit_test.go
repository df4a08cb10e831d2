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
