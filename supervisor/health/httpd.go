package health

// The --http endpoint, without net/http (see internal/httpwire for why): one
// request per connection, GET and HEAD only, answers from the current state.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/wisdom-oss/go-healthcheck/internal/httpwire"
)

// maxRequestHeader bounds a request line and its header fields.
const maxRequestHeader = 8 << 10

// lingerTimeout is how long a connection is read from, and the reads
// discarded, after the response: closing a socket with unread input resets
// the connection, and the client may lose the response.
const lingerTimeout = 500 * time.Millisecond

// listenHTTP binds Config.HTTPAddr for /livez, /readyz, /healthz (200 with
// "healthy", or 503 with the reason) and /status (the JSON Status). It
// returns nil when there is no address. A failed bind (a port in use) is an
// error: New refuses to start rather than run on without the endpoint while
// a kubelet httpGet on that port is answered by whoever holds it.
func (m *Monitor) listenHTTP() (net.Listener, error) {
	if m.cfg.HTTPAddr == "" {
		return nil, nil
	}
	// No TCP keep-alive: four setsockopt calls per connection that lives
	// for one request.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", m.cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("--http %s: %w", m.cfg.HTTPAddr, err)
	}
	m.mu.Lock()
	m.httpAddr = ln.Addr().String()
	m.mu.Unlock()
	m.log.WithField("addr", m.httpAddr).Debug("serving HTTP health endpoint")
	return ln, nil
}

// httpServer is the --http actor: it answers from a status function (the
// public one: see Monitor.publicStatus) and a metrics function, and knows
// nothing else of the checks.
type httpServer struct {
	status  func() Status
	metrics func() []byte
	conns   *admit.Pool
	accept  acceptor
}

// httpServer is m's --http actor.
func (m *Monitor) httpServer() httpServer {
	return httpServer{status: m.publicStatus, metrics: m.metrics, conns: m.httpConns, accept: m.acceptor()}
}

// serve accepts connections until the listener is closed, one goroutine
// per connection, each holding a place in s.conns: when it is full the
// connection that has waited longest for its request is closed, so idle or
// slow clients never make a new one wait.
func (s httpServer) serve(ln net.Listener) {
	defer ln.Close()
	s.accept.loop(ln, "accept HTTP health connection", func(c net.Conn) func() {
		pc := s.conns.Admit(c)
		return func() { s.handle(pc) }
	})
}

// handleHTTP answers one request and closes the connection. Reading the
// request and writing the answer share one ioTimeout; on shutdown a pending
// read ends at once and a write gets one more second.
func (s httpServer) handle(conn *admit.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(ioTimeout))
	stop := context.AfterFunc(s.accept.ctx, func() {
		conn.SetReadDeadline(aLongTimeAgo)
		conn.SetWriteDeadline(time.Now().Add(time.Second))
	})
	defer func() { stop() }()

	req, err := httpwire.ReadRequest(conn, maxRequestHeader)
	conn.Busy()
	var resp []byte
	var se *httpwire.StatusError
	switch {
	case err == nil:
		resp = s.respond(req).bytes(req)
	case errors.As(err, &se):
		resp = errorResponse(se)
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
		stop = context.AfterFunc(s.accept.ctx, func() { conn.SetReadDeadline(aLongTimeAgo) })
		io.CopyN(io.Discard, conn, 256<<10)
	}
}

// errorResponse is a refused request's answer, written as net/http's
// server writes it: no Content-Length, the status line's reason phrase
// carries the text.
func errorResponse(e *httpwire.StatusError) []byte {
	return []byte("HTTP/1.1 " + e.Error() + "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" + e.Error())
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
func (s httpServer) respond(req *httpwire.Request) httpReply {
	if req.Method == "OPTIONS" && req.Target == "*" {
		return httpReply{code: 200}
	}
	if r, ok := redirectUnclean(req); ok {
		return r
	}
	word, ok := endpointWord(req.URL.Path)
	switch {
	case !ok:
		return errorReply(404, "404 page not found")
	case req.Method != "GET" && req.Method != "HEAD":
		r := errorReply(405, "Method Not Allowed")
		r.header = append(r.header, "Allow: GET, HEAD")
		return r
	}
	return s.answer(word)
}

// redirectUnclean is http.ServeMux's 307 to the clean path ("/a/../livez"
// to "/livez"), query kept.
func redirectUnclean(req *httpwire.Request) (httpReply, bool) {
	p := req.URL.EscapedPath()
	if req.Method == "CONNECT" || cleanPath(p) == p {
		return httpReply{}, false
	}
	loc := (&url.URL{Path: cleanPath(p), RawQuery: req.URL.RawQuery}).String()
	r := httpReply{code: 307, header: []string{"Location: " + loc}}
	if req.Method == "GET" || req.Method == "HEAD" {
		r.header = append(r.header, "Content-Type: text/html; charset=utf-8")
		r.body = []byte("<a href=\"" + htmlEscaper.Replace(loc) + "\">Temporary Redirect</a>.\n\n")
		r.noLength = req.Method == "HEAD"
	}
	return r, true
}

// endpointWord is the socket word a path answers as, "metrics" for
// /metrics.
func endpointWord(path string) (string, bool) {
	switch path {
	case "/livez":
		return wordLive, true
	case "/readyz":
		return wordReady, true
	case "/healthz":
		return wordPing, true
	case "/status":
		return wordStatus, true
	case "/metrics":
		return "metrics", true
	}
	return "", false
}

// answer is the 200 or 503 to a GET of a known path.
func (s httpServer) answer(word string) httpReply {
	switch word {
	case "metrics":
		return httpReply{code: 200, header: []string{"Content-Type: " + metricsContentType, "Cache-Control: no-store"}, body: s.metrics()}
	case wordStatus:
		b, _ := json.MarshalIndent(s.status(), "", "  ")
		return httpReply{code: 200, header: []string{"Content-Type: application/json", "Cache-Control: no-store"}, body: append(b, '\n')}
	}
	reply := replyFrom(word, s.status())
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

// httpTimeFormat is the Date header's format (RFC 9110 IMF-fixdate).
const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// bytes is the whole response to req, header fields in net/http's order. A
// response to HEAD has the Content-Length of the body it leaves out.
func (r httpReply) bytes(req *httpwire.Request) []byte {
	slices.Sort(r.header) // in place: each reply's header is its own
	b := make([]byte, 0, 256+len(r.body))
	if req.HTTP10 {
		b = append(b, "HTTP/1.0 "...)
	} else {
		b = append(b, "HTTP/1.1 "...)
	}
	b = strconv.AppendInt(b, int64(r.code), 10)
	b = append(b, ' ')
	b = append(b, httpwire.StatusText(r.code)...)
	b = append(b, "\r\n"...)
	for _, h := range r.header {
		b = append(b, h...)
		b = append(b, "\r\n"...)
	}
	if !r.noLength {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(r.body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Date: "...)
	b = time.Now().UTC().AppendFormat(b, httpTimeFormat)
	b = append(b, "\r\nConnection: close\r\n\r\n"...)
	if req.Method != "HEAD" {
		b = append(b, r.body...)
	}
	return b
}
