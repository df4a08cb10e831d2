// Package admit bounds the connections a health server holds without ever
// making a new client wait for an old one.
//
// A server that stops accepting when it is full (a semaphore around Accept)
// lets any client that opens enough idle connections lock everybody else out:
// new connections queue in the listen backlog until an old one times out.
// A Pool instead always accepts, and when it is full it closes the connection
// that has waited longest for its request. An honest health probe writes its
// request the moment it is connected and is answered within milliseconds, so
// it is never the oldest idle connection for long; a flood of silent or slow
// clients only ever evicts itself.
package admit

import (
	"container/list"
	"net"
	"sync"
	"sync/atomic"
)

// Pool holds at most Max connections. The zero value is not usable: use New.
type Pool struct {
	mu      sync.Mutex
	max     int
	idle    list.List // *Conn waiting for a request, the one to evict first at the front
	busy    list.List // *Conn being answered, oldest at the front
	evicted atomic.Int64
}

// New returns a pool of at most max connections (at least 1).
func New(max int) *Pool {
	if max < 1 {
		max = 1
	}
	return &Pool{max: max}
}

// Max is the pool's capacity.
func (p *Pool) Max() int { return p.max }

// Len is the number of connections held.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idle.Len() + p.busy.Len()
}

// Evicted counts the connections closed to make room for newer ones.
func (p *Pool) Evicted() int64 { return p.evicted.Load() }

// Conn is a connection held by a Pool. Closing it releases its place.
type Conn struct {
	net.Conn
	p    *Pool
	e    *list.Element // nil once released
	in   *list.List
	once sync.Once
}

// Admit takes c into the pool as idle (waiting for its request). When the pool
// is full, the oldest idle connection is closed to make room, or, when every
// connection is busy, the oldest busy one.
func (p *Pool) Admit(c net.Conn) *Conn {
	pc := &Conn{Conn: c, p: p}
	var victim *Conn
	p.mu.Lock()
	if p.idle.Len()+p.busy.Len() >= p.max {
		from := &p.idle
		if from.Len() == 0 {
			from = &p.busy
		}
		victim = from.Front().Value.(*Conn)
		victim.releaseLocked()
	}
	pc.e, pc.in = p.idle.PushBack(pc), &p.idle
	p.mu.Unlock()
	if victim != nil {
		p.evicted.Add(1)
		victim.Conn.Close()
	}
	return pc
}

// releaseLocked takes c out of its list; p.mu is held.
func (c *Conn) releaseLocked() {
	if c.e != nil {
		c.in.Remove(c.e)
		c.e, c.in = nil, nil
	}
}

// move puts c at the back (or the front) of l, unless it was released.
func (c *Conn) move(l *list.List, front bool) {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if c.e == nil {
		return
	}
	c.in.Remove(c.e)
	if front {
		c.e = l.PushFront(c)
	} else {
		c.e = l.PushBack(c)
	}
	c.in = l
}

// Busy marks c as being answered: it is evicted only when every connection is
// busy.
func (c *Conn) Busy() { c.move(&c.p.busy, false) }

// Done marks c as answered: it is the first to go when room is needed (a
// connection that lingers to read what its client still sends).
func (c *Conn) Done() { c.move(&c.p.idle, true) }

// Close closes the connection and releases its place in the pool.
func (c *Conn) Close() error {
	var err error
	c.once.Do(func() {
		c.p.mu.Lock()
		c.releaseLocked()
		c.p.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}

// Unwrap returns the underlying connection.
func (c *Conn) Unwrap() net.Conn { return c.Conn }

// CloseWrite shuts down the writing side where the transport allows it.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
