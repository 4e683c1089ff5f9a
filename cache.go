package milligold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/milligold/milligold-go/gen/middleware"
)

// WithCache serves the answers of a read operation (by operation id, such
// as "getGoldRate") from a cache for ttl: one request per ttl for all the
// Client's callers, and for every process when the Client shares Redis
// (redisquota.WithRedis). When a refresh fails with a 429, a 5xx or a network error,
// the last good answer is served instead, marked stale: see WithCacheInfo.
// Without WithCache, concurrent identical reads still share one request.
func WithCache(operationID string, ttl time.Duration) Option {
	return func(c *config) error {
		op, ok := middleware.OperationByID(operationID)
		if !ok || op.Method != http.MethodGet {
			return fmt.Errorf("cache: %q is not a read operation of the API", operationID)
		}
		if ttl <= 0 {
			return fmt.Errorf("cache: ttl %s for %s: want a positive duration", ttl, operationID)
		}
		if c.cacheTTL == nil {
			c.cacheTTL = map[string]time.Duration{}
		}
		c.cacheTTL[operationID] = ttl
		return nil
	}
}

// staleFor is how long past its ttl a cached answer may still be served
// when the API fails.
const staleFor = 24 * time.Hour

// CacheInfo tells a caller where an answer came from.
type CacheInfo struct {
	Cached bool          // served from the cache (WithCache), not by a request of this call
	Stale  bool          // past its ttl: served because the refresh failed
	Age    time.Duration // of a cached answer
	Err    error         // why a stale answer was served
}

type cacheInfoKey struct{}

// WithCacheInfo returns a context that makes the Client's call fill info.
func WithCacheInfo(ctx context.Context, info *CacheInfo) context.Context {
	return context.WithValue(ctx, cacheInfoKey{}, info)
}

func setCacheInfo(ctx context.Context, ci CacheInfo) {
	if p, ok := ctx.Value(cacheInfoKey{}).(*CacheInfo); ok && p != nil {
		*p = ci
	}
}

// snapshot is a buffered answer that every caller of a flight gets a copy of.
type snapshot struct {
	status     int
	statusLine string // as the server sent it; "" for an answer from the shared cache
	header     http.Header
	body       []byte
	at         time.Time // when it was fetched (this process's clock)
	info       CacheInfo
}

func (s *snapshot) response(req *http.Request) *http.Response {
	status := s.statusLine
	if status == "" {
		status = fmt.Sprintf("%d %s", s.status, http.StatusText(s.status))
	}
	return &http.Response{
		Status: status, StatusCode: s.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: s.header.Clone(), Body: newBufferedBody(s.body),
		ContentLength: int64(len(s.body)), Request: req,
	}
}

// bufferedBody is an answer's body that the read layer has read in full
// (at most maxBody+1 bytes): readAnswer takes its bytes as they are instead
// of reading and copying them again. The bytes are shared and never written.
type bufferedBody struct {
	bytes.Reader
	b []byte
}

func newBufferedBody(b []byte) *bufferedBody {
	bb := &bufferedBody{b: b}
	bb.Reset(b)
	return bb
}

func (*bufferedBody) Close() error { return nil }

// whole returns the body when none of it has been read yet.
func (bb *bufferedBody) whole() ([]byte, bool) { return bb.b, bb.Len() == len(bb.b) }

// readBounded reads at most limit bytes of an answer's body into a buffer
// sized from its Content-Length when it has one (io.ReadAll starts at 512
// bytes and grows), so that the usual answer costs one allocation.
func readBounded(r io.Reader, contentLength, limit int64) ([]byte, error) {
	size := int64(512)
	if contentLength >= 0 && contentLength < limit {
		size = contentLength + 1 // room to see EOF without growing
	}
	buf := make([]byte, 0, size)
	lr := io.LimitedReader{R: r, N: limit}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// readTransport makes concurrent identical GETs share one request and
// serves the operations of WithCache from the cache. It sits outside the
// bearer layer, so a shared answer costs one token lookup and one slot of
// the rate limit. Safe for concurrent use.
//
// The first caller of a GET flies it in its own goroutine and gets the
// answer itself, its body read in full; callers that come while it flies
// wait for it and get copies (the same bytes, a clone of the header).
type readTransport struct {
	next   http.RoundTripper
	ttl    map[string]time.Duration
	shared SharedCache // nil: in process only
	now    func() time.Time
	origin *url.URL // the Client's base URL

	fmu     sync.Mutex
	flights map[string]*flight // GETs in flight, by URL

	mu    sync.Mutex
	cache map[string]*snapshot // 200 answers of cached operations, by URL
}

// flight is one GET that every caller of its URL shares while it flies.
// s and err are written before done is closed. One allocation holds what
// the usual flight needs: the answer it fetched (own) and the first
// caller's body reader (body); done is made only when a second caller
// joins.
type flight struct {
	done    chan struct{} // under readTransport.fmu until the flight lands
	waiting int           // callers that joined (under readTransport.fmu); tests read it
	s       *snapshot
	err     error
	own     snapshot
	body    bufferedBody
}

// errFlightAborted is what callers waiting on a flight get when its
// request panicked in the first caller's goroutine (which gets the panic).
var errFlightAborted = errors.New("milligold: the shared request was aborted")

// maxCached bounds the in-process cache (getUserInfo is keyed by number).
const maxCached = 1024

func (t *readTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return t.next.RoundTrip(req)
	}
	ctx := req.Context()
	var ttl time.Duration
	cached := false
	if len(t.ttl) > 0 {
		ttl, cached = t.ttl[operation(req)]
	}
	key := t.flightKey(req.URL)
	if cached {
		key = req.URL.String() // the caches' key, shared across processes and base URLs
	}
	if cached {
		if s, ok := t.fresh(ctx, key, ttl); ok {
			setCacheInfo(ctx, s.info)
			return s.response(req), nil
		}
	}
	for again := true; ; again = false {
		f, done := t.join(key)
		if done == nil {
			return t.fly(req, f, key, cached, ttl)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-done:
		}
		if f.err != nil {
			if again && isCtxErr(f.err) && ctx.Err() == nil {
				continue // we joined a flight whose caller gave up
			}
			return nil, f.err
		}
		setCacheInfo(ctx, f.s.info)
		return f.s.response(req), nil
	}
}

// flightKey names an uncached GET in flight: the path of one for the
// Client's own origin without a query (every such operation's), which
// spares building the URL's string, else the whole URL. The two cannot
// meet: a path starts with "/", a URL with its scheme.
func (t *readTransport) flightKey(u *url.URL) string {
	if o := t.origin; o != nil && u.Scheme == o.Scheme && u.Host == o.Host && u.User == nil && u.Opaque == "" &&
		u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" {
		if p := u.EscapedPath(); strings.HasPrefix(p, "/") {
			return p
		}
	}
	return u.String()
}

// join returns key's flight and the channel closed when it lands; no
// channel when the caller is the flight's first, which must fly it.
func (t *readTransport) join(key string) (*flight, chan struct{}) {
	t.fmu.Lock()
	defer t.fmu.Unlock()
	if f, ok := t.flights[key]; ok {
		if f.done == nil {
			f.done = make(chan struct{})
		}
		f.waiting++
		return f, f.done
	}
	if t.flights == nil {
		t.flights = map[string]*flight{}
	}
	f := &flight{}
	t.flights[key] = f
	return f, nil
}

// fly sends the flight's request and hands its outcome to the callers
// waiting on it. The caller gets the answer itself, not a copy: nothing
// below readAnswer writes an answer's header, which the copies share.
func (t *readTransport) fly(req *http.Request, f *flight, key string, cached bool, ttl time.Duration) (*http.Response, error) {
	landed := false
	defer func() {
		if !landed { // a panic: the waiting callers must not hang
			f.err = errFlightAborted
			t.land(key, f)
		}
	}()
	s, resp, err := t.fetch(req, key, cached, ttl, f)
	f.s, f.err = s, err
	landed = true
	t.land(key, f)
	if err != nil {
		return nil, err
	}
	setCacheInfo(req.Context(), s.info)
	if resp == nil {
		return s.response(req), nil
	}
	resp.Request = req // not the layer below's copy, which holds the token
	return resp, nil
}

func (t *readTransport) land(key string, f *flight) {
	t.fmu.Lock()
	delete(t.flights, key)
	done := f.done
	t.fmu.Unlock()
	if done != nil {
		close(done)
	}
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// freshLocal is this process's copy of key's answer while younger than ttl.
func (t *readTransport) freshLocal(key string, ttl time.Duration) (*snapshot, bool) {
	t.mu.Lock()
	s, ok := t.cache[key]
	t.mu.Unlock()
	if !ok {
		return nil, false
	}
	age := t.now().Sub(s.at)
	if age >= ttl {
		return nil, false
	}
	c := *s
	c.info = CacheInfo{Cached: true, Age: age}
	return &c, true
}

// fresh finds an answer younger than ttl, here or in the shared cache.
func (t *readTransport) fresh(ctx context.Context, key string, ttl time.Duration) (*snapshot, bool) {
	if s, ok := t.freshLocal(key, ttl); ok {
		return s, true
	}
	if t.shared == nil {
		return nil, false
	}
	e, age, ok := t.shared.CacheGet(ctx, key, ttl+staleFor)
	if !ok {
		return nil, false
	}
	s := &snapshot{status: e.Status, header: http.Header{"Content-Type": {e.ContentType}}, body: e.Body, at: t.now().Add(-age)}
	t.keep(key, s)
	if age >= ttl {
		return nil, false
	}
	c := *s
	c.info = CacheInfo{Cached: true, Age: age}
	return &c, true
}

func (t *readTransport) keep(key string, s *snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cache == nil {
		t.cache = map[string]*snapshot{}
	}
	if _, ok := t.cache[key]; !ok && len(t.cache) >= maxCached {
		for k := range t.cache { // evict one at random
			delete(t.cache, k)
			break
		}
	}
	t.cache[key] = s
}

// fetch runs inside the flight f: one request for every caller of key. It
// returns the answer as a snapshot and, when it is the request's own answer
// (not a cached one), that answer too, its body read in full (f's own and
// body hold them).
func (t *readTransport) fetch(req *http.Request, key string, cached bool, ttl time.Duration, f *flight) (*snapshot, *http.Response, error) {
	ctx := req.Context()
	if cached {
		// A caller that missed the cache just before the previous flight
		// stored its answer starts this flight: serve that answer instead.
		if s, ok := t.freshLocal(key, ttl); ok {
			return s, nil, nil
		}
	}
	if cached && t.shared != nil {
		// Across processes: one refreshes, the others wait for its answer.
		for {
			unlock, ok := t.shared.CacheLock(ctx, key, 5*time.Second)
			if ok {
				defer unlock()
				if s, ok := t.fresh(ctx, key, ttl); ok { // refreshed meanwhile
					return s, nil, nil
				}
				break
			}
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
			if s, ok := t.fresh(ctx, key, ttl); ok {
				return s, nil, nil
			}
		}
	}
	resp, err := t.next.RoundTrip(req)
	var s *snapshot
	if err == nil {
		body, rerr := readBounded(resp.Body, resp.ContentLength, maxBody+1)
		resp.Body.Close()
		if rerr != nil {
			err = rerr
		} else {
			s = &f.own
			*s = snapshot{status: resp.StatusCode, statusLine: resp.Status, header: resp.Header, body: body, at: t.now()}
			f.body.b = body
			f.body.Reset(body)
			resp.Body, resp.ContentLength = &f.body, int64(len(body))
		}
	}
	failed := err != nil || s.status == http.StatusTooManyRequests || s.status >= 500
	if cached && failed {
		t.mu.Lock()
		last, ok := t.cache[key]
		t.mu.Unlock()
		if ok && t.now().Sub(last.at) < ttl+staleFor {
			why := err
			if why == nil {
				why = fmt.Errorf("the API answered %d %s", s.status, http.StatusText(s.status))
			}
			c := *last
			c.info = CacheInfo{Cached: true, Stale: true, Age: t.now().Sub(last.at), Err: why}
			return &c, nil, nil
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if cached && s.status == http.StatusOK && len(s.body) <= maxBody {
		t.keep(key, s)
		if t.shared != nil {
			t.shared.CacheSet(ctx, key, CacheEntry{Status: s.status, ContentType: s.header.Get("Content-Type"), Body: s.body}, ttl+staleFor)
		}
	}
	return s, resp, nil
}
