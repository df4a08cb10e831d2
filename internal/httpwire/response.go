// Package httpwire reads HTTP/1.1 messages as net/http reads them, without
// net/http: the response to an http check's GET, and the request to hcinit's
// --http endpoint. net/http would add about 1.4 MiB to the binary and 0.8 MiB
// to its RSS for one exchange per interval (measured). Header fields are read
// by net/textproto, as net/http reads them; the framing of a body
// (Content-Length, chunked, until close) and the errors are net/http's
// (transfer.go, response.go, request.go, internal/chunked.go). The fuzz tests
// compare both readers with net/http's, and list where they differ on purpose.
//
// Limits are parameters: the callers (supervisor/health) own them.
package httpwire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
)

// Response is what an http check needs of a response.
type Response struct {
	Code     int
	Location string // the first Location field, "" when none
	Body     []byte // at most the reader's maxBody bytes
}

// reader is one message's reading state, pooled: a check or an answer then
// allocates no buffer of its own.
type reader struct {
	lr io.LimitedReader
	br *bufio.Reader
	tp textproto.Reader
}

var readers = sync.Pool{New: func() any {
	r := &reader{br: bufio.NewReaderSize(nil, 4096)}
	r.tp.R = r.br
	return r
}}

func getReader(src io.Reader, limit int64) *reader {
	r := readers.Get().(*reader)
	r.lr = io.LimitedReader{R: src, N: limit}
	r.br.Reset(&r.lr)
	return r
}

func (r *reader) release() {
	r.lr.R = nil
	r.br.Reset(nil)
	readers.Put(r)
}

// HeaderTooLargeError says a response's status lines and header fields took
// more than the limit.
type HeaderTooLargeError struct{ Limit int64 }

func (e *HeaderTooLargeError) Error() string {
	return "server response headers exceeded " + strconv.FormatInt(e.Limit, 10) + " bytes; aborted"
}

// ReadResponse reads from src the final response to a GET, skipping
// informational (1xx) ones as net/http's Transport does, and at most maxBody
// bytes of its body. maxHeader bounds what is read before the body (status
// lines and header fields of every response, 1xx included), as the
// Transport's MaxResponseHeaderBytes does. A connection closed before a
// word is io.EOF, as the Transport says; an error while reading the body
// within maxBody is the exchange's error ("read body: …"), as kubelet's
// body read error is a probe failure.
func ReadResponse(src io.Reader, maxHeader int64, maxBody int) (Response, error) {
	r := getReader(src, maxHeader)
	defer r.release()
	for first := true; ; first = false {
		code, framing, err := r.readHead(first)
		if err != nil {
			if r.lr.N <= 0 {
				err = &HeaderTooLargeError{Limit: maxHeader}
			}
			return Response{}, err
		}
		if code >= 100 && code <= 199 && code != 101 {
			continue // 100 Continue, 103 Early Hints: the real one follows
		}
		r.lr.N = math.MaxInt64 // the body is bounded by maxBody
		resp := Response{Code: code, Location: framing.location}
		resp.Body, err = r.readBody(framing, maxBody)
		return resp, err
	}
}

// framing is what a response's header says about its body.
type framing struct {
	location string
	body     bool  // a status that may have a body
	chunked  bool  // Transfer-Encoding: chunked (HTTP/1.1 and later)
	length   int64 // Content-Length, -1 when absent: until the server closes
}

// readHead reads a status line and the header fields after it.
func (r *reader) readHead(first bool) (int, framing, error) {
	line, err := r.tp.ReadLine()
	if err == io.EOF && !first {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return 0, framing{}, err // io.EOF: closed without a word
	}
	code, atLeast11, err := parseStatusLine(line)
	if err != nil {
		return 0, framing{}, err
	}
	h, err := r.tp.ReadMIMEHeader()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return 0, framing{}, err
	}
	f, err := responseFraming(code, atLeast11, h)
	return code, f, err
}

// parseStatusLine parses "HTTP/1.1 200 OK" as net/http does (response.go).
// It returns the status code and whether the version is at least 1.1, which
// makes Transfer-Encoding count.
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
	major, minor, ok := ParseHTTPVersion(proto)
	if !ok {
		return 0, false, fmt.Errorf("malformed HTTP version %q", proto)
	}
	return code, major > 1 || major == 1 && minor >= 1, nil
}

// ParseHTTPVersion parses "HTTP/X.Y" (one digit each) as net/http does.
func ParseHTTPVersion(v string) (major, minor int, ok bool) {
	if len(v) != len("HTTP/X.Y") || !strings.HasPrefix(v, "HTTP/") || v[6] != '.' ||
		v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return 0, 0, false
	}
	return int(v[5] - '0'), int(v[7] - '0'), true
}

// responseFraming applies net/http's rules (transfer.go readTransfer,
// parseTransferEncoding, fixLength, fixTrailer) for a response to GET.
func responseFraming(code int, atLeast11 bool, h textproto.MIMEHeader) (framing, error) {
	f := framing{location: h.Get("Location"), length: -1}
	if te, ok := h["Transfer-Encoding"]; ok && atLeast11 {
		if len(te) != 1 {
			return f, fmt.Errorf("too many transfer encodings: %q", te)
		}
		if !strings.EqualFold(te[0], "chunked") {
			return f, fmt.Errorf("unsupported transfer encoding: %q", te[0])
		}
		f.chunked = true
	}
	n, err := contentLength(h["Content-Length"])
	if err != nil {
		return f, err
	}
	f.body = !(code >= 100 && code <= 199 || code == 204 || code == 304)
	if !f.chunked {
		f.length = n
	} else if err := checkTrailer(h["Trailer"]); err != nil {
		return f, err
	}
	return f, nil
}

// contentLength is net/http's fixLength and parseContentLength: equal
// duplicates are one, different ones an error, and an empty value is
// refused. It returns -1 when there is none.
func contentLength(cl []string) (int64, error) {
	if len(cl) == 0 {
		return -1, nil
	}
	first := textproto.TrimString(cl[0])
	for _, v := range cl[1:] {
		if textproto.TrimString(v) != first {
			return 0, fmt.Errorf("http: message cannot contain multiple Content-Length headers; got %q", cl)
		}
	}
	if first == "" {
		return 0, errors.New(`invalid empty Content-Length ""`)
	}
	n, err := strconv.ParseUint(first, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("bad Content-Length %q", first)
	}
	return int64(n), nil
}

// checkTrailer refuses a chunked message that announces framing fields as
// trailers (net/http's fixTrailer).
func checkTrailer(vv []string) error {
	for _, v := range vv {
		for _, key := range strings.Split(v, ",") {
			key = textproto.CanonicalMIMEHeaderKey(textproto.TrimString(key))
			switch key {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return fmt.Errorf("bad trailer key %q", key)
			}
		}
	}
	return nil
}

// readBody reads at most maxBody bytes of the body f describes (nil when
// there is none).
func (r *reader) readBody(f framing, maxBody int) ([]byte, error) {
	var body io.Reader
	switch {
	case !f.body || f.length == 0:
		return nil, nil
	case f.chunked:
		body = &chunkedReader{r: r}
	case f.length > 0:
		body = &sizedReader{r: r.br, left: f.length}
	default:
		body = r.br // until the server closes
	}
	// As kubelet reads it (k8s.io/utils/io.ReadAtMost): the buffer sizes
	// decide how far the chunked reader looks ahead.
	b, err := io.ReadAll(&io.LimitedReader{R: body, N: int64(maxBody)})
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}
