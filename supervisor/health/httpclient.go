package health

// A minimal HTTP/1.1 client for http and https checks. net/http added about
// 1.4 MiB to hcinit's stripped binary for one GET per interval; this does what
// the check needs and nothing more: one request per connection, no proxies, no
// keep-alive, no compression, and only the first maxBody bytes of a body.
// Responses are parsed as net/http parses them, and errors read the same.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
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
// User-Agent is ua (hcinit/VERSION, not kube-probe/…), and https
// certificates are verified unless insecure=true (kubelet never verifies).
func newHTTPProbe(sp Spec, ua string) func(context.Context) outcome {
	headers := sp.Headers
	if ua != "" {
		headers = append([]Header{{Name: "User-Agent", Value: ua}}, headers...)
	}
	return func(ctx context.Context) outcome {
		u, err := url.Parse(sp.URL)
		if err != nil {
			return fail("build request: %v", err)
		}
		code, body, warning, err := httpGet(ctx, u, sp.Insecure, headers)
		if err != nil {
			return fail("%v", err)
		}
		if warning != "" {
			return pass("HTTP %d: %s", code, warning)
		}
		switch {
		case code < sp.StatusLow || code > sp.StatusHigh:
			return fail("HTTP %d (want %d-%d): %s", code, sp.StatusLow, sp.StatusHigh, head(body, 512))
		case sp.Body != "" && !bytes.Contains(body, []byte(sp.Body)):
			return fail("HTTP %d: body lacks %q: %s", code, sp.Body, head(body, 512))
		}
		return pass("HTTP %d", code)
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
func httpGet(ctx context.Context, u *url.URL, insecure bool, headers []Header) (code int, body []byte, warning string, err error) {
	first, referer := u, ""
	for n := 1; ; n++ {
		resp, err := roundTrip(ctx, u, referer, insecure, headers)
		if err != nil {
			return 0, nil, "", &url.Error{Op: "Get", URL: stripPassword(u), Err: err}
		}
		if !isRedirect(resp.code) || resp.location == "" {
			return resp.code, resp.body, "", nil
		}
		next, err := u.Parse(resp.location)
		if err != nil {
			return 0, nil, "", &url.Error{Op: "Get", URL: stripPassword(u),
				Err: fmt.Errorf("failed to parse Location header %q: %v", resp.location, err)}
		}
		if next.Hostname() != first.Hostname() {
			return resp.code, resp.body, fmt.Sprintf("redirect to another host not followed (%s); kubelet counts this a success with a warning", stripPassword(next)), nil
		}
		if n >= maxRedirects {
			// net/http's default CheckRedirect, which kubelet keeps for
			// same-host redirects.
			return 0, nil, "", &url.Error{Op: "Get", URL: stripPassword(next), Err: errors.New("stopped after 10 redirects")}
		}
		referer = refererFor(u, next)
		u = next
	}
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

// httpResponse is what a check needs of a response.
type httpResponse struct {
	code     int
	location string
	body     []byte // at most maxBody bytes
}

// roundTrip makes one GET request on a new connection. The whole exchange is
// bound to ctx; once ctx is done its error is returned, whatever the
// connection reported. An error while reading the body (within maxBody) is
// the exchange's error, as kubelet's body read error is a probe failure.
func roundTrip(ctx context.Context, u *url.URL, referer string, insecure bool, headers []Header) (*httpResponse, error) {
	var port string
	switch u.Scheme {
	case "http":
		port = "80"
	case "https":
		port = "443"
	default:
		return nil, fmt.Errorf("unsupported protocol scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("http: no Host in request URL")
	}
	if p := u.Port(); p != "" {
		port = p
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, ctxErr(ctx, err)
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
			return nil, ctxErr(ctx, err)
		}
		rw = tc
	}

	if _, err := rw.Write(appendRequest(nil, u, referer, headers)); err != nil {
		return nil, ctxErr(ctx, err)
	}
	resp, err := readResponse(bufio.NewReader(rw))
	return resp, ctxErr(ctx, err)
}

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
// kubelet does with httpHeaders (pkg/probe/http/request.go), a Host, User-Agent
// or Accept header replaces the default one, and an empty Accept drops it; an
// Authorization header replaces the URL's user info.
func appendRequest(b []byte, u *url.URL, referer string, headers []Header) []byte {
	host, ua, accept, auth := removeZone(u.Host), "hcinit", "*/*", false
	var extra []Header
	for _, h := range headers {
		switch {
		case strings.EqualFold(h.Name, "Host"):
			host = h.Value
		case strings.EqualFold(h.Name, "User-Agent"):
			ua = h.Value
		case strings.EqualFold(h.Name, "Accept"):
			accept = h.Value
		default:
			auth = auth || strings.EqualFold(h.Name, "Authorization")
			extra = append(extra, h)
		}
	}
	b = append(b, "GET "...)
	b = append(b, u.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	if ua != "" {
		b = append(b, "User-Agent: "+ua+"\r\n"...)
	}
	if accept != "" {
		b = append(b, "Accept: "+accept+"\r\n"...)
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

// errHeaderTooLarge says a response's header exceeded maxResponseHeader.
var errHeaderTooLarge = fmt.Errorf("server response headers exceeded %d bytes; aborted", maxResponseHeader)

// readResponse reads the final response to a GET (skipping informational
// ones) and at most maxBody bytes of its body.
func readResponse(br *bufio.Reader) (*httpResponse, error) {
	budget := maxResponseHeader
	for first := true; ; first = false {
		line, err := readLine(br, &budget)
		if err == io.EOF && !first {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err // io.EOF: closed without a word, as net/http says
		}
		code, te, err := parseStatusLine(line)
		if err != nil {
			return nil, err
		}
		hdr, err := readResponseHeader(br, &budget)
		if err != nil {
			return nil, err
		}
		if code >= 100 && code <= 199 && code != 101 {
			continue // 100 Continue, 103 Early Hints: the real one follows
		}
		resp := &httpResponse{code: code, location: hdr.location}
		body, err := bodyReader(br, code, te, hdr)
		if err != nil {
			return nil, err
		}
		if body != nil {
			b, err := io.ReadAll(io.LimitReader(body, maxBody))
			if err != nil {
				return nil, fmt.Errorf("read body: %w", err)
			}
			resp.body = b
		}
		return resp, nil
	}
}

// readLine reads one CRLF- or LF-terminated line, charging it to budget. It
// returns io.EOF when the input ended before the line began, and
// io.ErrUnexpectedEOF when it ended within.
func readLine(br *bufio.Reader, budget *int) (string, error) {
	var long []byte
	for {
		frag, err := br.ReadSlice('\n')
		*budget -= len(frag)
		if *budget < 0 {
			return "", errHeaderTooLarge
		}
		if err == bufio.ErrBufferFull {
			long = append(long, frag...)
			continue
		}
		if err != nil {
			if err == io.EOF && (len(long) > 0 || len(frag) > 0) {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if long != nil {
			frag = append(long, frag...)
		}
		frag = frag[:len(frag)-1]
		if n := len(frag); n > 0 && frag[n-1] == '\r' {
			frag = frag[:n-1]
		}
		return string(frag), nil
	}
}

// parseStatusLine parses "HTTP/1.1 200 OK" as net/http does. It returns the
// status code and whether the version is at least 1.1, which makes
// Transfer-Encoding count.
func parseStatusLine(line string) (code int, atLeast11 bool, err error) {
	proto, status, ok := strings.Cut(line, " ")
	if !ok {
		return 0, false, fmt.Errorf("malformed HTTP response %q", line)
	}
	num, _, _ := strings.Cut(strings.TrimLeft(status, " "), " ")
	if len(num) != 3 {
		return 0, false, fmt.Errorf("malformed HTTP status code %q", num)
	}
	code, err = strconv.Atoi(num)
	if err != nil || code < 0 {
		return 0, false, fmt.Errorf("malformed HTTP status code %q", num)
	}
	major, minor, ok := parseHTTPVersion(proto)
	if !ok {
		return 0, false, fmt.Errorf("malformed HTTP version %q", proto)
	}
	return code, major > 1 || major == 1 && minor >= 1, nil
}

// parseHTTPVersion parses "HTTP/X.Y" (one digit each).
func parseHTTPVersion(v string) (major, minor int, ok bool) {
	if len(v) != len("HTTP/X.Y") || !strings.HasPrefix(v, "HTTP/") || v[6] != '.' ||
		v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return 0, 0, false
	}
	return int(v[5] - '0'), int(v[7] - '0'), true
}

// responseHeader holds the header fields a check needs.
type responseHeader struct {
	location         string
	contentLength    []string
	transferEncoding []string
}

// readResponseHeader reads header fields up to the empty line, as
// net/textproto does: names are matched case-insensitively and obsolete line
// folding continues a value.
func readResponseHeader(br *bufio.Reader, budget *int) (responseHeader, error) {
	var h responseHeader
	for first := true; ; first = false {
		name, value, err := readHeaderField(br, budget, first)
		if err != nil || name == "" {
			return h, err
		}
		switch {
		case strings.EqualFold(name, "Location"):
			if h.location == "" {
				h.location = value
			}
		case strings.EqualFold(name, "Content-Length"):
			h.contentLength = append(h.contentLength, strings.Trim(value, " \t"))
		case strings.EqualFold(name, "Transfer-Encoding"):
			h.transferEncoding = append(h.transferEncoding, value)
		}
	}
}

// protocolError says a header field is malformed.
type protocolError string

func (e protocolError) Error() string { return string(e) }

// readHeaderField reads one header field, continuation lines joined by a
// space. It returns an empty name at the empty line that ends the header.
func readHeaderField(br *bufio.Reader, budget *int, first bool) (name, value string, err error) {
	line, err := readLine(br, budget)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil || line == "" {
		return "", "", err
	}
	if first && (line[0] == ' ' || line[0] == '\t') {
		return "", "", protocolError(fmt.Sprintf("malformed MIME header initial line: %q", line))
	}
	if !strings.Contains(line, ":") {
		return "", "", protocolError(fmt.Sprintf("malformed MIME header: missing colon: %q", line))
	}
	line = strings.TrimRight(line, " \t")
	for {
		if c, err := br.Peek(1); err != nil || c[0] != ' ' && c[0] != '\t' {
			break
		}
		more, err := readLine(br, budget)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return "", "", err
		}
		line += " " + strings.Trim(more, " \t")
	}
	name, value, _ = strings.Cut(line, ":")
	if !isToken(name) {
		return "", "", protocolError(fmt.Sprintf("malformed MIME header line: %q", line))
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return "", "", protocolError(fmt.Sprintf("malformed MIME header line: %q", line))
		}
	}
	return name, strings.TrimLeft(value, " \t"), nil
}

// bodyReader returns the body of a response to a GET as net/http frames it,
// nil when there is none.
func bodyReader(br *bufio.Reader, code int, atLeast11 bool, h responseHeader) (io.Reader, error) {
	if cl := h.contentLength; len(cl) > 1 {
		for _, v := range cl[1:] {
			if v != cl[0] {
				return nil, fmt.Errorf("http: message cannot contain multiple Content-Length headers; got %q", cl)
			}
		}
	}
	chunked := false
	if te := h.transferEncoding; te != nil && atLeast11 {
		if len(te) != 1 {
			return nil, fmt.Errorf("too many transfer encodings: %q", te)
		}
		if !strings.EqualFold(te[0], "chunked") {
			return nil, fmt.Errorf("unsupported transfer encoding: %q", te[0])
		}
		chunked = true
	}
	switch {
	case code >= 100 && code <= 199, code == 204, code == 304:
		return nil, nil
	case chunked:
		return &chunkedReader{br: br}, nil
	case len(h.contentLength) > 0:
		if h.contentLength[0] == "" {
			// net/http refuses it (transfer.go parseContentLength).
			return nil, errors.New(`invalid empty Content-Length ""`)
		}
		n, err := strconv.ParseUint(h.contentLength[0], 10, 63)
		if err != nil {
			return nil, fmt.Errorf("bad Content-Length %q", h.contentLength[0])
		}
		return &sizedReader{r: br, left: int64(n)}, nil
	}
	return br, nil // until the server closes
}

// sizedReader reads a body of a known length: ending sooner is
// io.ErrUnexpectedEOF, as net/http's body reader says.
type sizedReader struct {
	r    io.Reader
	left int64
}

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	s.left -= int64(n)
	if err == io.EOF && s.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// chunkedReader decodes Transfer-Encoding: chunked. Trailers are not read: the
// connection is closed after the body anyway.
type chunkedReader struct {
	br   *bufio.Reader
	left int64 // of the current chunk
	err  error
}

func (r *chunkedReader) Read(p []byte) (int, error) {
	for r.err == nil && r.left == 0 {
		r.err = r.nextChunk()
	}
	if r.err != nil {
		return 0, r.err
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.br.Read(p)
	r.left -= int64(n)
	if r.left == 0 && err == nil {
		err = r.chunkEnd()
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.err = err
	}
	return n, nil
}

// nextChunk reads a chunk-size line ("1a;ext=x"); size 0 ends the body.
func (r *chunkedReader) nextChunk() error {
	budget := 4096
	line, err := readLine(r.br, &budget)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		if err == errHeaderTooLarge {
			return errors.New("chunked encoding: chunk-size line too long")
		}
		return err
	}
	size, _, _ := strings.Cut(line, ";")
	size = strings.TrimRight(size, " \t")
	n, err := strconv.ParseUint(size, 16, 63)
	if err != nil || size == "" || len(size) > 16 {
		return errors.New("invalid byte in chunk length")
	}
	if n == 0 {
		return io.EOF
	}
	r.left = int64(n)
	return nil
}

// chunkEnd reads the CRLF after a chunk's data.
func (r *chunkedReader) chunkEnd() error {
	b, err := r.br.ReadByte()
	if err == nil && b == '\r' {
		b, err = r.br.ReadByte()
	}
	if err != nil {
		return err
	}
	if b != '\n' {
		return errors.New("malformed chunked encoding")
	}
	return nil
}
