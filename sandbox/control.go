package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/ratelimit"
)

// ControlPrefix is where the control API (ControlPrefix+"api/…") and the
// console (ControlPrefix) are served when the sandbox is built by
// NewWithControl. Without it, every path under the prefix is the API's 404.
const ControlPrefix = "/_sandbox/"

// ControlOptions configures the control API; the zero value is usable.
type ControlOptions struct {
	// Token guards the control API (Authorization: Bearer TOKEN). Empty
	// means a random one, which Control.Token returns for the banner.
	Token string
	// JournalSize is how many requests the journal keeps; 0 means
	// DefaultJournalSize, a negative value turns the journal off.
	JournalSize int
}

// DefaultJournalSize is the journal's capacity when ControlOptions leaves it 0.
const DefaultJournalSize = 1000

// Bounds on what a control request may ask for.
const (
	maxFaultCount   = 10000
	maxFaultDelay   = 30 * time.Second
	maxFaults       = 100
	maxIssuedTokens = 1 << 16
)

// Control is the sandbox's control API: a movable clock, state resets,
// faults on demand, Prefer headers and the request journal. It is safe for
// concurrent use. It exists only on a sandbox built by NewWithControl.
type Control struct {
	s       *Sandbox
	token   string
	clock   clock
	journal *journal // nil when off
	mux     *http.ServeMux
	streams chan struct{} // closed by CloseStreams

	// How a journal stream waits between sends: StreamInterval and
	// time.After, which tests replace (export_test.go).
	streamInterval time.Duration
	after          func(time.Duration) <-chan time.Time

	faultMu   sync.Mutex
	faults    []Fault
	nextFault int
	// len(faults), read without faultMu: every request asks for a fault,
	// and there is mostly none to take.
	pending atomic.Int32

	plainBody atomic.Pointer[string]      // see Control.redactBody
	lastPath  atomic.Pointer[lastEscaped] // see Control.escapedPath

	// The journal's last header objects (see headerCache).
	requestHeaders, responseHeaders headerCache

	tokenMu sync.Mutex
	issued  map[string]issuedToken // tokens this sandbox issued, for reset
	gen     int                    // tokens issued in an earlier generation are revoked
	// gen > 0, read without tokenMu: every authenticated request asks
	// whether its token was revoked, and before a reset none was.
	resetOnce atomic.Bool
	closing   sync.Once
}

type issuedToken struct {
	gen int
	exp time.Time
}

// NewWithControl is New with the control API, the Prefer headers and the
// journal on. Serve it on loopback only: see CheckControlAddr.
func NewWithControl(cfg Config, o ControlOptions) (*Sandbox, error) {
	token := o.Token
	if token == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("sandbox: control token: %w", err)
		}
		token = "sbx_" + hex.EncodeToString(b)
	}
	c := &Control{token: token, issued: map[string]issuedToken{}, streams: make(chan struct{}),
		streamInterval: StreamInterval, after: time.After}
	switch {
	case o.JournalSize == 0:
		c.journal = newJournal(DefaultJournalSize)
	case o.JournalSize > 0:
		c.journal = newJournal(o.JournalSize)
	}
	s, err := build(cfg, c)
	if err != nil {
		return nil, err
	}
	c.routes()
	return s, nil
}

// Control returns the control API, or nil when the sandbox was built by New.
func (s *Sandbox) Control() *Control { return s.ctl }

// Token returns the control token (never a partner's secret).
func (c *Control) Token() string { return c.token }

// Now is the sandbox's clock: the configured one plus what Advance added.
func (c *Control) Now() time.Time { return c.clock.now() }

// Advance moves the sandbox's clock forward by d (a negative d is ignored):
// tokens expire and windows reset as if d had passed.
func (c *Control) Advance(d time.Duration) {
	if d > 0 {
		c.clock.offset.Add(int64(d))
	}
}

// CloseStreams ends the journal's event streams, so a graceful shutdown
// does not wait for them.
func (c *Control) CloseStreams() { c.closing.Do(func() { close(c.streams) }) }

// CheckControlAddr refuses to serve the control API on addr unless addr is a
// loopback address or allowRemote is set: the control token travels in the
// clear and the API can revoke every partner's tokens.
func CheckControlAddr(addr string, allowRemote bool) error {
	if allowRemote {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("control API: listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("control API: listen address %q is not loopback; serve it on 127.0.0.1 or allow it explicitly", addr)
	}
	return nil
}

// clock is the configured clock plus an offset the control API moves.
type clock struct {
	base   func() time.Time
	offset atomic.Int64
	wall   bool // base is time.Now
}

func (c *clock) wrap(base func() time.Time) func() time.Time {
	c.base = base
	return c.now
}

func (c *clock) now() time.Time { return c.moved(c.base()) }

// at is the clock when the wall clock read t: t plus the offset when the
// base is the wall clock (no second reading of it), else the clock now.
func (c *clock) at(t time.Time) time.Time {
	if c.wall && !t.IsZero() {
		return c.moved(t)
	}
	return c.now()
}

// moved is t plus the offset. Until the clock is advanced the offset is 0,
// and t.Add(0) is t: not adding saves a request two calls of Add.
func (c *clock) moved(t time.Time) time.Time {
	if d := c.offset.Load(); d != 0 {
		return t.Add(time.Duration(d))
	}
	return t
}

// revoked reports whether token was issued before the last reset.
func (c *Control) revoked(token string) bool {
	if !c.resetOnce.Load() {
		return false
	}
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	t, ok := c.issued[token]
	return ok && t.gen < c.gen
}

func (c *Control) noteIssued(token string, exp time.Time) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if len(c.issued) >= maxIssuedTokens {
		now := c.clock.now()
		for k, t := range c.issued {
			if !now.Before(t.exp) {
				delete(c.issued, k)
			}
		}
		if len(c.issued) >= maxIssuedTokens {
			return // a token not noted survives a reset; expiry still ends it
		}
	}
	c.issued[token] = issuedToken{gen: c.gen, exp: exp}
}

// reset closes every window and revokes every token issued so far.
func (c *Control) reset(windows, tokens bool) (revoked int) {
	if windows {
		c.s.window.Reset()
	}
	if tokens {
		c.tokenMu.Lock()
		now := c.clock.now()
		for k, t := range c.issued {
			if t.gen == c.gen && now.Before(t.exp) {
				revoked++
			}
			if !now.Before(t.exp) {
				delete(c.issued, k)
			}
		}
		c.gen++
		c.resetOnce.Store(true)
		c.tokenMu.Unlock()
	}
	return revoked
}

var errRevoked = errors.New("token revoked by a reset")

// Fault is a pending fault: the next Count answers of Operation (for
// Partner only, when set) get Status in the API's envelope, wait Delay
// first, or lose their connection.
type Fault struct {
	ID        int    `json:"id"`
	Operation string `json:"operation"`
	Partner   string `json:"partner,omitempty"`
	Count     int    `json:"count"`
	Status    int    `json:"status,omitempty"`
	DelayMs   int    `json:"delayMs,omitempty"`
	Drop      bool   `json:"drop,omitempty"`
}

func (f *Fault) validate() error {
	if _, ok := operationByID(f.Operation); !ok {
		return fmt.Errorf("operation %q is not in the spec", f.Operation)
	}
	if f.Count == 0 {
		f.Count = 1
	}
	switch {
	case f.Count < 0 || f.Count > maxFaultCount:
		return fmt.Errorf("count %d: want 1 to %d", f.Count, maxFaultCount)
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return fmt.Errorf("status %d: want a 4xx or 5xx", f.Status)
	case f.DelayMs < 0 || time.Duration(f.DelayMs)*time.Millisecond > maxFaultDelay:
		return fmt.Errorf("delayMs %d: want 0 to %d", f.DelayMs, maxFaultDelay.Milliseconds())
	case f.Drop && f.Status != 0:
		return errors.New("drop and status exclude each other")
	case !f.Drop && f.Status == 0 && f.DelayMs == 0:
		return errors.New("a fault needs a status, a delayMs or drop")
	}
	return nil
}

func operationByID(id string) (middleware.Operation, bool) {
	for _, op := range middleware.Operations {
		if op.ID == id {
			return op, true
		}
	}
	return middleware.Operation{}, false
}

// takeFault consumes one answer of the first pending fault that matches.
func (c *Control) takeFault(op, partner string) (Fault, bool) {
	if c.pending.Load() == 0 {
		return Fault{}, false
	}
	c.faultMu.Lock()
	defer c.faultMu.Unlock()
	for i := range c.faults {
		f := &c.faults[i]
		if f.Operation != op || (f.Partner != "" && f.Partner != partner) {
			continue
		}
		f.Count--
		taken := *f
		if f.Count == 0 {
			c.faults = append(c.faults[:i], c.faults[i+1:]...)
			c.pending.Store(int32(len(c.faults)))
		}
		return taken, true
	}
	return Fault{}, false
}

// noteOperation records the route's operation for the journal.
func noteOperation(id string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info(r.Context()).operation = id
		next(w, r)
	}
}

// middleware runs inside the generated auth and rate-limit middleware: a
// request that reaches it is authenticated and counted. It applies Prefer
// headers and pending faults, and notes issued tokens for reset.
func (c *Control) middleware(next api.StrictHandlerFunc, goName string) api.StrictHandlerFunc {
	op, known := middleware.OperationByGoName(goName)
	if !known {
		return next
	}
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, request any) (any, error) {
		ri := info(ctx)
		partner := ri.partner
		if req, ok := request.(api.CreateAccessTokenRequestObject); ok && req.Body != nil && partner == "" {
			partner = req.Body.PartnerId
		}
		// r.Header.Get("Prefer") without canonicalizing a canonical name.
		if prefer := r.Header["Prefer"]; len(prefer) > 0 && prefer[0] != "" {
			if handled := c.prefer(ctx, w, r, op, partner, prefer[0]); handled {
				return nil, nil
			}
		}
		if f, ok := c.takeFault(op.ID, partner); ok {
			ri.control = fmt.Sprintf("fault %d", f.ID)
			if f.DelayMs > 0 {
				ri.control += fmt.Sprintf(": delayed %dms", f.DelayMs)
				t := time.NewTimer(time.Duration(f.DelayMs) * time.Millisecond)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
			}
			switch {
			case f.Drop:
				ri.control += ": connection dropped"
				ri.dropped = true
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					conn.Close()
					return nil, nil
				}
				panic(http.ErrAbortHandler) // net/http closes the connection without an answer
			case f.Status != 0:
				ri.control += fmt.Sprintf(": status %d", f.Status)
				c.writeStatus(ctx, w, r, f.Status, partner, nil)
				return nil, nil
			}
		}
		resp, err := next(ctx, w, r, request)
		if tok, ok := tokenIssued(resp); ok {
			c.noteIssued(tok.AccessToken, time.Unix(tok.CreatedAt, 0).Add(time.Duration(tok.ExpiresIn)*time.Second))
		}
		return resp, err
	}
}

// writeStatus answers status in the envelope (with the rate-limit headers
// for a 429), or with body when it is not nil.
func (c *Control) writeStatus(ctx context.Context, w http.ResponseWriter, r *http.Request, status int, partner string, body []byte) {
	if status == http.StatusTooManyRequests {
		p := c.s.window.Policy()
		d := ratelimit.Decision{Limit: p.Requests, Reset: c.clock.now().Add(p.Window)}
		if partner != "" {
			if _, reset, ok := c.s.window.Peek("partner:" + partner); ok {
				d.Reset = reset
			}
		}
		p.SetHeaders(w.Header(), d)
	}
	if body == nil {
		msg := http.StatusText(status)
		if status == http.StatusTooManyRequests {
			msg = "too many requests"
		}
		c.s.writeError(w, r.WithContext(ctx), status, strings.ToLower(msg))
		return
	}
	info(ctx).message = "example from the spec"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// prefer applies a Prefer header as Stoplight Prism reads it: code=NNN
// answers that status, example=NAME answers the spec's example of that name
// (a response's single example is named "example"). It reports whether it
// answered.
func (c *Control) prefer(ctx context.Context, w http.ResponseWriter, r *http.Request, op middleware.Operation, partner, header string) bool {
	code, example := 0, ""
	for _, part := range strings.FieldsFunc(header, func(r rune) bool { return r == ',' || r == ';' }) {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "code":
			n, err := strconv.Atoi(v)
			if err != nil || n < 200 || n > 599 {
				c.preferError(ctx, w, r, "Prefer: code must be a status from 200 to 599")
				return true
			}
			code = n
		case "example":
			example = v
		}
	}
	if code == 0 && example == "" {
		return false
	}
	ri := info(ctx)
	ri.control = "Prefer: " + header
	specOp := c.s.spec.Paths.Find(op.Path).GetOperation(op.Method)
	if example == "" {
		if code < 400 {
			if code != op.Success {
				c.preferError(ctx, w, r, fmt.Sprintf("Prefer: code=%d is not a documented success of %s", code, op.ID))
				return true
			}
			return false // the documented success: answer normally
		}
		c.writeStatus(ctx, w, r, code, partner, nil)
		return true
	}
	if code == 0 {
		code = op.Success
	}
	ref := specOp.Responses.Status(code)
	if ref == nil || ref.Value == nil || ref.Value.Content.Get("application/json") == nil {
		c.preferError(ctx, w, r, fmt.Sprintf("Prefer: %s documents no JSON answer with status %d", op.ID, code))
		return true
	}
	mt := ref.Value.Content.Get("application/json")
	var value any
	var names []string
	if mt.Example != nil {
		names = append(names, "example")
		if example == "example" {
			value = mt.Example
		}
	}
	for name, ex := range mt.Examples {
		names = append(names, name)
		if name == example && ex.Value != nil {
			value = ex.Value.Value
		}
	}
	if value == nil {
		c.preferError(ctx, w, r, fmt.Sprintf("Prefer: %s %d has no example %q (has %q)", op.ID, code, example, names))
		return true
	}
	body, err := json.Marshal(value)
	if err != nil {
		c.preferError(ctx, w, r, "Prefer: the example does not encode as JSON")
		return true
	}
	c.writeStatus(ctx, w, r, code, partner, append(body, '\n'))
	return true
}

func (c *Control) preferError(ctx context.Context, w http.ResponseWriter, r *http.Request, msg string) {
	info(ctx).control = "Prefer refused"
	c.s.writeError(w, r.WithContext(ctx), http.StatusBadRequest, msg)
}
