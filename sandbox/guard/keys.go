package guard

import (
	"sync"
	"sync/atomic"
)

// The window's key spaces: a partner proven by its token or credentials,
// and a caller known only by its address.
const (
	partnerPrefix = "partner:"
	clientPrefix  = "client:"
)

// maxCachedKeys bounds keyCache: partners come from the config and callers
// from loopback in practice, so a few hundred cover a sandbox; past the
// bound keys are built per request, as before the cache.
const maxCachedKeys = 1024

// keyCache holds the window keys built so far (prefix+name, by prefix and name), so a request
// from a known partner or address does not concatenate a new string: two
// of a gold-rate request's eleven allocations were these keys. Reads are a
// plain map lookup; a new name copies the map (rare: once per partner or
// address). It is safe for concurrent use.
type keyCache struct {
	mu   sync.Mutex                              // serializes writers
	keys [2]atomic.Pointer[map[string]windowKey] // by prefix (partner, client), then name
}

// windowKey is a window's key, and its name boxed for a context value
// (boxing a string allocates too).
type windowKey struct {
	key  string
	name any
}

// get returns prefix+name and name boxed, without allocating when they
// were built before.
func (c *keyCache) get(prefix, name string) windowKey {
	space := &c.keys[0]
	if prefix == clientPrefix {
		space = &c.keys[1]
	}
	if m := space.Load(); m != nil {
		if k, ok := (*m)[name]; ok {
			return k
		}
	}
	key := windowKey{prefix + name, name}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := space.Load()
	if old != nil && len(*old) >= maxCachedKeys {
		return key
	}
	m := make(map[string]windowKey, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[name] = key
	space.Store(&m)
	return key
}

func lenOf(m *map[string]windowKey) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
