package server

import (
	"net"
	"sync"
	"sync/atomic"
)

// limitListener closes connections accepted beyond max open ones at once
// (counting them in refused), rather than letting them queue: a client
// learns immediately that this replica is full, and an idle or slowloris
// crowd cannot hold more than max sockets, goroutines and buffers.
func limitListener(l net.Listener, max int, refused *atomic.Int64) net.Listener {
	if max <= 0 {
		return l
	}
	return &limitedListener{Listener: l, max: int64(max), refused: refused}
}

type limitedListener struct {
	net.Listener
	max     int64
	open    atomic.Int64
	refused *atomic.Int64
}

// Accept implements net.Listener.
func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			l.refused.Add(1)
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: l}, nil
	}
}

type limitedConn struct {
	net.Conn
	l    *limitedListener
	once sync.Once
}

// Close implements net.Conn; the slot is freed once.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}
