package resolver

import (
	"container/list"
	"sync"
	"time"
)

// cacheEntry is one cached lookup result: an answer, or a negative
// (NXDOMAIN/NODATA) failure together with the answer that carried it.
type cacheEntry struct {
	answer  *Answer
	fail    *failure
	expires time.Time
}

// question is what the cache and the merged lookups are keyed by: a
// canonical (lower-case, fully qualified) name and a record type.
type question struct {
	name  string
	qtype uint16
}

// lruCache is a size-bounded cache with least-recently-used eviction;
// get and put are O(1). Expired entries are dropped when met.
type lruCache struct {
	mu      sync.Mutex
	max     int
	order   *list.List // front = most recently used; values are *lruItem
	items   map[question]*list.Element
	evicted uint64
}

type lruItem struct {
	key   question
	entry cacheEntry
}

func newLRUCache(max int) *lruCache {
	return &lruCache{max: max, order: list.New(), items: make(map[question]*list.Element)}
}

// get returns the live entry for key at time now.
func (c *lruCache) get(key question, now time.Time) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return cacheEntry{}, false
	}
	item := el.Value.(*lruItem)
	if !now.Before(item.entry.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return cacheEntry{}, false
	}
	c.order.MoveToFront(el)
	return item.entry, true
}

// put stores entry under key, evicting the least recently used entry when
// the cache is full.
func (c *lruCache) put(key question, entry cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*lruItem).entry = entry
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&lruItem{key: key, entry: entry})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruItem).key)
		c.evicted++
	}
}

// stats returns the number of entries held and evicted so far.
func (c *lruCache) stats() (size int, evicted uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.evicted
}
