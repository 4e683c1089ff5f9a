package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/ratelimit"
)

// Entry is one request in the journal. Tokens, secrets and cookies are
// redacted: in bodies before an entry is stored, in header fields when they
// are read (see Headers); no entry leaves the journal but redacted.
type Entry struct {
	Seq           uint64     `json:"seq"`
	Time          time.Time  `json:"time"`  // wall clock
	Clock         time.Time  `json:"clock"` // the sandbox's clock, which the control API moves
	Method        string     `json:"method"`
	Path          string     `json:"path"`
	Operation     string     `json:"operation,omitempty"`
	Partner       string     `json:"partner,omitempty"`
	Client        string     `json:"client"`
	Status        int        `json:"status"` // 0: the connection was dropped
	LatencyMicros int64      `json:"latencyMicros"`
	ErrorCode     string     `json:"errorCode,omitempty"`
	Error         string     `json:"error,omitempty"` // the envelope's message: for a 400, the validation reason
	Control       string     `json:"control,omitempty"`
	Limit         int        `json:"limit,omitempty"`
	Remaining     *int       `json:"remaining,omitempty"` // in the window the request counted against
	Reset         *time.Time `json:"reset,omitempty"`
	Request       Message    `json:"request"`
	Response      Message    `json:"response"`
}

// Message is the redacted headers and the start of the body of a request
// or an answer.
type Message struct {
	Headers Headers `json:"headers,omitzero"`
	Body    string  `json:"body,omitempty"`
}

// Headers are header fields, each with its values joined by ", ", as a JSON
// object, credentials redacted.
//
// Decoded, they are a flat list. The journal's are mostly a header object
// shared with the entries before (see headerCache), made from the first
// map of those fields. Other maps the journal keeps as they are when
// net/http's server calls the sandbox itself, redacted whenever they are
// read (copying and redacting two maps per request was half of what
// recording an entry cost the request), and flattens behind another
// handler (it could write the maps after the sandbox returned). The
// journal records a request after its handler returned; net/http makes a
// new map for each request and each answer and does not write them after
// the handler returns (the HTTP/2 server only to promote "Trailer:"
// fields, which the sandbox never sets), so the maps no longer change.
type Headers struct {
	h http.Header   // the journal's, not redacted: read only through redactValue
	o *headerObject // or the fields, redacted
}

// headerObject is header fields as the journal shows them: each name with
// its values joined and redacted. One made from a map for the journal's
// headerCache is shared by the entries whose maps make the same object,
// and has its JSON made once.
type headerObject struct {
	kv     []string // name, value; sorted by name when made by a headerCache
	json   []byte   // the object's JSON; nil unless made by a headerCache
	plain  []bool   // per field: its value is the map's own, as no credential is
	misses atomic.Int32
}

// fields returns the flat list of names and values ("" when the fields are a map).
func (h Headers) fields() []string {
	if h.o == nil {
		return nil
	}
	return h.o.kv
}

// Get returns the field's value ("" when absent); name is case-insensitive.
func (h Headers) Get(name string) string {
	for k, vs := range h.h {
		if strings.EqualFold(k, name) {
			return redactValue(k, vs)
		}
	}
	kv := h.fields()
	for i := 0; i+1 < len(kv); i += 2 {
		if strings.EqualFold(kv[i], name) {
			return kv[i+1]
		}
	}
	return ""
}

// Len is the number of fields.
func (h Headers) Len() int { return len(h.h) + len(h.fields())/2 }

// IsZero reports no fields (for omitzero).
func (h Headers) IsZero() bool { return h.Len() == 0 }

// MarshalJSON writes the fields as an object, sorted by name.
func (h Headers) MarshalJSON() ([]byte, error) {
	if h.h != nil {
		h = redactHeaders(h.h)
	}
	kv := h.fields()
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads an object of strings.
func (h *Headers) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	kv := make([]string, 0, 2*len(m))
	for k, v := range m {
		kv = append(kv, k, v)
	}
	*h = Headers{o: &headerObject{kv: kv}}
	return nil
}

// headerCache is the last header object the journal made from a map, for
// the entries whose maps make it again. Requests mostly carry the same
// fields as the one before (the same client, the same token), and so do
// answers; such an entry points to the shared object instead of keeping its
// map (which a stream would look up field by field, on another core, to
// encode it) or a copy of it. Telling that a map makes the object costs a
// lookup per field, on the request's core while the map is in its cache.
type headerCache struct {
	last atomic.Pointer[headerObject]
}

// rebuildAfter is how many maps that do not make the cached object replace
// it with the next one that can be cached: a run of requests with other
// fields moves the cache to them, and requests whose fields change every
// time make one object in rebuildAfter.
const rebuildAfter = 16

// keep returns h for the journal: the cached object when h makes it, else
// a new cached object, h itself (direct) or h redacted and copied.
func (c *headerCache) keep(h http.Header, direct bool) Headers {
	if len(h) == 0 {
		return Headers{}
	}
	o := c.last.Load()
	if o != nil && o.same(h) {
		return Headers{o: o}
	}
	if o == nil || o.misses.Add(1) >= rebuildAfter {
		if n := newHeaderObject(h); n != nil {
			c.last.Store(n)
			return Headers{o: n}
		}
	}
	if direct {
		return journalHeaders(h)
	}
	return redactHeaders(h)
}

// same reports that h makes o: as many names, each of o's in h with one
// value that redacts to o's.
func (o *headerObject) same(h http.Header) bool {
	if len(h) != len(o.plain) {
		return false
	}
	for i, plain := range o.plain {
		name, value := o.kv[2*i], o.kv[2*i+1]
		vs, ok := h[name]
		if !ok || len(vs) != 1 {
			return false
		}
		switch {
		case plain:
			if vs[0] != value {
				return false
			}
		case value == bearerRedacted && strings.HasPrefix(vs[0], "Bearer "):
			// What redactValue makes of it, without cutting the value.
		case redactValue(name, vs) != value:
			return false
		}
	}
	return true // o's names are distinct (they came from a map): h has no other
}

// newHeaderObject makes h's object, sorted by name, with its JSON; nil when
// a field has other than one value (the object would not tell such maps
// apart from one another).
func newHeaderObject(h http.Header) *headerObject {
	names := make([]string, 0, len(h))
	for k, vs := range h {
		if len(vs) != 1 {
			return nil
		}
		names = append(names, k)
	}
	slices.Sort(names)
	o := &headerObject{kv: make([]string, 0, 2*len(h)), plain: make([]bool, len(h))}
	o.json = append(o.json, '{')
	for i, k := range names {
		v := redactValue(k, h[k])
		o.kv = append(o.kv, k, v)
		o.plain[i] = !credential(k)
		if i > 0 {
			o.json = append(o.json, ',')
		}
		o.json = appendJSONString(o.json, k)
		o.json = append(o.json, ':')
		o.json = appendJSONString(o.json, v)
	}
	o.json = append(o.json, '}')
	return o
}

// How much of each body the journal keeps.
const (
	maxJournalRequestBody  = 2 << 10
	maxJournalResponseBody = 4 << 10
)

// journal is a ring buffer of entries. It is safe for concurrent use.
type journal struct {
	mu      sync.Mutex
	ring    []*stored // entry seq lives at ring[(seq-1)%len(ring)]
	n       int       // entries held: seq next-n .. next-1
	next    uint64    // seq of the next entry
	waiters []*waiter // one per open stream
	wakeAt  uint64    // no waiter waits for a seq below this one
}

// waiter is a stream waiting for the journal to reach a seq.
type waiter struct {
	at uint64        // the seq it waits for
	ch chan struct{} // closed once the journal holds entry at; nil when not waiting
}

// stored is an entry in the journal. The entry never changes once added,
// so readers use it after letting go of the journal's lock.
type stored struct {
	Entry
	json atomic.Pointer[[]byte] // the entry's JSON, made once by the first reader that needs it

	remaining int // what Entry.Remaining and Reset point to, in the same allocation
	reset     time.Time

	capture capture // while the request is served (see Control.capture)
}

// appendJSON appends the entry's JSON. With keep, the encoding is kept for
// the next reader: streams keep it when more than one is open, so each
// entry is encoded once however many send it; a lone stream does not, and
// allocates nothing per entry.
func (s *stored) appendJSON(b []byte, keep bool, enc *entryEncoder) []byte {
	if p := s.json.Load(); p != nil {
		return append(b, *p...)
	}
	start := len(b)
	b = enc.entry(b, &s.Entry)
	if keep {
		enc := bytes.Clone(b[start:])
		s.json.Store(&enc) // two readers racing both encode the same bytes
	}
	return b
}

func newJournal(size int) *journal {
	return &journal{ring: make([]*stored, size), next: 1, wakeAt: math.MaxUint64}
}

// add stores s under the next seq. The request path pays for a short lock
// and a comparison; it wakes a stream only when the stream waits for this
// seq: an idle stream for the next entry, a busy one (see streamJournal)
// only when half the ring is unsent.
func (j *journal) add(s *stored) {
	j.mu.Lock()
	s.Seq = j.next
	j.next++
	j.ring[(s.Seq-1)%uint64(len(j.ring))] = s
	j.n = min(j.n+1, len(j.ring))
	if s.Seq >= j.wakeAt {
		j.wake(s.Seq)
	}
	j.mu.Unlock()
}

// wake closes the channels of the waiters that wait for seq or an earlier
// one. j.mu is held.
func (j *journal) wake(seq uint64) {
	j.wakeAt = math.MaxUint64
	for _, w := range j.waiters {
		switch {
		case w.ch == nil:
		case w.at <= seq:
			close(w.ch)
			w.ch = nil
		default:
			j.wakeAt = min(j.wakeAt, w.at)
		}
	}
}

func (j *journal) clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.n = 0 // seqs go on, so a stream's position stays meaningful
	clear(j.ring)
}

// subscribe adds a waiter for a stream; unsubscribe removes it.
func (j *journal) subscribe() *waiter {
	w := &waiter{}
	j.mu.Lock()
	j.waiters = append(j.waiters, w)
	j.mu.Unlock()
	return w
}

func (j *journal) unsubscribe(w *waiter) {
	j.mu.Lock()
	j.waiters = slices.DeleteFunc(j.waiters, func(x *waiter) bool { return x == w })
	j.mu.Unlock()
}

// reached returns a channel that is closed once the journal holds entry
// seq (at once if it does already). A waiter waits for one seq at a time;
// its channel, if still open, is reused.
func (j *journal) reached(w *waiter, seq uint64) <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.next-1 >= seq {
		return closedChan
	}
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	w.at = seq
	j.wakeAt = min(j.wakeAt, seq) // a lower wakeAt left by w's last wait only costs one pass of wake
	return w.ch
}

// streams is how many streams are open.
func (j *journal) streams() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.waiters)
}

// backlog is how many unsent entries wake a busy stream before its
// interval ends: half the ring, so the ring does not overwrite entries a
// stream has yet to send.
func (j *journal) backlog() uint64 { return uint64(max(1, len(j.ring)/2)) }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// filter selects entries; zero fields match everything.
type filter struct {
	partner, operation, errorCode string
	status                        int // a status, or 1..5 for a class (4 matches 4xx)
	since                         uint64
	limit                         int
}

func (f filter) match(e *Entry) bool {
	switch {
	case e.Seq <= f.since:
		return false
	case f.partner != "" && e.Partner != f.partner && e.Client != f.partner:
		return false
	case f.operation != "" && e.Operation != f.operation:
		return false
	case f.errorCode != "" && !strings.EqualFold(e.ErrorCode, f.errorCode):
		return false
	case f.status >= 100 && e.Status != f.status:
		return false
	case f.status > 0 && f.status < 10 && e.Status/100 != f.status:
		return false
	}
	return true
}

// list returns the matching entries, oldest first (the newest limit of
// them), and the last seq it looked at.
func (j *journal) list(f filter) ([]*stored, uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*stored
	for seq := max(j.next-uint64(j.n), f.since+1); seq < j.next; seq++ {
		s := j.ring[(seq-1)%uint64(len(j.ring))]
		if f.match(&s.Entry) {
			out = append(out, s)
		}
	}
	if f.limit > 0 && len(out) > f.limit {
		out = out[len(out)-f.limit:]
	}
	return out, j.next - 1
}

// last is the seq of the newest entry, 0 before the first.
func (j *journal) last() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.next - 1
}

// counted notes the window the guard counted the request against, as it
// stood then (the guard's Counted hook, while the request is served): in
// the entry itself, where a copy of the decision was an allocation per
// request.
func (s *stored) counted(d ratelimit.Decision) {
	s.remaining, s.reset = d.Remaining, d.Reset
	s.Limit, s.Remaining, s.Reset = d.Limit, &s.remaining, &s.reset
}

// capture keeps the start of the answer's body, and of the request's, for
// the journal. It lives in the entry it fills (one allocation for both) and
// lets go of the request's writer and body once the entry is recorded.
type capture struct {
	http.ResponseWriter
	header  http.Header     // the answer's header map
	direct  bool            // net/http's server calls the sandbox itself: keep its maps (see Headers)
	body    strings.Builder // becomes the entry's string without another copy
	reqBody *teeBody
	// last is the last plain body (Control.plainBody) as the request
	// began. An answer that writes it again in one Write, as a constant
	// answer does, is kept as that string: no copy, no allocation.
	last *string
	same bool // the body so far is *last
}

func (c *capture) Write(p []byte) (int, error) {
	switch {
	case c.same: // more after it: copy what was not copied
		c.same = false
		c.body.WriteString(*c.last)
	case c.body.Len() == 0 && c.last != nil && len(p) > 0 && len(p) <= maxJournalResponseBody && string(p) == *c.last:
		c.same = true
		return c.ResponseWriter.Write(p)
	}
	if room := maxJournalResponseBody - c.body.Len(); room > 0 {
		c.body.Write(p[:min(room, len(p))])
	}
	return c.ResponseWriter.Write(p)
}

func (c *capture) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// bodyString is the start of the answer's body.
func (c *capture) bodyString() string {
	if c.same {
		return *c.last
	}
	return c.body.String()
}

type teeBody struct {
	io.ReadCloser
	buf []byte
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if room := maxJournalRequestBody - len(t.buf); room > 0 && n > 0 {
		t.buf = append(t.buf, p[:min(room, n)]...)
	}
	return n, err
}

// capture wraps w and r's body for the journal; a nil capture means the
// journal is off.
func (c *Control) capture(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, *stored) {
	if c.journal == nil {
		return w, r, nil
	}
	s := &stored{}
	jc := &s.capture
	jc.ResponseWriter, jc.last = w, c.plainBody.Load()
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok {
		h, ok := srv.Handler.(*Sandbox)
		jc.direct = ok && h == c.s
	}
	if jc.direct {
		// net/http's Header, asked after the status is written and before
		// the answer is flushed, clones the map; asked now it is the same
		// map without the copy.
		jc.header = w.Header()
	}
	if r.Body != nil && r.Body != http.NoBody {
		jc.reqBody = &teeBody{ReadCloser: r.Body}
		r.Body = jc.reqBody
	}
	return jc, r, s
}

// record adds the request to the journal. end is when the request's log
// line was written (zero when the log is off).
func (c *Control) record(r *http.Request, status int, ri *requestInfo, s *stored, start, end time.Time) {
	if end.IsZero() {
		end = time.Now()
	}
	jc := &s.capture
	// Field by field: a composite literal is built aside and copied.
	e := &s.Entry
	e.Time = start
	e.Clock = c.clock.at(end)
	e.Method = canonicalMethod(r.Method)
	e.Path = c.escapedPath(r.URL)
	e.Operation = ri.operation
	e.Partner = ri.partner
	e.Client = clientHost(r)
	e.Status = status
	e.LatencyMicros = end.Sub(start).Microseconds()
	e.ErrorCode = ri.errorCode
	e.Error = ri.message
	e.Control = ri.control
	if !jc.direct {
		jc.header = jc.Header()
	}
	e.Request.Headers = c.requestHeaders.keep(r.Header, jc.direct)
	if ri.dropped {
		e.Status = 0
	} else {
		e.Response.Headers = c.responseHeaders.keep(jc.header, jc.direct)
		e.Response.Body = c.redactBody(jc.bodyString())
	}
	if jc.reqBody != nil && len(jc.reqBody.buf) > 0 {
		e.Request.Body = redactForm(r.Header.Get("Content-Type"), jc.reqBody.buf)
	}
	s.capture = capture{}   // the ring keeps s: not the connection's writer and reader
	if e.Remaining == nil { // the guard did not count it (see stored.counted)
		key := "client:" + e.Client
		if e.Partner != "" {
			key = "partner:" + e.Partner
		}
		if count, reset, ok := c.s.window.Peek(key); ok {
			p := c.s.window.Policy()
			s.remaining, s.reset = max(p.Requests-count, 0), reset
			e.Limit, e.Remaining, e.Reset = p.Requests, &s.remaining, &s.reset
		}
	}
	if e.Partner == "" {
		// Refused before authentication (a 400): name the token's partner
		// anyway, so filtering by partner finds the request.
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			if id, err := c.s.signer.verify(tok); err == nil {
				e.Partner = id
			}
		}
	}
	c.journal.add(s)
}

// clientHost is the host of r.RemoteAddr (all of it when it has no port),
// as net.SplitHostPort splits it.
func clientHost(r *http.Request) string { return splitHost(r.RemoteAddr) }

// splitHost is addr's host as net.SplitHostPort returns it, or addr when
// SplitHostPort fails. An address without brackets and with one colon (an
// IPv4 address and port, what net/http's server mostly sets) is cut at the
// colon as SplitHostPort cuts it, without its general path (a twentieth of
// what the journal cost a request); FuzzSplitHost holds it to SplitHostPort.
func splitHost(addr string) string {
	if i := strings.IndexByte(addr, ':'); i >= 0 && strings.IndexByte(addr[i+1:], ':') < 0 &&
		strings.IndexByte(addr, '[') < 0 && strings.IndexByte(addr, ']') < 0 {
		return addr[:i]
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// canonicalMethod is m, as the constant when it is a common method: the
// method net/http's server reads is part of a string made per request,
// which the journal would otherwise keep, and a stream read, per entry.
func canonicalMethod(m string) string {
	switch m {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodPost:
		return http.MethodPost
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPut:
		return http.MethodPut
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodOptions:
		return http.MethodOptions
	}
	return m
}

// journalHeaders keeps h for the journal (see Headers).
func journalHeaders(h http.Header) Headers {
	if len(h) == 0 {
		return Headers{}
	}
	return Headers{h: h}
}

// redactHeaders flattens h, with credentials replaced by their scheme.
func redactHeaders(h http.Header) Headers {
	if len(h) == 0 {
		return Headers{}
	}
	out := make([]string, 0, 2*len(h))
	for k, vs := range h {
		out = append(out, k, redactValue(k, vs))
	}
	return Headers{o: &headerObject{kv: out}}
}

// redactValue is field k's values joined by ", ", a credential replaced by
// its scheme.
func redactValue(k string, vs []string) string {
	v := ""
	if len(vs) == 1 {
		v = vs[0]
	} else {
		v = strings.Join(vs, ", ")
	}
	// As http.CanonicalHeaderKey(k) == name, without its scan of every
	// other field's name: a name of the same length can differ only in
	// the case of its ASCII letters.
	is := func(name string) bool { return len(k) == len(name) && (k == name || strings.EqualFold(k, name)) }
	switch {
	case is("Authorization"), is("Proxy-Authorization"):
		scheme, _, _ := strings.Cut(v, " ")
		switch {
		case scheme == "Bearer":
			return bearerRedacted // the usual one, without a concatenation
		case len(scheme) > 16 || strings.Contains(scheme, "."):
			return "[redacted]"
		default:
			return strings.TrimSpace(scheme + " [redacted]")
		}
	case is("Cookie"), is("Set-Cookie"):
		return "[redacted]"
	}
	return v
}

// bearerRedacted is a bearer credential, redacted.
const bearerRedacted = "Bearer [redacted]"

// credential reports whether redactValue hides field k's value.
func credential(k string) bool {
	for _, name := range [...]string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"} {
		if len(k) == len(name) && (k == name || strings.EqualFold(k, name)) {
			return true
		}
	}
	return false
}

// tokenField finds the token in a token answer, by the spec's field name.
var tokenField = regexp.MustCompile(`("` + regexp.QuoteMeta(middleware.TokenField) + `"\s*:\s*)"[^"]*"`)

// redactBody hides an issued token; other answers carry no credential.
func redactBody(b string) string {
	if strings.Contains(b, middleware.TokenField) {
		return tokenField.ReplaceAllString(b, `$1"[redacted]"`)
	}
	return b
}

// redactBody is redactBody(b), remembering the last body that had nothing
// to redact: looking for the token's field in every answer was a tenth of
// what the journal cost a request, and most answers are the one before
// again (the same constant answer), which an equal string tells at once.
func (c *Control) redactBody(b string) string {
	if p := c.plainBody.Load(); p != nil && *p == b {
		return b
	}
	shown := redactBody(b)
	if shown == b {
		kept := b // b itself would escape, and be allocated on every call
		c.plainBody.Store(&kept)
	}
	return shown
}

// escapedPath is u.EscapedPath(), remembering the last path: u has no
// RawPath unless its path needs one, and EscapedPath then escapes Path,
// which depends on Path alone; most requests have the last one's path.
func (c *Control) escapedPath(u *url.URL) string {
	if u.RawPath != "" {
		return u.EscapedPath()
	}
	if p := c.lastPath.Load(); p != nil && p.path == u.Path {
		return p.escaped
	}
	p := &lastEscaped{u.Path, u.EscapedPath()}
	c.lastPath.Store(p)
	return p.escaped
}

type lastEscaped struct{ path, escaped string }

// formShown are the form fields whose values the journal shows; any other
// field's value (partnerSecret, or a misspelling of it) is redacted.
var formShown = map[string]bool{"partnerId": true}

// redactForm shows a form body's field names, and the values of formShown
// fields only; other bodies by their size.
func redactForm(contentType string, b []byte) string {
	if !strings.HasPrefix(strings.ToLower(contentType), "application/x-www-form-urlencoded") {
		return "[" + strconv.Itoa(len(b)) + " bytes, not shown]"
	}
	var sb strings.Builder
	for i, pair := range strings.Split(string(b), "&") {
		if i > 0 {
			sb.WriteByte('&')
		}
		k, v, hasValue := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || !hasValue {
			sb.WriteString("[redacted]")
			continue
		}
		if !formShown[name] {
			v = "[redacted]"
		}
		sb.WriteString(k + "=" + v)
	}
	return sb.String()
}
