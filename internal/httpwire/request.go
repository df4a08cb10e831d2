package httpwire

import (
	"io"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// Request is what hcinit's --http endpoint needs of a request.
type Request struct {
	Method string
	Target string   // the request-target as sent
	URL    *url.URL // Target parsed as net/http parses it
	HTTP10 bool     // HTTP/1.0: answered as HTTP/1.0
}

// StatusError is a request refused before it is routed, to be answered as
// net/http's server answers it: "400 Bad Request", "400 Bad Request: missing
// required Host header", "431 Request Header Fields Too Large", "505 HTTP
// Version Not Supported: unsupported protocol version".
type StatusError struct {
	Code int
	Text string // after the status text, "" for none
}

func (e *StatusError) Error() string {
	s := strconv.Itoa(e.Code) + " " + StatusText(e.Code)
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

func badRequest(text string) *StatusError { return &StatusError{Code: 400, Text: text} }

// ReadRequest reads a request line and its header fields from src, at most
// maxHeader bytes of them; a body is never read, but its framing must be
// valid. The checks are those of http.ReadRequest and of net/http's server
// before it calls a handler. A *StatusError is a request to refuse with
// that status; any other error means the client closed, reset or timed out
// before a whole request arrived, and gets no answer.
func ReadRequest(src io.Reader, maxHeader int64) (*Request, error) {
	r := getReader(src, maxHeader)
	defer r.release()
	req, err := r.readRequest()
	if err != nil && r.lr.N <= 0 {
		// Cut off by the limit: whatever the cut made of the last line.
		return nil, &StatusError{Code: 431}
	}
	return req, err
}

func (r *reader) readRequest() (*Request, error) {
	line, err := r.tp.ReadLine()
	if err != nil {
		return nil, err
	}
	req, minor, err := parseRequestLine(line)
	if err != nil {
		return nil, err
	}
	h, err := r.tp.ReadMIMEHeader()
	switch err.(type) {
	case nil:
	case textproto.ProtocolError:
		return nil, badRequest("")
	default:
		return nil, err
	}
	if err := requestFraming(h, minor >= 1); err != nil {
		return nil, err
	}
	switch hosts := len(h["Host"]); {
	case hosts > 1:
		return nil, badRequest("") // "too many Host headers"; net/http does not say why
	case hosts == 0 && minor >= 1 && req.Method != "CONNECT":
		return nil, badRequest("missing required Host header")
	}
	return req, nil
}

// parseRequestLine parses "GET /livez HTTP/1.1" and returns the minor
// version.
func parseRequestLine(line string) (*Request, int, error) {
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !IsToken(method) {
		return nil, 0, badRequest("")
	}
	major, minor, ok := ParseHTTPVersion(proto)
	if !ok {
		return nil, 0, badRequest("")
	}
	if major != 1 {
		return nil, 0, &StatusError{Code: 505, Text: "unsupported protocol version"}
	}
	req := &Request{Method: method, Target: target, HTTP10: minor == 0}
	// CONNECT's target is an authority, not a path (http.ReadRequest).
	raw := target
	authority := method == "CONNECT" && !strings.HasPrefix(target, "/")
	if authority {
		raw = "http://" + target
	}
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		return nil, 0, badRequest("")
	}
	if authority {
		u.Scheme = ""
	}
	req.URL = u
	return req, minor, nil
}

// requestFraming refuses what http.ReadRequest refuses of a request's body
// framing, though the body itself is never read: net/http answers an
// unsupported Transfer-Encoding with 501; this answers 400.
func requestFraming(h textproto.MIMEHeader, atLeast11 bool) error {
	if _, err := responseFraming(200, atLeast11, h); err != nil {
		return badRequest("")
	}
	return nil
}

// IsToken reports whether s is an RFC 9110 token (a method or field name).
func IsToken(s string) bool {
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

// StatusText is net/http's StatusText for the codes hcinit sends, and those
// a proxy or a plain HTTP/2 server answers a gRPC call with; "" for others.
func StatusText(code int) string {
	for _, t := range statusTexts {
		if t.code == code {
			return t.text
		}
	}
	return ""
}

// statusTexts is a table, not a map: it costs no initialisation at start-up.
var statusTexts = [...]struct {
	code int
	text string
}{
	{200, "OK"}, {307, "Temporary Redirect"}, {400, "Bad Request"}, {401, "Unauthorized"},
	{403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"},
	{415, "Unsupported Media Type"}, {429, "Too Many Requests"},
	{431, "Request Header Fields Too Large"}, {500, "Internal Server Error"},
	{502, "Bad Gateway"}, {503, "Service Unavailable"}, {504, "Gateway Timeout"},
	{505, "HTTP Version Not Supported"},
}
