package sandbox

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// entryEncoder appends entries as encoding/json would encode them (the
// same fields, omissions and escaping), without reflection: a journal
// stream encodes every request it sends, and encoding/json took several
// microseconds per entry. An encoder serves one goroutine (a stream, or one
// list answer) and keeps what repeats from one entry to the next: the
// formatted second of each time field and the last answer body's JSON.
// TestEntryJSON and FuzzEntryJSON hold it to encoding/json.
type entryEncoder struct {
	time, clock, reset timeCache
	fields             []field // a header map's fields, sorted by name
	body               string  // the last answer body encoded, and its JSON
	bodyJSON           []byte
}

// appendJSON appends e's JSON (a fresh encoder, for tests and one-offs).
func (e *Entry) appendJSON(b []byte) []byte {
	var enc entryEncoder
	return enc.entry(b, e)
}

func (enc *entryEncoder) entry(b []byte, e *Entry) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"time":`...)
	b = enc.time.append(b, e.Time)
	b = append(b, `,"clock":`...)
	b = enc.clock.append(b, e.Clock)
	b = appendStringField(b, "method", e.Method, false)
	b = appendStringField(b, "path", e.Path, false)
	b = appendStringField(b, "operation", e.Operation, true)
	b = appendStringField(b, "partner", e.Partner, true)
	b = appendStringField(b, "client", e.Client, false)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"latencyMicros":`...)
	b = strconv.AppendInt(b, e.LatencyMicros, 10)
	b = appendStringField(b, "errorCode", e.ErrorCode, true)
	b = appendStringField(b, "error", e.Error, true)
	b = appendStringField(b, "control", e.Control, true)
	if e.Limit != 0 {
		b = append(b, `,"limit":`...)
		b = strconv.AppendInt(b, int64(e.Limit), 10)
	}
	if e.Remaining != nil {
		b = append(b, `,"remaining":`...)
		b = strconv.AppendInt(b, int64(*e.Remaining), 10)
	}
	if e.Reset != nil {
		b = append(b, `,"reset":`...)
		b = enc.reset.append(b, *e.Reset)
	}
	b = append(b, `,"request":`...)
	b = enc.message(b, &e.Request, false)
	b = append(b, `,"response":`...)
	b = enc.message(b, &e.Response, true)
	return append(b, '}')
}

// message appends m. An answer's body is mostly the one before it again
// (the same constant answer): its JSON is reused when the text is equal.
func (enc *entryEncoder) message(b []byte, m *Message, answer bool) []byte {
	b = append(b, '{')
	mark := len(b)
	if !m.Headers.IsZero() {
		b = append(b, `"headers":`...)
		b = enc.headers(b, m.Headers)
	}
	if m.Body != "" {
		if len(b) > mark {
			b = append(b, ',')
		}
		b = append(b, `"body":`...)
		switch {
		case !answer:
			b = appendJSONString(b, m.Body)
		case m.Body == enc.body:
			b = append(b, enc.bodyJSON...)
		default:
			start := len(b)
			b = appendJSONString(b, m.Body)
			enc.body, enc.bodyJSON = m.Body, append(enc.bodyJSON[:0], b[start:]...)
		}
	}
	return append(b, '}')
}

// headers appends h as an object sorted by name, as encoding/json writes a
// map (a repeated name keeps its last value).
func (enc *entryEncoder) headers(b []byte, h Headers) []byte {
	if h.h != nil {
		// A header map, redacted as it is written.
		fields := enc.fields[:0]
		for k, vs := range h.h {
			fields = append(fields, field{k, vs})
		}
		slices.SortFunc(fields, func(x, y field) int { return strings.Compare(x.name, y.name) })
		b = append(b, '{')
		for i, f := range fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, f.name)
			b = append(b, ':')
			b = appendJSONString(b, redactValue(f.name, f.values))
		}
		clear(fields) // keep nothing of past requests alive
		enc.fields = fields[:0]
		return append(b, '}')
	}
	return h.appendJSON(b)
}

type field struct {
	name   string
	values []string
}

func appendStringField(b []byte, name, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

// appendJSON writes kv fields as an object sorted by name, as
// encoding/json writes a map (a repeated name keeps its last value).
func (h Headers) appendJSON(b []byte) []byte {
	idx := make([]int, 0, len(h.kv)/2)
	for i := 0; i+1 < len(h.kv); i += 2 {
		idx = append(idx, i)
	}
	slices.SortStableFunc(idx, func(x, y int) int {
		switch {
		case h.kv[x] < h.kv[y]:
			return -1
		case h.kv[x] > h.kv[y]:
			return 1
		}
		return 0
	})
	b = append(b, '{')
	first := true
	for n, i := range idx {
		if n+1 < len(idx) && h.kv[idx[n+1]] == h.kv[i] {
			continue // a later duplicate wins
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, h.kv[i])
		b = append(b, ':')
		b = appendJSONString(b, h.kv[i+1])
	}
	return append(b, '}')
}

// timeCache appends a time as encoding/json does (RFC 3339 with
// nanoseconds, quoted), formatting its second and zone only when they
// differ from the last time's: formatting the whole time was a third of an
// entry's encoding, and a stream's entries mostly share their second.
type timeCache struct {
	sec    int64
	loc    *time.Location
	prefix []byte // `"2006-01-02T15:04:05`
	zone   []byte // `Z07:00"`
}

func (c *timeCache) append(b []byte, t time.Time) []byte {
	// A location and a second fix the date, the time of day and the offset.
	if sec, loc := t.Unix(), t.Location(); c.prefix == nil || sec != c.sec || loc != c.loc {
		c.prefix = t.AppendFormat(append(c.prefix[:0], '"'), "2006-01-02T15:04:05")
		c.zone = append(t.AppendFormat(c.zone[:0], "Z07:00"), '"')
		c.sec, c.loc = sec, loc
	}
	b = append(b, c.prefix...)
	if ns := t.Nanosecond(); ns != 0 {
		// ".999999999": nine digits, trailing zeros dropped.
		var d [10]byte
		d[0] = '.'
		for i := 9; i > 0; i-- {
			d[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for d[n-1] == '0' {
			n--
		}
		b = append(b, d[:n]...)
	}
	return append(b, c.zone...)
}

const hexDigits = "0123456789abcdef"

// entryJSONPlain marks the bytes appendJSONString copies as they are: printable
// ASCII other than the quote, the backslash and the HTML-sensitive <, >, &.
// One load per byte instead of six comparisons: a stream encodes every
// header and body the journal keeps.
var entryJSONPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString quotes s as encoding/json does: HTML-safe, invalid UTF-8
// as U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if entryJSONPlain[s[i]] {
			i++
			continue
		}
		if c := s[i]; c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
