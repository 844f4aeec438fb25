package controllers

import (
	"hash/fnv"
	"sync"
	"time"
)

// readCache shares the Backup controller's reads past the informer cache (a cluster's server
// pods, the ready nodes, a volume's zone) among the Backups that start in the same moment: when
// a thousand schedules are due at one slot, those are read once per ttl, not a thousand times.
// A read in flight is waited for, not repeated; a failed read is not kept.
type readCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]*cached
}

type cached struct {
	done chan struct{}
	at   time.Time
	val  any
	err  error
}

func newReadCache(ttl time.Duration) *readCache {
	return &readCache{ttl: ttl, entries: map[string]*cached{}}
}

// get returns the value under key, loading it when there is none younger than ttl.
func (c *readCache) get(key string, load func() (any, error)) (any, error) {
	if c == nil || c.ttl <= 0 {
		return load()
	}
	c.mu.Lock()
	e := c.entries[key]
	if e != nil {
		select {
		case <-e.done:
			if time.Since(e.at) < c.ttl {
				c.mu.Unlock()
				return e.val, e.err
			}
		default: // loading: wait for it
			c.mu.Unlock()
			<-e.done
			return e.val, e.err
		}
	}
	e = &cached{done: make(chan struct{})}
	c.entries[key] = e
	// Forget what expired, so keys of deleted clusters do not pile up.
	for k, o := range c.entries {
		select {
		case <-o.done:
			if time.Since(o.at) >= c.ttl {
				delete(c.entries, k)
			}
		default:
		}
	}
	c.mu.Unlock()

	e.val, e.err = load()
	e.at = time.Now()
	if e.err != nil {
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
	}
	close(e.done)
	return e.val, e.err
}

// stripes are a fixed set of mutexes chosen by a key's hash: a lock per key without a map that
// grows with the keys (two keys that share a stripe only wait for each other a moment).
type stripes [64]sync.Mutex

// lock locks key's stripe and returns its unlock.
func (s *stripes) lock(key string) func() {
	h := fnv.New32a()
	h.Write([]byte(key))
	m := &s[h.Sum32()%uint32(len(s))]
	m.Lock()
	return m.Unlock
}
