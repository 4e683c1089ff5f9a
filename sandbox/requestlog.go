package sandbox

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/milligold/milligold-go/internal/logbuf"
)

// NewTextLog returns the request log `milligold sandbox` writes: slog's text
// handler over a buffer, so a busy sandbox makes one write system call per
// batch of lines instead of one per request. Every line is still written:
// within logbuf.DefaultInterval (100 ms), when the buffer fills, and on
// Close, which the caller must call before exiting (after Serve returns, also
// on SIGINT and SIGTERM). Close does not close w. The logger is safe for
// concurrent use.
func NewTextLog(w io.Writer) (*slog.Logger, io.Closer) {
	b := logbuf.New(w)
	return slog.New(&textHandler{TextHandler: slog.NewTextHandler(b, nil), w: b}), b
}

// DefaultGCPercent is the garbage collection target `milligold sandbox`
// serves with (its --gc-percent flag; GOGC in the environment wins over
// this default). The sandbox keeps a few MiB live and allocates about a
// kilobyte per request, so at Go's default of 100 a loaded sandbox collects
// dozens of times a second; at 400 the heap may grow to about five times the
// live data between collections (tens of MiB under load, nothing at idle)
// and collections are a quarter as frequent.
const DefaultGCPercent = 400

// textHandler is NewTextLog's handler: slog's TextHandler without options,
// plus a fast path for the request line that writes the bytes TextHandler
// would (a test holds it to that). Through slog, the line was over a third
// of a gold-rate request's handling.
type textHandler struct {
	*slog.TextHandler
	w io.Writer // safe for concurrent use; takes each line whole
}

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// requestLine writes what finish would log through slog.
func (h *textHandler) requestLine(end time.Time, method, path string, status int, partner string, latency time.Duration, errorCode string) {
	bp := lineBufs.Get().(*[]byte)
	b := append((*bp)[:0], "time="...)
	b = appendRFC3339Millis(b, end.Round(0))
	b = append(b, " level=INFO msg=request method="...)
	b = appendText(b, method)
	b = append(b, " path="...)
	b = appendText(b, path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, " partner="...)
	b = appendText(b, partner)
	b = append(b, " latency="...)
	b = append(b, latency.String()...) // as slog appends a duration: never quoted
	b = append(b, " errorCode="...)
	b = appendText(b, errorCode)
	b = append(b, '\n')
	h.w.Write(b)
	*bp = b
	lineBufs.Put(bp)
}

// Handle implements slog.Handler (for every other line).
func (h *textHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.TextHandler.Handle(ctx, r)
}

// appendRFC3339Millis is slog's time format: RFC 3339, milliseconds, truncated.
// The text of the second (date, time, zone) is made once a second and
// reused: formatting the whole time per line was a twentieth of a gold-rate
// request's instructions.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	st := stamps.Load()
	if st == nil || st.sec != sec || st.loc != loc {
		st = newStamp(t, sec, loc)
		stamps.Store(st)
	}
	ms := t.Nanosecond() / 1e6
	b = append(b, st.before...)
	b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, st.after...)
}

// stamp is one second's RFC 3339 text around its milliseconds.
type stamp struct {
	sec           int64
	loc           *time.Location
	before, after []byte // "2006-01-02T15:04:05." and "Z07:00"
}

var stamps atomic.Pointer[stamp]

func newStamp(t time.Time, sec int64, loc *time.Location) *stamp {
	whole := formatRFC3339Millis(nil, time.Unix(sec, 0).In(loc))
	dot := bytes.LastIndexByte(whole, '.') // the fraction's: a zone has none
	return &stamp{sec: sec, loc: loc, before: whole[:dot+1], after: whole[dot+4:]}
}

// formatRFC3339Millis is appendRFC3339Millis the slow way, through
// time.AppendFormat.
func formatRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...) // drop the 4th digit
}

// escapedPath is u.EscapedPath(): without a RawPath, a path none of whose
// bytes the URL escapes is its own escaped form (a scan of a table, where
// url's escape asks a function per byte: a fortieth of a gold-rate
// request's instructions).
func escapedPath(u *url.URL) string {
	if u.RawPath == "" {
		p := u.Path
		i := 0
		for i < len(p) && pathVerbatim[p[i]] {
			i++
		}
		if i == len(p) {
			return p
		}
	}
	return u.EscapedPath()
}

// pathVerbatim marks the bytes url.URL.EscapedPath leaves as they are,
// asked of it ("/*" alone is its own: "*" is a special case).
var pathVerbatim = func() (t [256]bool) {
	for c := range t {
		p := "/" + string(byte(c))
		t[c] = (&url.URL{Path: p}).EscapedPath() == p
	}
	return t
}()

// appendText appends s as slog's text handler writes a string value.
func appendText(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// plain8 reports whether each of x's eight bytes is plain: from '!' to '~',
// neither '=' nor '"'. The word tests are "Bit Twiddling Hacks"' hasless,
// hasmore and haszero, each exact as to whether some byte is one.
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	below := (x - ones*'!') &^ x
	above := (x + ones*(127-'~')) | x
	eq, quote := x^(ones*'='), x^(ones*'"')
	eq = (eq - ones) &^ eq
	quote = (quote - ones) &^ quote
	return (below|above|eq|quote)&highs == 0
}

// plain marks the ASCII bytes slog writes unquoted: printable, not '=' or '"'.
var plain = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = c != '=' && c != '"'
	}
	return t
}()

// needsQuoting is slog's rule: empty, a space, '=', a character JSON would
// escape (backslash aside), or a non-printing or space rune. Eight bytes at
// a time while all are plain (the request line's method, path and partner
// usually are): byte by byte, this was a fourteenth of a gold-rate
// request's instructions.
func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8] // one bounds check; the compiler makes the eight loads one
		if !plain8(uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56) {
			break // the loop below finds which, and what slog makes of it
		}
	}
	for i < len(s) {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			if c != '\\' && (c <= ' ' || c == '=' || c == '"') {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}
