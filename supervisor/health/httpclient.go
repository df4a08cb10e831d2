package health

// A minimal HTTP/1.1 client for http and https checks. net/http added about
// 1.4 MiB to hcinit's stripped binary for one GET per interval; this does what
// the check needs and nothing more: one request per connection, no proxies, no
// keep-alive, no compression, and only the first maxBody bytes of a body.
// Responses are parsed as net/http parses them, and errors read the same.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wisdom-oss/go-healthcheck/internal/httpwire"
)

// maxBody caps what an http check reads of a response body (kubelet: 10 KiB).
const maxBody = 10 << 10

// maxRedirects is how many requests one check makes at most, the first one
// included (net/http's default redirect policy).
const maxRedirects = 10

// maxResponseHeader bounds the status lines and headers of one response,
// informational (1xx) responses included.
const maxResponseHeader = 1 << 20

// newHTTPProbe returns a GET probe with the rules of kubelet's
// pkg/probe/http/http.go: success is a status in the spec's range (200-399 by
// default) and, when asked, a body substring within the first 10 KiB (the
// body is read that far; a longer one is cut, not failed). A body that does
// not arrive complete within the timeout (stalled, shorter than its
// Content-Length, a malformed chunk) is a failure, never a success. Redirects
// are followed while the target has the same hostname (any port); one to
// another host ends the probe as a success with a warning; more than 10 is a
// failure. Proxies are never used. Deliberately unlike kubelet: the
// User-Agent is ua (hcinit/VERSION, not kube-probe/…), and the certificates
// of a check written as https:// are verified unless insecure=true (kubelet
// never verifies). An http:// check asked for no TLS: an https hop it is
// redirected to is not verified, as kubelet's.
//
// The URL is parsed and the first request written once, not per run.
func newHTTPProbe(sp Spec, ua string) func(context.Context) outcome {
	headers := sp.Headers
	if ua != "" {
		headers = append([]Header{{Name: "User-Agent", Value: ua}}, headers...)
	}
	u, uerr := url.Parse(sp.URL)
	var req []byte
	var first *dialTarget
	if uerr == nil {
		req = appendRequest(nil, u, "", headers)
		first = newDialTarget(u)
	}
	return func(ctx context.Context) outcome {
		if uerr != nil {
			return fail("build request: %v", uerr)
		}
		code, body, warning, err := httpGet(ctx, u, first, req, sp.Insecure, headers)
		if err != nil {
			return fail("%v", err)
		}
		switch {
		case code < sp.StatusLow || code > sp.StatusHigh:
			return fail("HTTP %d (want %d-%d): %s", code, sp.StatusLow, sp.StatusHigh, head(body, 512))
		case sp.Body != "" && !bytes.Contains(body, []byte(sp.Body)):
			return fail("HTTP %d: body lacks %q: %s", code, sp.Body, head(body, 512))
		case warning != "":
			return pass("HTTP %d: %s", code, warning)
		}
		var b [16]byte // "HTTP 200", without fmt: this is every passing run
		return outcome{output: string(strconv.AppendInt(append(b[:0], "HTTP "...), int64(code), 10))}
	}
}

func head(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.TrimSpace(string(b))
}

// httpGet GETs u, following redirects to u's hostname, and returns the final
// status code and up to maxBody bytes of its body. A redirect to another host
// is not followed: its code returns with a warning (kubelet's
// redirectChecker(followNonLocalRedirects=false) and probe.Warning). Errors
// read like net/http's: `Get "URL": reason`.
//
// req is the request for u and t where it connects (nil: worked out here);
// those after a redirect are made as needed.
func httpGet(ctx context.Context, u *url.URL, t *dialTarget, req []byte, insecure bool, headers []Header) (code int, body []byte, warning string, err error) {
	first := u
	for n := 1; ; n++ {
		if t == nil {
			t = newDialTarget(u)
		}
		// An https hop of a check written as http:// (a "force HTTPS"
		// redirect, usually to a self-signed certificate) is not verified:
		// the user asked for no TLS, and kubelet, which never verifies,
		// passes it (curl -f, which does not follow, passes the 3xx).
		resp, err := roundTrip(ctx, u, t, req, insecure || first.Scheme == "http")
		if err != nil {
			return 0, nil, "", &url.Error{Op: "Get", URL: stripPassword(u), Err: err}
		}
		if !isRedirect(resp.Code) || resp.Location == "" {
			return resp.Code, resp.Body, "", nil
		}
		next, err := u.Parse(resp.Location)
		if err != nil {
			return 0, nil, "", &url.Error{Op: "Get", URL: stripPassword(u),
				Err: fmt.Errorf("failed to parse Location header %q: %v", resp.Location, err)}
		}
		if next.Hostname() != first.Hostname() {
			return resp.Code, resp.Body, fmt.Sprintf("redirect to another host not followed (%s); kubelet counts this a success with a warning", stripPassword(next)), nil
		}
		if n >= maxRedirects {
			// net/http's default CheckRedirect, which kubelet keeps for
			// same-host redirects.
			return 0, nil, "", &url.Error{Op: "Get", URL: stripPassword(next), Err: errors.New("stopped after 10 redirects")}
		}
		hop := headers
		if loc, err := url.Parse(resp.Location); err == nil && loc.IsAbs() {
			// A Host of the check's goes along relative redirects only;
			// an absolute Location names its host (net/http, golang/go#22233,
			// which kubelet's prober inherits).
			hop = withoutHost(headers)
		}
		req = appendRequest(nil, next, refererFor(u, next), hop)
		u, t = next, nil
	}
}

// withoutHost is headers without a Host header.
func withoutHost(headers []Header) []Header {
	var out []Header
	for _, h := range headers {
		if !strings.EqualFold(h.Name, "Host") {
			out = append(out, h)
		}
	}
	return out
}

func isRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// stripPassword is how net/http shows a URL in an error.
func stripPassword(u *url.URL) string {
	if _, ok := u.User.Password(); ok {
		return strings.Replace(u.String(), u.User.String()+"@", u.User.Username()+":***@", 1)
	}
	return u.String()
}

// refererFor returns the Referer net/http sends when redirected from last to
// next: last without user info or fragment, and none from https to http.
func refererFor(last, next *url.URL) string {
	if last.Scheme == "https" && next.Scheme == "http" {
		return ""
	}
	r := *last
	r.User, r.Fragment, r.RawFragment = nil, "", ""
	return r.String()
}

// roundTrip makes one GET request on a new connection. The whole exchange is
// bound to ctx; once ctx is done its error is returned, whatever the
// connection reported. An error while reading the body (within maxBody) is
// the exchange's error, as kubelet's body read error is a probe failure.
func roundTrip(ctx context.Context, u *url.URL, t *dialTarget, req []byte, insecure bool) (httpwire.Response, error) {
	if t.err != nil {
		return httpwire.Response{}, t.err
	}
	conn, err := dialCheck(ctx, t)
	if err != nil {
		return httpwire.Response{}, ctxErr(ctx, err)
	}
	defer conn.Close()
	// Not ctx's deadline on conn: a read could time out a moment before ctx
	// says it is done, and the check's output would be "i/o timeout".
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) })
	defer stop()

	rw := io.ReadWriter(conn)
	if u.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: insecure})
		if err := tc.HandshakeContext(ctx); err != nil {
			return httpwire.Response{}, ctxErr(ctx, err)
		}
		rw = tc
	}

	if _, err := rw.Write(req); err != nil {
		return httpwire.Response{}, ctxErr(ctx, err)
	}
	resp, err := httpwire.ReadResponse(rw, maxResponseHeader, maxBody)
	return resp, ctxErr(ctx, err)
}

// checkDialer connects checks: no TCP keep-alive, which is four setsockopt
// calls per connection for an exchange that lasts milliseconds.
var checkDialer = net.Dialer{KeepAlive: -1}

// aLongTimeAgo is a deadline that makes pending and future I/O fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// ctxErr returns ctx's error once ctx is done (the connection's error is then
// only its consequence), else err.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// appendRequest appends the GET request for u with the check's headers. As
// kubelet does with httpHeaders (pkg/probe/http/request.go, written by
// net/http): the first Host header is the Host (an empty one: the URL's), the
// first User-Agent replaces the default one (an empty one: none), Accept
// headers replace the default one unless the first is empty, which drops them
// all; an Authorization header replaces the URL's user info.
func appendRequest(b []byte, u *url.URL, referer string, headers []Header) []byte {
	host, ua, accept, extra := splitHeaders(headers)
	if host == "" {
		host = removeZone(u.Host)
	}
	auth := slices.ContainsFunc(extra, func(h Header) bool { return strings.EqualFold(h.Name, "Authorization") })
	b = append(b, "GET "...)
	b = append(b, u.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	if ua != "" {
		b = append(b, "User-Agent: "+ua+"\r\n"...)
	}
	for _, a := range accept {
		b = append(b, "Accept: "+a+"\r\n"...)
	}
	for _, h := range extra {
		b = append(b, h.Name+": "+h.Value+"\r\n"...)
	}
	if u.User != nil && !auth {
		pw, _ := u.User.Password()
		b = append(b, "Authorization: Basic "...)
		b = append(b, base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw))...)
		b = append(b, "\r\n"...)
	}
	if referer != "" {
		b = append(b, "Referer: "...)
		b = append(b, referer...)
		b = append(b, "\r\n"...)
	}
	return append(b, "Connection: close\r\n\r\n"...)
}

// splitHeaders sorts a check's headers as appendRequest writes them: the
// first Host ("" for none), the first User-Agent ("hcinit" when none is
// given), the Accept values ("*/*" when none is given, none when the first is
// empty) and the rest, in order.
func splitHeaders(headers []Header) (host, ua string, accept []string, extra []Header) {
	ua, accept = "hcinit", []string{"*/*"}
	var hostSet, uaSet, acceptSet bool
	for _, h := range headers {
		switch {
		case strings.EqualFold(h.Name, "Host"):
			if !hostSet {
				host, hostSet = h.Value, true // an empty one: the URL's, as net/http's req.Host
			}
		case strings.EqualFold(h.Name, "User-Agent"):
			if !uaSet {
				ua, uaSet = h.Value, true
			}
		case strings.EqualFold(h.Name, "Accept"):
			if !acceptSet {
				accept, acceptSet = nil, true
			}
			accept = append(accept, h.Value)
		default:
			extra = append(extra, h)
		}
	}
	if accept[0] == "" {
		accept = nil
	}
	return host, ua, accept, extra
}

// removeZone drops an IPv6 zone from a Host header ("[fe80::1%eth0]:80").
func removeZone(host string) string {
	if !strings.HasPrefix(host, "[") {
		return host
	}
	i := strings.LastIndex(host, "]")
	if i < 0 {
		return host
	}
	j := strings.LastIndex(host[:i], "%")
	if j < 0 {
		return host
	}
	return host[:j] + host[i:]
}

// isToken reports whether s is an RFC 9110 token (a header field name).
func isToken(s string) bool { return httpwire.IsToken(s) }
