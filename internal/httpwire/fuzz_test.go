package httpwire

// The readers against net/http's, on any input (make fuzz runs these with
// a count of inputs). Where they differ on purpose, the oracle says so:
//
// Responses (what kubelet's prober gets: http.ReadResponse in a loop that
// skips 1xx as the Transport does, then at most maxBody bytes of the body
// read as k8s.io/utils/io.ReadAtMost reads them):
//   - the same inputs are accepted, with the same status code, Location
//     and body;
//   - a connection closed before a word is io.EOF here (the Transport's
//     "EOF"), io.ErrUnexpectedEOF from http.ReadResponse: both refuse it.
//   - header limits: http.ReadResponse has none (the Transport's
//     MaxResponseHeaderBytes is 10 MiB by default); maxHeader is the
//     caller's (1 MiB for checks). TestResponseHeaderLimit covers it.
//
// Requests (http.ReadRequest, then the checks net/http's server makes
// before it calls a handler: HTTP/1.x only, a Host field in HTTP/1.1):
//   - the same inputs are accepted, with the same method, target, path and
//     query, and version;
//   - a malformed Host value is accepted here (the endpoint never uses
//     Host; net/http's server refuses it with 400): httpguts.ValidHostHeader
//     would bring golang.org/x/net/idna into hcinit;
//   - an Expect field other than 100-continue is not refused (net/http: 417);
//   - "PRI * HTTP/2.0" is refused with 505 (net/http's server would start
//     HTTP/2 if it had it configured);
//   - an unsupported Transfer-Encoding is a 400 here, 501 from net/http.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

const (
	testMaxHeader = 1 << 20
	testMaxBody   = 10 << 10
)

// kubeletResponse is what kubelet's prober reads of data through net/http.
func kubeletResponse(data []byte, maxBody int) (Response, error) {
	br := bufio.NewReader(bytes.NewReader(data))
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return Response{}, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode <= 199 && resp.StatusCode != 101 {
			continue
		}
		b, err := io.ReadAll(&io.LimitedReader{R: resp.Body, N: int64(maxBody)})
		if err != nil {
			return Response{}, err
		}
		return Response{Code: resp.StatusCode, Location: resp.Header.Get("Location"), Body: b}, nil
	}
}

var responseSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X\r\n\r\n5;x=y\r\nhello\r\n0\r\nX: 1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nx",
	"HTTP/1.0 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nuntil close",
	"HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length:  2 \r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
	"HTTP/1.1 204 No Content\r\nContent-Length: x\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	"HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX: a\r\n  b\r\nLocation: /y\r\n\r\n",
	"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",
	"HTTP/1.1 200\r\n\r\nno reason phrase, until close",
	"HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 -20 OK\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nframes",
	"garbage", "", "HTTP/1.1 200 OK\r\n",
}

func FuzzReadResponse(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareResponse(t, data, testMaxBody)
		compareResponse(t, data, 3) // a body cut short
	})
}

func compareResponse(t *testing.T, data []byte, maxBody int) {
	got, err := ReadResponse(bytes.NewReader(data), testMaxHeader, maxBody)
	want, werr := kubeletResponse(data, maxBody)
	switch {
	case (err == nil) != (werr == nil):
		t.Fatalf("%q (maxBody %d): httpwire %+v, %v; net/http %+v, %v", data, maxBody, got, err, want, werr)
	case err != nil:
		return
	case got.Code != want.Code || got.Location != want.Location || !bytes.Equal(got.Body, want.Body):
		t.Fatalf("%q (maxBody %d): httpwire %d %q %q; net/http %d %q %q", data, maxBody,
			got.Code, got.Location, got.Body, want.Code, want.Location, want.Body)
	}
}

// serverRequest is what net/http's server makes of data before it calls a
// handler: hostOnly says it refused it only for a malformed Host value.
func serverRequest(data []byte) (req *http.Request, hostOnly bool, err error) {
	req, err = http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, false, err
	}
	// http.ReadRequest drops the Host fields: count them again.
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
	tp.ReadLine()
	h, _ := tp.ReadMIMEHeader()
	hosts := h["Host"]
	switch {
	case req.ProtoMajor != 1:
		return nil, false, errors.New("505 HTTP Version Not Supported")
	case req.ProtoAtLeast(1, 1) && len(hosts) == 0 && req.Method != "CONNECT":
		return nil, false, errors.New("400 missing required Host header")
	case len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]):
		return nil, true, errors.New("400 malformed Host header")
	}
	return req, false, nil
}

var requestSeeds = []string{
	"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD /status HTTP/1.0\r\n\r\n",
	"GET /healthz?verbose=1 HTTP/1.1\r\nhost: x\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "GET /a/../livez?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET http://x/livez HTTP/1.1\r\nHost: y\r\n\r\n", "CONNECT x:443 HTTP/1.1\r\n\r\n", "CONNECT /rpc HTTP/1.0\r\n\r\n",
	"GET / HTTP/2.0\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "GET / HTTP/1.1\r\n\r\n",
	"POST /readyz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "GET /x HTTP/1.1\n Host: x\n\n",
	"POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
	"POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
	"POST /livez HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
	"POST /livez HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n",
	"GET /livez HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", "GET /livez\r\n\r\n", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET livez HTTP/1.1\r\nHost: x\r\n\r\n", "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /livez HTTP/1.1\r\nHost: x y\r\n\r\n",
}

func FuzzReadRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadRequest(bytes.NewReader(data), testMaxHeader)
		want, hostOnly, werr := serverRequest(data)
		var se *StatusError
		switch {
		case err != nil && !errors.As(err, &se) && werr == nil:
			t.Fatalf("%q: httpwire %v (no answer); net/http accepts", data, err)
		case err == nil && werr != nil && !hostOnly:
			t.Fatalf("%q: httpwire accepts %+v; net/http %v", data, got, werr)
		case err != nil && werr == nil:
			t.Fatalf("%q: httpwire %v; net/http accepts", data, err)
		case err != nil || werr != nil:
			return
		case got.Method != want.Method || got.Target != want.RequestURI || got.URL.Path != want.URL.Path ||
			got.URL.RawQuery != want.URL.RawQuery || got.HTTP10 != (want.ProtoMinor == 0):
			t.Fatalf("%q: httpwire %s %q %q %q 1.0=%v; net/http %s %q %q %q %s", data, got.Method, got.Target,
				got.URL.Path, got.URL.RawQuery, got.HTTP10, want.Method, want.RequestURI, want.URL.Path, want.URL.RawQuery, want.Proto)
		}
	})
}

// TestResponseHeaderLimit: status lines and header fields, those of 1xx
// responses included, may take maxHeader bytes, not one more; the body does
// not count.
func TestResponseHeaderLimit(t *testing.T) {
	head := "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX: "
	const limit = 200
	fill := strings.Repeat("a", limit-len(head)-len("\r\n\r\n"))
	body := strings.Repeat("b", 5000)
	ok := head + fill + "\r\n\r\n"
	if _, err := ReadResponse(strings.NewReader(ok+body), limit, 10); err != nil {
		t.Errorf("%d bytes of header, limit %d: %v", len(ok), limit, err)
	}
	var tl *HeaderTooLargeError
	if _, err := ReadResponse(strings.NewReader(head+fill+"a\r\n\r\n"+body), limit, 10); !errors.As(err, &tl) || err.Error() != "server response headers exceeded 200 bytes; aborted" {
		t.Errorf("%d bytes of header, limit %d: %v", len(ok)+1, limit, err)
	}
}

// TestRequestHeaderLimit: a request line and fields of maxHeader bytes are
// read, one more is 431, whatever the cut made of the last line.
func TestRequestHeaderLimit(t *testing.T) {
	head := "GET /livez HTTP/1.1\r\nHost: x\r\nX: "
	const limit = 100
	fill := strings.Repeat("a", limit-len(head)-len("\r\n\r\n"))
	if _, err := ReadRequest(strings.NewReader(head+fill+"\r\n\r\nbody after it"), limit); err != nil {
		t.Errorf("limit %d: %v", limit, err)
	}
	for _, tail := range []string{"a\r\n\r\n", "\r\nno colon here\r\n\r\n"} {
		var se *StatusError
		if _, err := ReadRequest(strings.NewReader(head+fill+tail), limit); !errors.As(err, &se) || se.Code != 431 {
			t.Errorf("%q: %v, want 431", tail, err)
		}
	}
}
