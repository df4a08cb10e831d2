package health

// The --http endpoint, without net/http (see httpclient.go for why): one
// request per connection, GET and HEAD only, answers from the current state.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/admit"
)

// maxRequestHeader bounds a request line and its header fields.
const maxRequestHeader = 8 << 10

// lingerTimeout is how long a connection is read from, and the reads
// discarded, after the response: closing a socket with unread input resets
// the connection, and the client may lose the response.
const lingerTimeout = 500 * time.Millisecond

// listenHTTP binds Config.HTTPAddr for /livez, /readyz, /healthz (200 with
// "healthy", or 503 with the reason) and /status (the JSON Status). It returns
// nil when there is no address; a failed bind is logged, not fatal.
func (m *Monitor) listenHTTP() net.Listener {
	if m.cfg.HTTPAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", m.cfg.HTTPAddr)
	if err != nil {
		m.log.WithError(err).WithField("addr", m.cfg.HTTPAddr).Error("cannot serve HTTP health endpoint")
		return nil
	}
	m.mu.Lock()
	m.httpAddr = ln.Addr().String()
	m.mu.Unlock()
	m.log.WithField("addr", m.httpAddr).Debug("serving HTTP health endpoint")
	return ln
}

// serveHTTP accepts connections until the listener is closed, one goroutine
// per connection, each holding a place in m.httpConns: when it is full the
// connection that has waited longest for its request is closed, so idle or
// slow clients never make a new one wait.
func (m *Monitor) serveHTTP(ln net.Listener) {
	defer ln.Close()
	m.acceptLoop(ln, "accept HTTP health connection", func(c net.Conn) func() {
		pc := m.httpConns.Admit(c)
		return func() { m.handleHTTP(pc) }
	})
}

// handleHTTP answers one request and closes the connection. Reading the
// request and writing the answer share one ioTimeout; on shutdown a pending
// read ends at once and a write gets one more second.
func (m *Monitor) handleHTTP(conn *admit.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(ioTimeout))
	stop := context.AfterFunc(m.ctx, func() {
		conn.SetReadDeadline(aLongTimeAgo)
		conn.SetWriteDeadline(time.Now().Add(time.Second))
	})
	defer func() { stop() }()

	lr := &io.LimitedReader{R: conn, N: maxRequestHeader}
	req, err := readHTTPRequest(bufio.NewReader(lr))
	conn.Busy()
	var resp []byte
	var se *statusError
	switch {
	case err == nil:
		resp = m.respond(req).bytes(req)
	case errors.As(err, &se):
		resp = se.response()
	case lr.N == 0:
		resp = (&statusError{code: 431}).response()
	default:
		return // closed, reset or timed out before a whole request arrived
	}
	if _, err := conn.Write(resp); err != nil {
		return
	}

	// Linger: half-close, then discard what the client still sends until it
	// closes too, briefly; the first to go when room is needed.
	conn.Done()
	if conn.CloseWrite() == nil {
		stop()
		conn.SetReadDeadline(time.Now().Add(lingerTimeout))
		stop = context.AfterFunc(m.ctx, func() { conn.SetReadDeadline(aLongTimeAgo) })
		io.CopyN(io.Discard, conn, 256<<10)
	}
}

// httpRequest is what the endpoint needs of a request.
type httpRequest struct {
	method string
	target string // request-target as sent
	url    *url.URL
	http10 bool // HTTP/1.0: answered as HTTP/1.0
}

// statusError is a request the server refuses before routing it, answered
// as net/http's server does: "400 Bad Request", "400 Bad Request: missing
// required Host header", "505 HTTP Version Not Supported: unsupported protocol
// version".
type statusError struct {
	code int
	text string
}

func (e *statusError) Error() string {
	s := strconv.Itoa(e.code) + " " + statusText(e.code)
	if e.text != "" {
		s += ": " + e.text
	}
	return s
}

// response is written as net/http's server writes it: no Content-Length, the
// status line's reason phrase carries the text.
func (e *statusError) response() []byte {
	return []byte("HTTP/1.1 " + e.Error() + "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" + e.Error())
}

func badRequest(text string) error { return &statusError{code: 400, text: text} }

// readHTTPRequest reads a request line and the header fields up to the empty
// line. A body is never read.
func readHTTPRequest(br *bufio.Reader) (*httpRequest, error) {
	budget := maxRequestHeader + 1 // the LimitedReader enforces the cap
	line, err := readLine(br, &budget)
	if err != nil {
		return nil, err
	}
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !isToken(method) {
		return nil, badRequest("")
	}
	major, minor, ok := parseHTTPVersion(proto)
	if !ok {
		return nil, badRequest("")
	}
	if major != 1 {
		return nil, &statusError{code: 505, text: "unsupported protocol version"}
	}
	req := &httpRequest{method: method, target: target, http10: minor == 0}
	if method == "OPTIONS" && target == "*" {
		req.url = &url.URL{Path: "*"}
	} else if req.url, err = url.ParseRequestURI(target); err != nil {
		return nil, badRequest("")
	}
	hosts := 0
	for first := true; ; first = false {
		name, _, err := readHeaderField(br, &budget, first)
		if _, ok := err.(protocolError); ok {
			return nil, badRequest("")
		}
		if err != nil {
			return nil, err
		}
		if name == "" {
			break
		}
		if strings.EqualFold(name, "Host") {
			hosts++
		}
	}
	switch {
	case hosts > 1:
		return nil, badRequest("") // net/http does not say why
	case hosts == 0 && minor >= 1 && method != "CONNECT":
		return nil, badRequest("missing required Host header")
	}
	return req, nil
}

// isToken reports whether s is an RFC 9110 token (a method or field name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// httpReply is the endpoint's answer to one request.
type httpReply struct {
	code     int
	header   []string // "Name: value", without Content-Length and Date
	body     []byte
	noLength bool // no Content-Length: a HEAD request to a redirect
}

// respond routes a request as the http.ServeMux used before did:
// unclean paths are redirected, unknown paths are 404, and a known path
// with a method other than GET or HEAD is 405.
func (m *Monitor) respond(req *httpRequest) httpReply {
	if req.method == "OPTIONS" && req.target == "*" {
		return httpReply{code: 200}
	}
	get := req.method == "GET" || req.method == "HEAD"
	if p := req.url.EscapedPath(); req.method != "CONNECT" && cleanPath(p) != p {
		loc := (&url.URL{Path: cleanPath(p), RawQuery: req.url.RawQuery}).String()
		r := httpReply{code: 307, header: []string{"Location: " + loc}}
		if get {
			r.header = append(r.header, "Content-Type: text/html; charset=utf-8")
			r.body = []byte("<a href=\"" + htmlEscaper.Replace(loc) + "\">Temporary Redirect</a>.\n\n")
			r.noLength = req.method == "HEAD"
		}
		return r
	}
	var word string
	switch req.url.Path {
	case "/livez":
		word = wordLive
	case "/readyz":
		word = wordReady
	case "/healthz":
		word = wordPing
	case "/status":
		word = wordStatus
	case "/metrics":
		word = "metrics"
	default:
		return errorReply(404, "404 page not found")
	}
	if !get {
		r := errorReply(405, "Method Not Allowed")
		r.header = append(r.header, "Allow: GET, HEAD")
		return r
	}
	if word == "metrics" {
		return httpReply{code: 200, header: []string{"Content-Type: " + metricsContentType, "Cache-Control: no-store"}, body: m.metrics()}
	}
	if word == wordStatus {
		b, _ := json.MarshalIndent(m.publicStatus(), "", "  ")
		return httpReply{code: 200, header: []string{"Content-Type: application/json", "Cache-Control: no-store"}, body: append(b, '\n')}
	}
	reply := replyFrom(word, m.publicStatus())
	code := 200
	if reply != common.HealthcheckIPCResponse {
		code = 503
	}
	return httpReply{code: code, header: []string{"Content-Type: text/plain; charset=utf-8", "Cache-Control: no-store"}, body: []byte(reply + "\n")}
}

// errorReply is what http.Error writes.
func errorReply(code int, text string) httpReply {
	return httpReply{code: code, header: []string{"Content-Type: text/plain; charset=utf-8", "X-Content-Type-Options: nosniff"},
		body: []byte(text + "\n")}
}

// cleanPath is net/http's: the canonical path, trailing slash kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

// statusText covers the codes the endpoint sends.
func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 307:
		return "Temporary Redirect"
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 431:
		return "Request Header Fields Too Large"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	return ""
}

// httpTimeFormat is the Date header's format (RFC 9110 IMF-fixdate).
const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// bytes is the whole response to req, header fields in net/http's order. A
// response to HEAD has the Content-Length of the body it leaves out.
func (r httpReply) bytes(req *httpRequest) []byte {
	header := slices.Sorted(slices.Values(r.header))
	if !r.noLength {
		header = append(header, "Content-Length: "+strconv.Itoa(len(r.body)))
	}
	header = append(header, "Date: "+time.Now().UTC().Format(httpTimeFormat), "Connection: close")
	b := make([]byte, 0, 256+len(r.body))
	if req.http10 {
		b = append(b, "HTTP/1.0 "...)
	} else {
		b = append(b, "HTTP/1.1 "...)
	}
	b = strconv.AppendInt(b, int64(r.code), 10)
	b = append(b, ' ')
	b = append(b, statusText(r.code)...)
	b = append(b, "\r\n"...)
	for _, h := range header {
		b = append(b, h...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	if req.method != "HEAD" {
		b = append(b, r.body...)
	}
	return b
}
