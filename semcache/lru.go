package semcache

import (
	"container/list"
	"sync"
	"time"
)

// lruEntry is one entry of the in-process cache. It holds the encoded body
// so that every hit decodes a fresh copy the caller may modify.
type lruEntry struct {
	id        string // namespace + "\x00" + key
	namespace string
	model     string
	body      []byte
	cost      int64
	created   time.Time
	expires   time.Time
}

func (e *lruEntry) size() int64 { return int64(len(e.body) + len(e.id) + len(e.model) + 128) }

// lru is a mutex-guarded least-recently-used cache bounded by entry count
// and bytes.
type lru struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	bytes      int64
	ll         *list.List // front is most recent; values are *lruEntry
	items      map[string]*list.Element
}

func newLRU(maxEntries int, maxBytes int64) *lru {
	return &lru{maxEntries: maxEntries, maxBytes: maxBytes, ll: list.New(), items: make(map[string]*list.Element)}
}

func lruID(ns string, k Key) string { return ns + "\x00" + string(k[:]) }

// get returns the live entry for id, dropping it if it expired by now.
func (c *lru) get(id string, now time.Time) (*lruEntry, bool) {
	if c.maxEntries <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[id]
	if !ok {
		return nil, false
	}
	e := el.Value.(*lruEntry)
	if !now.Before(e.expires) {
		c.removeElement(el)
		return nil, false
	}
	c.ll.MoveToFront(el)
	return e, true
}

// add inserts or replaces e and evicts the least recent entries beyond the
// bounds. An entry larger than a quarter of the byte bound is not kept.
func (c *lru) add(e *lruEntry) {
	if c.maxEntries <= 0 || e.size() > c.maxBytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[e.id]; ok {
		c.removeElement(el)
	}
	c.items[e.id] = c.ll.PushFront(e)
	c.bytes += e.size()
	for c.ll.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.removeElement(c.ll.Back())
	}
}

func (c *lru) remove(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[id]; ok {
		c.removeElement(el)
	}
}

// removeIf drops every entry for which match is true and returns how many
// it dropped.
func (c *lru) removeIf(match func(*lruEntry) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for el := c.ll.Front(); el != nil; {
		next := el.Next()
		if match(el.Value.(*lruEntry)) {
			c.removeElement(el)
			n++
		}
		el = next
	}
	return n
}

func (c *lru) removeElement(el *list.Element) {
	e := c.ll.Remove(el).(*lruEntry)
	delete(c.items, e.id)
	c.bytes -= e.size()
}

func (c *lru) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len(), c.bytes
}
