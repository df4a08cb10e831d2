package httpwire

// Bodies of a known length and chunked ones, with net/http's rules
// (net/http/internal/chunked.go and transfer.go's body.readTrailer):
// httputil.NewChunkedReader would bring all of net/http into the binary.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

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

// maxChunkLine bounds a chunk-size line, as net/http does.
const maxChunkLine = 4096

// maxChunkOverhead is how much more than its data a chunked body may be
// (chunk-size lines, extensions, CRLFs), net/http's guard against senders
// that make a reader work for nothing.
const maxChunkOverhead = 16 << 10

// chunkedReader decodes Transfer-Encoding: chunked, then reads the trailer
// section as net/http does, so a body that ends without it is an error. As
// net/http's reader, it looks ahead at what is already buffered when a
// chunk ends: the CRLF after it and the next chunk-size line, so that an
// error there comes with the last bytes before it (kubelet, which reads at
// most 10 KiB of a body, sees such errors even when it reads no further).
type chunkedReader struct {
	r       *reader
	left    uint64 // of the current chunk
	needEnd bool   // the CRLF after a chunk's data is due
	excess  int64  // overhead not yet paid for by data
	err     error
}

func (c *chunkedReader) Read(p []byte) (n int, err error) {
	br := c.r.br
	for c.err == nil {
		if c.needEnd {
			if n > 0 && br.Buffered() < 2 {
				break
			}
			if c.err = c.chunkEnd(); c.err != nil {
				break
			}
			c.needEnd = false
		}
		if c.left == 0 {
			if n > 0 && !lineBuffered(br) {
				break
			}
			c.err = c.nextChunk()
			continue
		}
		if len(p) == 0 {
			break
		}
		m, err := br.Read(p[:min(uint64(len(p)), c.left)])
		n, p, c.left = n+m, p[m:], c.left-uint64(m)
		switch {
		case c.left == 0 && err == nil:
			c.needEnd = true
		case err == io.EOF:
			err = io.ErrUnexpectedEOF
		}
		c.err = err
	}
	return n, c.err
}

// lineBuffered reports whether a whole line is in br's buffer.
func lineBuffered(br *bufio.Reader) bool {
	p, _ := br.Peek(br.Buffered())
	return bytes.IndexByte(p, '\n') >= 0
}

// nextChunk reads a chunk-size line ("1a;ext=x"); size 0 ends the body,
// and its trailer section is read.
func (c *chunkedReader) nextChunk() error {
	line, err := chunkLine(c.r.br)
	if err != nil {
		return err
	}
	c.excess += int64(len(line)) + 2 // the line, and the CRLF after the data
	size, _, _ := bytes.Cut(line, []byte(";"))
	size = bytes.TrimRight(size, " \t")
	n, err := parseHex(size)
	if err != nil {
		return err
	}
	c.excess = max(c.excess-16-2*int64(n), 0)
	if c.excess > maxChunkOverhead {
		return errors.New("chunked encoding contains too much non-data")
	}
	if n == 0 {
		if err := c.trailer(); err != nil {
			return err
		}
		return io.EOF
	}
	c.left = n
	return nil
}

// chunkLine reads a line that ends in CRLF, without it.
func chunkLine(br *bufio.Reader) ([]byte, error) {
	p, err := br.ReadSlice('\n')
	switch {
	case err == io.EOF:
		return nil, io.ErrUnexpectedEOF
	case err == bufio.ErrBufferFull:
		return nil, errors.New("header line too long")
	case err != nil:
		return nil, err
	}
	if i := bytes.IndexByte(p, '\r'); i < 0 {
		return nil, errors.New("chunked line ends with bare LF")
	} else if i != len(p)-2 {
		return nil, errors.New("invalid CR in chunked line")
	}
	p = p[:len(p)-2]
	if len(p) >= maxChunkLine {
		return nil, errors.New("header line too long")
	}
	return p, nil
}

// parseHex parses a chunk size: hex digits only, at most 16 of them.
func parseHex(v []byte) (uint64, error) {
	if len(v) == 0 {
		return 0, errors.New("empty hex number for chunk length")
	}
	var n uint64
	for i, b := range v {
		switch {
		case '0' <= b && b <= '9':
			b -= '0'
		case 'a' <= b && b <= 'f':
			b = b - 'a' + 10
		case 'A' <= b && b <= 'F':
			b = b - 'A' + 10
		default:
			return 0, errors.New("invalid byte in chunk length")
		}
		if i == 16 {
			return 0, errors.New("http chunk length too large")
		}
		n = n<<4 | uint64(b)
	}
	return n, nil
}

// chunkEnd reads the CRLF after a chunk's data.
func (c *chunkedReader) chunkEnd() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.r.br, crlf[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if crlf != [2]byte{'\r', '\n'} {
		return errors.New("malformed chunked encoding")
	}
	return nil
}

// errTrailerEOF is net/http's error for a chunked body cut off in its
// trailer section.
var errTrailerEOF = errors.New("http: unexpected EOF reading trailer")

// trailer reads the trailer section after the last chunk, which must end
// within the read buffer (net/http: "suspiciously long trailer").
func (c *chunkedReader) trailer() error {
	br := c.r.br
	p, err := br.Peek(2)
	switch {
	case len(p) == 2 && p[0] == '\r' && p[1] == '\n':
		br.Discard(2)
		return nil
	case len(p) < 2:
		return errTrailerEOF
	case err != nil:
		return err
	}
	for n := 4; ; n++ {
		p, err := br.Peek(n)
		if bytes.HasSuffix(p, []byte("\r\n\r\n")) {
			break
		}
		if err != nil {
			return errors.New("http: suspiciously long trailer after chunked body")
		}
	}
	if _, err := c.r.tp.ReadMIMEHeader(); err != nil {
		if err == io.EOF {
			return errTrailerEOF
		}
		return err
	}
	return nil
}
