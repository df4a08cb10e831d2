package health

// The grpc check: one call of grpc.health.v1.Health/Check over a minimal
// HTTP/2 client. grpc-go would add megabytes to every container's PID 1 for
// one unary call per interval; this speaks just enough HTTP/2 (RFC 9113) for
// that call: the connection preface, SETTINGS and their ACK, PING replies, one
// stream with HEADERS (HPACK from golang.org/x/net/http2/hpack) and DATA out,
// HEADERS, DATA and trailers in. The result and its messages are kubelet's
// (pkg/probe/grpc/grpc.go): "service healthy", `service unhealthy (responded
// with "NOT_SERVING")`, "error: health rpc probe failed: rpc error: code =
// NotFound desc = unknown service", and a gRPC status derived from the HTTP
// response as grpc-go derives it (internal/transport/http2_client.go).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2/hpack"

	"github.com/wisdom-oss/go-healthcheck/internal/httpwire"
)

// grpcHealthPath is the method the check calls.
const grpcHealthPath = "/grpc.health.v1.Health/Check"

// grpcMaxFrame is the largest frame payload accepted: the default
// SETTINGS_MAX_FRAME_SIZE, which the client never raises.
const grpcMaxFrame = 16384

// grpcMaxResponse bounds the header fields and the DATA of one response; a
// HealthCheckResponse is two bytes.
const grpcMaxResponse = 16 << 10

// HTTP/2 frame types and flags (RFC 9113 section 6).
const (
	h2Data         = 0x0
	h2Headers      = 0x1
	h2RSTStream    = 0x3
	h2Settings     = 0x4
	h2PushPromise  = 0x5
	h2Ping         = 0x6
	h2GoAway       = 0x7
	h2Continuation = 0x9

	h2FlagEndStream  = 0x1
	h2FlagAck        = 0x1
	h2FlagEndHeaders = 0x4
	h2FlagPadded     = 0x8
	h2FlagPriority   = 0x20
)

// grpcServingStatus names HealthCheckResponse.ServingStatus values.
var grpcServingStatus = map[uint64]string{0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}

// grpcCodeNames are grpc-go's codes.Code strings.
var grpcCodeNames = []string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
	"NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
	"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}

// gRPC status codes the client reports itself.
const (
	grpcOK               = 0
	grpcCanceled         = 1
	grpcUnknown          = 2
	grpcDeadlineExceeded = 4
	grpcPermissionDenied = 7
	grpcUnimplemented    = 12
	grpcInternal         = 13
	grpcUnavailable      = 14
	grpcUnauthenticated  = 16
)

// grpcStatus is a call's gRPC status, formatted as grpc-go's status error.
type grpcStatus struct {
	code int
	msg  string
}

func (s *grpcStatus) Error() string {
	name := "Code(" + strconv.Itoa(s.code) + ")"
	if s.code >= 0 && s.code < len(grpcCodeNames) {
		name = grpcCodeNames[s.code]
	}
	return "rpc error: code = " + name + " desc = " + s.msg
}

// connectError is a failure before the server's HTTP/2 preface arrived.
type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// newGRPCProbe returns a probe calling grpc.health.v1.Health/Check with
// sp.Service on sp.Addr; it passes on SERVING only.
func newGRPCProbe(sp Spec) func(context.Context) outcome {
	return func(ctx context.Context) outcome {
		timeout := sp.Timeout
		st, err := grpcHealthCheck(ctx, sp.Addr, sp.Service, sp.TLS, sp.Insecure)
		var ce *connectError
		var gs *grpcStatus
		switch {
		case errors.As(err, &ce) && errors.Is(ce.err, context.DeadlineExceeded):
			return fail("timeout: failed to connect service %q within %v: %v", sp.Addr, timeout, ce.err)
		case errors.As(err, &ce):
			return fail("error: failed to connect service at %q: %v", sp.Addr, ce.err)
		case errors.As(err, &gs) && gs.code == grpcUnimplemented:
			return fail("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): %s", gs.msg)
		case errors.As(err, &gs) && gs.code == grpcDeadlineExceeded:
			return fail("timeout: health rpc did not complete within %v", timeout)
		case err != nil:
			return fail("error: health rpc probe failed: %v", err)
		case st != "SERVING":
			return fail("service unhealthy (responded with %q)", st)
		}
		return pass("service healthy")
	}
}

// grpcHealthCheck makes the call and returns the serving status's name. Its
// errors are a *connectError before the server's preface, else a *grpcStatus.
func grpcHealthCheck(ctx context.Context, addr, service string, useTLS, insecure bool) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", &connectError{err}
	}
	authority := addr
	if host == "" {
		host = "localhost"
		authority = "localhost" + addr
	}
	conn, err := checkDialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", &connectError{err}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) }) // the TLS conn's too
	defer stop()

	scheme, rw := "http", conn
	if useTLS {
		scheme = "https"
		if rw, err = grpcTLS(ctx, conn, host, insecure); err != nil {
			return "", err
		}
	}
	c := &h2conn{conn: rw, br: bufio.NewReaderSize(rw, 4096)}
	if err := c.start(ctx, scheme, authority, service); err != nil {
		return "", err
	}
	st, err := c.readResponse(ctx)
	// A polite goodbye; the connection is closed either way.
	c.writeFrame(h2GoAway, 0, 0, make([]byte, 8))
	return st, err
}

// grpcTLS is the TLS handshake as grpc-go's client makes it: servers refuse
// TLS without ALPN "h2".
func grpcTLS(ctx context.Context, conn net.Conn, host string, insecure bool) (net.Conn, error) {
	tc := tls.Client(conn, &tls.Config{ServerName: host, NextProtos: []string{"h2"},
		InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12})
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, &connectError{h2Err(ctx, err)}
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		return nil, &connectError{fmt.Errorf("credentials: cannot check peer: missing selected ALPN property (have %q)", p)}
	}
	return tc, nil
}

// start sends the preface and the call, reads the server's preface (a
// SETTINGS frame first, or this is not HTTP/2) and acknowledges it. Its
// errors are *connectError.
func (c *h2conn) start(ctx context.Context, scheme, authority, service string) error {
	if _, err := c.conn.Write(c.request(ctx, scheme, authority, service)); err != nil {
		return &connectError{h2Err(ctx, err)}
	}
	f, err := c.readFrame()
	switch {
	case err != nil && bytes.HasPrefix(c.buf[:], []byte("HTTP/")):
		return &connectError{fmt.Errorf("error reading server preface: the server answered in HTTP/1 (%q…), not HTTP/2: not a gRPC port?", c.buf[:])}
	case err != nil:
		err = h2Err(ctx, err)
		if errors.Is(err, context.DeadlineExceeded) {
			return &connectError{err} // as grpc-go's blocking dial says it
		}
		return &connectError{fmt.Errorf("error reading server preface: %w", err)}
	}
	if f.typ != h2Settings || f.flags&h2FlagAck != 0 || f.stream != 0 {
		return &connectError{fmt.Errorf("initial http2 frame from server is not a settings frame (type %d)", f.typ)}
	}
	if err := c.writeFrame(h2Settings, h2FlagAck, 0, nil); err != nil {
		return &connectError{h2Err(ctx, err)}
	}
	return nil
}

// h2Err is the context's error once it is done, DeadlineExceeded for an I/O
// timeout (the connection's deadline is the context's), else err.
func h2Err(ctx context.Context, err error) error {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &ne) && ne.Timeout():
		return context.DeadlineExceeded
	}
	return err
}

type h2frame struct {
	typ, flags byte
	stream     uint32
	payload    []byte
}

type h2conn struct {
	conn net.Conn
	br   *bufio.Reader
	buf  [9]byte
}

// request is the client preface, our SETTINGS, and the call on stream 1:
// HEADERS and one DATA frame that ends the stream.
func (c *h2conn) request(ctx context.Context, scheme, authority, service string) []byte {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	fields := [][2]string{
		{":method", "POST"}, {":scheme", scheme}, {":path", grpcHealthPath}, {":authority", authority},
		{"content-type", "application/grpc"}, {"user-agent", "hcinit"}, {"te", "trailers"},
	}
	if dl, ok := ctx.Deadline(); ok {
		// grpc-timeout: at most 8 digits (gRPC over HTTP/2 spec), rounded up
		// so that the server's deadline is not before ours.
		ms := max((time.Until(dl)+time.Millisecond-1)/time.Millisecond, 1)
		fields = append(fields, [2]string{"grpc-timeout", strconv.FormatInt(int64(min(ms, 99999999)), 10) + "m"})
	}
	for _, f := range fields {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}

	// HealthCheckRequest{service}: field 1, length-delimited; empty when "".
	var msg []byte
	if service != "" {
		msg = append([]byte{0x0a}, binary.AppendUvarint(nil, uint64(len(service)))...)
		msg = append(msg, service...)
	}
	data := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(data[1:], uint32(len(msg)))
	data = append(data, msg...)

	out := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	// SETTINGS_ENABLE_PUSH = 0.
	out = appendFrame(out, h2Settings, 0, 0, []byte{0, 2, 0, 0, 0, 0})
	out = appendFrame(out, h2Headers, h2FlagEndHeaders, 1, hb.Bytes())
	return appendFrame(out, h2Data, h2FlagEndStream, 1, data)
}

func appendFrame(b []byte, typ, flags byte, stream uint32, payload []byte) []byte {
	n := len(payload)
	b = append(b, byte(n>>16), byte(n>>8), byte(n), typ, flags)
	b = binary.BigEndian.AppendUint32(b, stream&0x7fffffff)
	return append(b, payload...)
}

func (c *h2conn) writeFrame(typ, flags byte, stream uint32, payload []byte) error {
	_, err := c.conn.Write(appendFrame(nil, typ, flags, stream, payload))
	return err
}

func (c *h2conn) readFrame() (h2frame, error) {
	if _, err := io.ReadFull(c.br, c.buf[:]); err != nil {
		return h2frame{}, err
	}
	n := int(c.buf[0])<<16 | int(c.buf[1])<<8 | int(c.buf[2])
	f := h2frame{typ: c.buf[3], flags: c.buf[4], stream: binary.BigEndian.Uint32(c.buf[5:]) & 0x7fffffff}
	if n > grpcMaxFrame {
		return f, fmt.Errorf("http2: frame too large (%d bytes)", n)
	}
	f.payload = make([]byte, n)
	_, err := io.ReadFull(c.br, f.payload)
	return f, err
}

// unpad strips a PADDED frame's padding and, for HEADERS, the priority block.
func unpad(f h2frame) ([]byte, error) {
	p := f.payload
	pad := 0
	if f.flags&h2FlagPadded != 0 {
		if len(p) < 1 {
			return nil, errors.New("http2: padded frame too short")
		}
		pad, p = int(p[0]), p[1:]
	}
	if f.typ == h2Headers && f.flags&h2FlagPriority != 0 {
		if len(p) < 5 {
			return nil, errors.New("http2: headers frame too short")
		}
		p = p[5:]
	}
	if pad > len(p) {
		return nil, errors.New("http2: pad length too large")
	}
	return p[:len(p)-pad], nil
}

// h2response is the state of reading stream 1's response.
type h2response struct {
	c        *h2conn
	ctx      context.Context
	dec      *hpack.Decoder
	headers  []hpack.HeaderField // the header block being read
	size     int                 // of headers, as HTTP/2 counts it
	inBlock  bool                // CONTINUATION frames are due
	blockEnd bool                // the block's HEADERS frame ended the stream
	blocks   int                 // complete header blocks: 1 headers, 2 trailers
	first    map[string]string   // response headers (or trailers-only)
	last     map[string]string   // trailers
	data     []byte
}

// grpcInternalError is a protocol violation by the server.
func grpcInternalError(format string, a ...any) error {
	return &grpcStatus{code: grpcInternal, msg: fmt.Sprintf(format, a...)}
}

// readResponse reads frames until stream 1 ends and returns the serving
// status. Errors are *grpcStatus.
func (c *h2conn) readResponse(ctx context.Context) (string, error) {
	r := &h2response{c: c, ctx: ctx, dec: hpack.NewDecoder(4096, nil)}
	r.dec.SetMaxStringLength(grpcMaxResponse)
	r.dec.SetEmitFunc(func(hf hpack.HeaderField) {
		r.size += len(hf.Name) + len(hf.Value) + 32
		r.headers = append(r.headers, hf)
	})
	for {
		f, err := c.readFrame()
		if err != nil {
			err = h2Err(ctx, err)
			if errors.Is(err, context.DeadlineExceeded) {
				return "", &grpcStatus{code: grpcDeadlineExceeded, msg: "context deadline exceeded"}
			}
			return "", &grpcStatus{code: grpcUnavailable, msg: "error reading from server: " + err.Error()}
		}
		if r.inBlock && f.typ != h2Continuation {
			return "", grpcInternalError("http2: expected CONTINUATION, have frame type %d", f.typ)
		}
		if done, st, err := r.frame(f); done || err != nil {
			return st, err
		}
	}
}

// frame handles one frame; done says stream 1 has ended.
func (r *h2response) frame(f h2frame) (done bool, st string, err error) {
	switch f.typ {
	case h2Settings, h2Ping:
		return false, "", r.c.ack(f)
	case h2GoAway:
		if len(f.payload) >= 8 && binary.BigEndian.Uint32(f.payload) >= 1 {
			return false, "", nil // stream 1 is still being processed
		}
		return false, "", &grpcStatus{code: grpcUnavailable, msg: "the server sent GOAWAY before answering"}
	case h2RSTStream:
		if f.stream != 1 {
			return false, "", nil
		}
		return false, "", rstStreamError(r.ctx, f.payload)
	case h2PushPromise:
		return false, "", grpcInternalError("http2: PUSH_PROMISE, though push is disabled")
	case h2Headers, h2Continuation:
		return r.headerFrame(f)
	case h2Data:
		return false, "", r.dataFrame(f)
	}
	return false, "", nil
}

// ack answers a SETTINGS or PING frame that is not itself an ACK.
func (c *h2conn) ack(f h2frame) error {
	if f.flags&h2FlagAck != 0 {
		return nil
	}
	payload := f.payload
	if f.typ == h2Settings {
		payload = nil
	}
	if err := c.writeFrame(f.typ, h2FlagAck, 0, payload); err != nil {
		return &grpcStatus{code: grpcUnavailable, msg: err.Error()}
	}
	return nil
}

// rstStreamError is grpc-go's status for stream 1 reset by the server.
func rstStreamError(ctx context.Context, payload []byte) error {
	code := uint32(0)
	if len(payload) >= 4 {
		code = binary.BigEndian.Uint32(payload)
	}
	gc := grpcInternal
	switch code {
	case 0x7, 0xb: // REFUSED_STREAM, ENHANCE_YOUR_CALM
		gc = grpcUnavailable
	case 0x8: // CANCEL; grpc-go: because our deadline passed, if it did
		gc = grpcCanceled
		if dl, ok := ctx.Deadline(); ok && !dl.After(time.Now()) {
			gc = grpcDeadlineExceeded
		}
	case 0xc: // INADEQUATE_SECURITY
		gc = grpcPermissionDenied
	}
	return &grpcStatus{code: gc, msg: fmt.Sprintf("stream terminated by RST_STREAM with error code: %d", code)}
}

// headerFrame reads a HEADERS or CONTINUATION frame of stream 1; at the end
// of a block that ends the stream, the call's result is done.
func (r *h2response) headerFrame(f h2frame) (done bool, st string, err error) {
	if f.stream != 1 {
		return false, "", grpcInternalError("http2: header block on unknown stream %d", f.stream)
	}
	if f.typ == h2Continuation && !r.inBlock {
		return false, "", grpcInternalError("http2: CONTINUATION without HEADERS")
	}
	p, err := unpad(f)
	if err != nil {
		return false, "", grpcInternalError("%v", err)
	}
	if f.typ == h2Headers {
		r.headers, r.inBlock, r.blockEnd = nil, true, f.flags&h2FlagEndStream != 0
	}
	if _, err := r.dec.Write(p); err != nil {
		return false, "", grpcInternalError("hpack: %v", err)
	}
	if r.size > grpcMaxResponse {
		return false, "", grpcInternalError("header list larger than %d bytes", grpcMaxResponse)
	}
	if f.flags&h2FlagEndHeaders == 0 {
		return false, "", nil
	}
	if err := r.dec.Close(); err != nil {
		return false, "", grpcInternalError("hpack: %v", err)
	}
	if err := r.endBlock(); err != nil {
		return false, "", err
	}
	if !r.blockEnd {
		return false, "", nil
	}
	st, err = grpcResult(r.first, r.last, r.blocks, r.data)
	return true, st, err
}

// endBlock files a complete header block as the headers (checked) or the
// trailers.
func (r *h2response) endBlock() error {
	r.inBlock = false
	r.blocks++
	m := map[string]string{}
	for _, hf := range r.headers {
		if _, dup := m[hf.Name]; !dup {
			m[hf.Name] = hf.Value
		}
	}
	if r.blocks > 1 {
		r.last = m
		return nil
	}
	r.first = m
	return checkGRPCHeaders(m)
}

// dataFrame collects stream 1's DATA.
func (r *h2response) dataFrame(f h2frame) error {
	if f.stream != 1 {
		return nil
	}
	if r.blocks == 0 {
		return grpcInternalError("http2: DATA before HEADERS")
	}
	p, err := unpad(f)
	if err != nil {
		return grpcInternalError("%v", err)
	}
	if len(r.data)+len(p) > grpcMaxResponse {
		return &grpcStatus{code: 8, msg: fmt.Sprintf("response larger than %d bytes", grpcMaxResponse)}
	}
	r.data = append(r.data, p...)
	if f.flags&h2FlagEndStream != 0 {
		return grpcInternalError("server closed the stream without sending trailers")
	}
	return nil
}

// checkGRPCHeaders turns a response that is not gRPC into grpc-go's status:
// the HTTP status mapped to a code, and what was wrong with it.
func checkGRPCHeaders(h map[string]string) error {
	var errs []string
	code := grpcInternal // no :status at all
	if s, ok := h[":status"]; !ok {
		errs = append(errs, "malformed header: missing HTTP status")
	} else if s != "200" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return &grpcStatus{code: grpcInternal, msg: "transport: malformed http-status: " + s}
		}
		code = grpcUnknown
		switch n {
		case 400:
			code = grpcInternal
		case 401:
			code = grpcUnauthenticated
		case 403:
			code = grpcPermissionDenied
		case 404:
			code = grpcUnimplemented
		case 429, 502, 503, 504:
			code = grpcUnavailable
		}
		errs = append(errs, fmt.Sprintf("unexpected HTTP status code received from server: %d (%s)", n, httpwire.StatusText(n)))
	}
	ct, ok := h["content-type"]
	if !ok {
		errs = append(errs, "malformed header: missing HTTP content-type")
	} else if ct != "application/grpc" && !strings.HasPrefix(ct, "application/grpc+") && !strings.HasPrefix(ct, "application/grpc;") {
		errs = append(errs, fmt.Sprintf("transport: received unexpected content-type %q", ct))
	}
	if len(errs) == 0 {
		return nil
	}
	if h[":status"] == "200" {
		code = grpcUnknown
	}
	return &grpcStatus{code: code, msg: strings.Join(errs, "; ")}
}

// grpcResult reads the call's status from the trailers (or a trailers-only
// response) and the serving status from the message.
func grpcResult(first, last map[string]string, blocks int, data []byte) (string, error) {
	tr := last
	if blocks == 1 {
		tr = first
	}
	s, ok := tr["grpc-status"]
	if !ok {
		return "", &grpcStatus{code: grpcInternal, msg: "server closed the stream without sending trailers"}
	}
	code, err := strconv.Atoi(s)
	if err != nil {
		return "", &grpcStatus{code: grpcInternal, msg: "transport: malformed grpc-status: " + s}
	}
	if code != grpcOK {
		return "", &grpcStatus{code: code, msg: percentDecode(tr["grpc-message"])}
	}
	if len(data) < 5 {
		return "", &grpcStatus{code: grpcInternal, msg: "cardinality violation: expected <Response> but received no message"}
	}
	if data[0] != 0 {
		return "", &grpcStatus{code: grpcInternal, msg: "grpc: compressed message, though no compression was offered"}
	}
	n := binary.BigEndian.Uint32(data[1:5])
	if int(n) != len(data)-5 {
		return "", &grpcStatus{code: grpcInternal, msg: "grpc: malformed message length"}
	}
	v, err := servingStatus(data[5:])
	if err != nil {
		return "", &grpcStatus{code: grpcInternal, msg: "grpc: failed to unmarshal the received message: " + err.Error()}
	}
	if name, ok := grpcServingStatus[v]; ok {
		return name, nil
	}
	return strconv.FormatUint(v, 10), nil
}

// servingStatus reads field 1 (varint) of a HealthCheckResponse, skipping
// fields it does not know. A missing field is 0, UNKNOWN (proto3).
func servingStatus(b []byte) (uint64, error) {
	var st uint64
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errors.New("bad tag")
		}
		b = b[n:]
		switch tag & 7 {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return 0, errors.New("bad varint")
			}
			b = b[n:]
			if tag>>3 == 1 {
				st = v
			}
		case 1:
			if len(b) < 8 {
				return 0, io.ErrUnexpectedEOF
			}
			b = b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return 0, io.ErrUnexpectedEOF
			}
			b = b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return 0, io.ErrUnexpectedEOF
			}
			b = b[4:]
		default:
			return 0, fmt.Errorf("unknown wire type %d", tag&7)
		}
	}
	return st, nil
}

// percentDecode decodes grpc-message (gRPC over HTTP/2: percent-encoded
// UTF-8); a malformed escape is kept as is.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
