package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// controlAPI is where the control API's routes live, under ControlPrefix.
const controlAPI = ControlPrefix + "api/"

// owns reports whether r is for the control API or the console. Every
// request asks: p+"/" == ControlPrefix built a string per request (a
// tenth of what the journal cost a request), comparing with controlRoot
// builds none.
func (c *Control) owns(r *http.Request) bool {
	p := r.URL.Path
	return strings.HasPrefix(p, ControlPrefix) || p == controlRoot
}

// controlRoot is ControlPrefix without its slash, which redirects to it
// (TestControlRoot).
const controlRoot = "/_sandbox"

// ServeHTTP serves the control API and the console.
func (c *Control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case headerSize(r) > maxHeaderBytes:
		c.s.writeError(w, r, http.StatusRequestHeaderFieldsTooLarge, "request headers too large")
	case r.URL.Path == controlRoot:
		http.Redirect(w, r, ControlPrefix, http.StatusFound)
	case !canonical(r.URL.Path):
		c.s.writeError(w, r, http.StatusNotFound, "The requested resource was not found")
	default:
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		c.mux.ServeHTTP(w, r)
	}
}

// route registers path with a handler per method; other methods get 405
// in the envelope. Routes under controlAPI need the control token.
func (c *Control) route(path string, methods map[string]http.HandlerFunc) {
	allow := make([]string, 0, len(methods))
	for m := range methods {
		allow = append(allow, m)
	}
	slices.Sort(allow)
	guarded := strings.HasPrefix(path, controlAPI)
	c.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if guarded && !c.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="milligold-sandbox-control"`)
			c.s.writeError(w, r, http.StatusUnauthorized, "missing or wrong control token")
			return
		}
		h, ok := methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = methods[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			c.s.writeError(w, r, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		h(w, r)
	})
}

// authorized checks the control token in constant time.
func (c *Control) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && secretsEqual(got, c.token)
}

func (c *Control) routes() {
	c.mux = http.NewServeMux()
	c.mux.HandleFunc(ControlPrefix, func(w http.ResponseWriter, r *http.Request) {
		c.s.writeError(w, r, http.StatusNotFound, "The requested resource was not found")
	})
	c.consoleRoutes()
	c.route(controlAPI+"clock", map[string]http.HandlerFunc{http.MethodGet: c.getClock})
	c.route(controlAPI+"clock/advance", map[string]http.HandlerFunc{http.MethodPost: c.advanceClock})
	c.route(controlAPI+"reset", map[string]http.HandlerFunc{http.MethodPost: c.postReset})
	c.route(controlAPI+"partners", map[string]http.HandlerFunc{http.MethodGet: c.getPartners})
	c.route(controlAPI+"faults", map[string]http.HandlerFunc{
		http.MethodGet: c.getFaults, http.MethodPost: c.postFault, http.MethodDelete: c.deleteFaults,
	})
	c.route(controlAPI+"journal", map[string]http.HandlerFunc{http.MethodGet: c.getJournal, http.MethodDelete: c.deleteJournal})
	c.route(controlAPI+"journal/stream", map[string]http.HandlerFunc{http.MethodGet: c.streamJournal})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// readJSON decodes a small JSON body strictly; an empty body leaves v as is.
func (c *Control) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.s.writeError(w, r, http.StatusRequestEntityTooLarge, "request body too large")
			return false
		}
		c.s.writeError(w, r, http.StatusBadRequest, "unreadable request body")
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		c.s.writeError(w, r, http.StatusBadRequest, "request body: want one JSON object of the documented fields")
		return false
	}
	return true
}

// ClockState is the control API's view of the clock.
type ClockState struct {
	Now           time.Time `json:"now"`
	OffsetSeconds float64   `json:"offsetSeconds"`
}

func (c *Control) clockState() ClockState {
	return ClockState{Now: c.clock.now().UTC(), OffsetSeconds: time.Duration(c.clock.offset.Load()).Seconds()}
}

func (c *Control) getClock(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, c.clockState())
}

// maxAdvance bounds one advance: far enough for any token lifetime.
const maxAdvance = 366 * 24 * time.Hour

func (c *Control) advanceClock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Seconds *float64 `json:"seconds"`
	}
	if !c.readJSON(w, r, &in) {
		return
	}
	if in.Seconds == nil || *in.Seconds <= 0 || *in.Seconds > maxAdvance.Seconds() {
		c.s.writeError(w, r, http.StatusBadRequest, fmt.Sprintf("seconds: want a number above 0 and at most %.0f; the clock only moves forward", maxAdvance.Seconds()))
		return
	}
	c.Advance(time.Duration(*in.Seconds * float64(time.Second)))
	writeJSON(w, http.StatusOK, c.clockState())
}

func (c *Control) postReset(w http.ResponseWriter, r *http.Request) {
	in := struct {
		Windows *bool `json:"windows"`
		Tokens  *bool `json:"tokens"`
	}{}
	if !c.readJSON(w, r, &in) {
		return
	}
	windows, tokens := in.Windows == nil || *in.Windows, in.Tokens == nil || *in.Tokens
	revoked := c.reset(windows, tokens)
	writeJSON(w, http.StatusOK, map[string]any{"windows": windows, "tokens": tokens, "tokensRevoked": revoked})
}

// PartnerState is a partner and its current rate-limit window.
type PartnerState struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Window *WindowState `json:"window"` // null when no window is open
}

// WindowState is an open rate-limit window.
type WindowState struct {
	Count     int       `json:"count"`
	Limit     int       `json:"limit"`
	Remaining int       `json:"remaining"`
	Reset     time.Time `json:"reset"`
}

func (c *Control) getPartners(w http.ResponseWriter, _ *http.Request) {
	out := make([]PartnerState, 0, len(c.s.world.partners))
	limit := c.s.window.Policy().Requests
	for _, p := range c.s.world.partners {
		ps := PartnerState{ID: p.ID, Name: p.Name}
		if count, reset, ok := c.s.window.Peek("partner:" + p.ID); ok {
			ps.Window = &WindowState{Count: count, Limit: limit, Remaining: max(limit-count, 0), Reset: reset.UTC()}
		}
		out = append(out, ps)
	}
	slices.SortFunc(out, func(a, b PartnerState) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, map[string]any{"partners": out})
}

func (c *Control) getFaults(w http.ResponseWriter, _ *http.Request) {
	c.faultMu.Lock()
	out := slices.Clone(c.faults)
	c.faultMu.Unlock()
	if out == nil {
		out = []Fault{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"faults": out})
}

func (c *Control) postFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if !c.readJSON(w, r, &f) {
		return
	}
	f.ID = 0
	if err := f.validate(); err != nil {
		c.s.writeError(w, r, http.StatusBadRequest, "fault: "+err.Error())
		return
	}
	c.faultMu.Lock()
	if len(c.faults) >= maxFaults {
		c.faultMu.Unlock()
		c.s.writeError(w, r, http.StatusBadRequest, fmt.Sprintf("fault: at most %d pending; delete them first", maxFaults))
		return
	}
	c.nextFault++
	f.ID = c.nextFault
	c.faults = append(c.faults, f)
	c.pending.Store(int32(len(c.faults)))
	c.faultMu.Unlock()
	writeJSON(w, http.StatusCreated, f)
}

func (c *Control) deleteFaults(w http.ResponseWriter, _ *http.Request) {
	c.faultMu.Lock()
	c.faults = nil
	c.pending.Store(0)
	c.faultMu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"faults": []Fault{}})
}

// journalFilter reads the journal's query parameters.
func (c *Control) journalFilter(w http.ResponseWriter, r *http.Request) (filter, bool) {
	q := r.URL.Query()
	f := filter{partner: q.Get("partner"), operation: q.Get("operation"), errorCode: q.Get("errorCode"), limit: 100}
	bad := func(msg string) (filter, bool) {
		c.s.writeError(w, r, http.StatusBadRequest, msg)
		return filter{}, false
	}
	if s := q.Get("status"); s != "" {
		if len(s) == 3 && strings.HasSuffix(s, "xx") && s[0] >= '1' && s[0] <= '5' {
			f.status = int(s[0] - '0')
		} else if n, err := strconv.Atoi(s); err == nil && n >= 100 && n <= 599 {
			f.status = n
		} else {
			return bad("status: want a status such as 429 or a class such as 4xx")
		}
	}
	since := q.Get("since")
	if since == "" {
		since = r.Header.Get("Last-Event-ID")
	}
	if since != "" {
		n, err := strconv.ParseUint(since, 10, 64)
		if err != nil {
			return bad("since: want a sequence number")
		}
		f.since = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100000 {
			return bad("limit: want 1 to 100000")
		}
		f.limit = n
	}
	return f, true
}

func (c *Control) journalOff(w http.ResponseWriter, r *http.Request) bool {
	if c.journal == nil {
		c.s.writeError(w, r, http.StatusNotFound, "the journal is off")
		return true
	}
	return false
}

func (c *Control) getJournal(w http.ResponseWriter, r *http.Request) {
	if c.journalOff(w, r) {
		return
	}
	f, ok := c.journalFilter(w, r)
	if !ok {
		return
	}
	entries, last := c.journal.list(f)
	b := append(make([]byte, 0, 1024*len(entries)+32), `{"entries":[`...)
	var enc entryEncoder
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.appendJSON(b, false, &enc)
	}
	b = append(b, `],"last":`...)
	b = strconv.AppendUint(b, last, 10)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '}', '\n'))
}

func (c *Control) deleteJournal(w http.ResponseWriter, r *http.Request) {
	if c.journalOff(w, r) {
		return
	}
	c.journal.clear()
	writeJSON(w, http.StatusOK, map[string]any{"entries": []Entry{}})
}

// StreamInterval bounds how late a journal stream sends an entry. A stream
// that has just sent something waits this long (or until half the journal's
// ring is unsent, so no entry is overwritten before it goes out) and then
// sends everything that came meanwhile in one write; an entry that comes
// while the stream is idle goes out at once. Under load that is one wake-up, one write and
// one flush per interval instead of one per request, which the request path
// would otherwise pay for in contention and the machine in CPU.
const StreamInterval = 100 * time.Millisecond

// streamJournal sends matching entries as server-sent events (event
// "entry", id the seq), first those after since, then live ones, each at
// most StreamInterval after it was added.
func (c *Control) streamJournal(w http.ResponseWriter, r *http.Request) {
	if c.journalOff(w, r) {
		return
	}
	f, ok := c.journalFilter(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Get("since") == "" && r.Header.Get("Last-Event-ID") == "" {
		f.since = c.journal.last() // live entries only
	}
	f.limit = 0
	rc := http.NewResponseController(w)
	// A stream outlives the server's timeouts: the write timeout cuts it
	// (TestJournalStreamOutlivesTimeouts); the read deadline is cleared too,
	// so the connection's background read cannot time out under it.
	rc.SetWriteDeadline(time.Time{})
	rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": milliGOLD sandbox journal\n\n")
	rc.Flush()
	wake := c.journal.subscribe()
	defer c.journal.unsubscribe(wake)
	var buf []byte
	var enc entryEncoder
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		entries, last := c.journal.list(f)
		keep := len(entries) > 0 && c.journal.streams() > 1
		buf = buf[:0]
		for i, e := range entries {
			buf = append(buf, "id: "...)
			buf = strconv.AppendUint(buf, e.Seq, 10)
			buf = append(buf, "\nevent: entry\ndata: "...)
			buf = e.appendJSON(buf, keep, &enc)
			buf = append(buf, "\n\n"...)
			if i%64 == 63 {
				// A long batch yields now and then, so it does not hold
				// a core for milliseconds while requests wait.
				runtime.Gosched()
			}
		}
		if len(buf) > 0 {
			if _, err := w.Write(buf); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
		busy := last > f.since // new entries came, matching or not
		f.since = max(f.since, last)
		if busy {
			// Poll again after the interval instead of waking for each
			// entry; what comes meanwhile goes out together, sooner if
			// half the ring fills first.
			select {
			case <-r.Context().Done():
				return
			case <-c.streams:
				return
			case <-c.after(c.streamInterval):
			case <-c.journal.reached(wake, f.since+c.journal.backlog()):
			}
			continue
		}
		select {
		case <-r.Context().Done():
			return
		case <-c.streams:
			return
		case <-c.journal.reached(wake, f.since+1):
		case <-keepalive.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}
