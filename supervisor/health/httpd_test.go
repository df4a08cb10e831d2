package health

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// httpHarness starts a Monitor with the HTTP endpoint and returns its address.
func httpHarness(t *testing.T) (*harness, string) {
	t.Helper()
	h := start(t, Config{Specs: []string{"process,interval=10ms"}, HTTPAddr: "127.0.0.1:0"}, withFake(&fakeProbe{}))
	var addr string
	waitFor(t, "HTTP listener", 3*time.Second, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		addr = h.httpAddr
		return addr != ""
	})
	return h, addr
}

// httpExchange sends raw on a new connection and parses the response to method.
func httpExchange(t *testing.T, addr, method, raw string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%q: body: %v", raw, err)
	}
	return resp, string(b)
}

func TestHTTPEndpointMethodsAndPaths(t *testing.T) {
	_, addr := httpHarness(t)
	for _, tc := range []struct {
		req, method string
		code        int
		body        string
		header      map[string]string
	}{
		{"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 200, "healthy\n", map[string]string{
			"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", "Content-Length": "8"}},
		{"GET /healthz?verbose=1 HTTP/1.1\r\nhost: x\r\n\r\n", "GET", 503, "starting: no child yet\n", nil},
		{"HEAD /livez HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD", 200, "", map[string]string{"Content-Length": "8"}},
		{"HEAD /status HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD", 200, "", map[string]string{"Content-Type": "application/json"}},
		{"POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", "POST", 405, "Method Not Allowed\n",
			map[string]string{"Allow": "GET, HEAD"}},
		{"PUT /status HTTP/1.1\r\nHost: x\r\n\r\n", "PUT", 405, "Method Not Allowed\n", nil},
		{"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 404, "404 page not found\n", nil},
		{"POST /nope HTTP/1.1\r\nHost: x\r\n\r\n", "POST", 404, "404 page not found\n", nil},
		{"GET /livez/ HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 404, "404 page not found\n", nil},
		{"GET /x/../readyz?a=b HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 307, `<a href="/readyz?a=b">Temporary Redirect</a>.` + "\n\n",
			map[string]string{"Location": "/readyz?a=b"}},
		{"GET http://x/livez HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 200, "healthy\n", nil},
		{"GET /livez HTTP/1.0\r\n\r\n", "GET", 200, "healthy\n", nil},
		{"GET /livez HTTP/1.1\r\n\r\n", "GET", 400, "400 Bad Request: missing required Host header", nil},
		{"GET /livez HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", "GET", 400, "400 Bad Request", nil},
		{"GET /livez\r\n\r\n", "GET", 400, "400 Bad Request", nil},
		{"GET /livez HTTP/2.0\r\nHost: x\r\n\r\n", "GET", 505, "505 HTTP Version Not Supported: unsupported protocol version", nil},
		{"GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", maxRequestHeader) + "\r\n\r\n", "GET", 431,
			"431 Request Header Fields Too Large", nil},
	} {
		resp, body := httpExchange(t, addr, tc.method, tc.req)
		if !resp.Close {
			t.Errorf("%.50q: no Connection: close", tc.req)
		}
		if resp.StatusCode != tc.code || body != tc.body {
			t.Errorf("%.50q: %d %q, want %d %q", tc.req, resp.StatusCode, body, tc.code, tc.body)
		}
		for k, v := range tc.header {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%.50q: %s %q, want %q", tc.req, k, got, v)
			}
		}
	}
}

// TestHTTPEndpointSlowClients: clients that send nothing, or half a request,
// do not hold up others, are dropped after ioTimeout, and do not delay the
// shutdown.
func TestHTTPEndpointSlowClients(t *testing.T) {
	h, addr := httpHarness(t)
	var slow []net.Conn
	defer func() {
		for _, c := range slow {
			c.Close()
		}
	}()
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			io.WriteString(c, "GET /livez HTTP/1.1\r\nHost: x\r\n")
		}
		slow = append(slow, c)
	}
	began := time.Now()
	for i := 0; i < 10; i++ {
		if resp, _ := httpExchange(t, addr, "GET", "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("10 requests next to 20 slow clients took %s", took)
	}
	// The second half of a request that was sent slowly is still answered.
	io.WriteString(slow[1], "\r\n")
	slow[1].SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(slow[1]), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("slow request: %v %v", resp, err)
	}

	// Shutdown does not wait for the silent ones.
	began = time.Now()
	h.Interrupt(nil)
	for _, c := range slow[2:] {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("silent client after Interrupt: %v, want EOF", err)
		}
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("silent clients were dropped %s after Interrupt", took)
	}
}

// TestHTTPEndpointSilentClientDropped: a client that sends nothing is closed
// after ioTimeout.
func TestHTTPEndpointSilentClientDropped(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for ioTimeout")
	}
	_, addr := httpHarness(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	began := time.Now()
	c.SetReadDeadline(time.Now().Add(ioTimeout + 3*time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("silent client: %v, want EOF from the server's deadline", err)
	}
	if took := time.Since(began); took < ioTimeout-100*time.Millisecond {
		t.Errorf("dropped after %s, want %s", took, ioTimeout)
	}
}

// TestHTTPEndpointPipelined: a client that sends more than it is answered
// (a second request, a body) gets the first answer and an orderly close, not
// a reset, even when it goes on writing after the answer.
func TestHTTPEndpointPipelined(t *testing.T) {
	_, addr := httpHarness(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	req := "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"
	io.WriteString(c, req+req+strings.Repeat("x", 100<<10))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "healthy\n" {
		t.Errorf("%d %q", resp.StatusCode, body)
	}
	if _, err := c.Write(make([]byte, 64<<10)); err != nil {
		t.Errorf("write after the answer: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // a reset would have arrived
	c.(*net.TCPConn).CloseWrite()
	if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("after the answer: %d bytes, %v; want EOF", n, err)
	}
}
