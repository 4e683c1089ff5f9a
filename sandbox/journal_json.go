package sandbox

import (
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// entryEncoder appends entries as encoding/json would encode them (the
// same fields, omissions and escaping), without reflection: a journal
// stream encodes every request it sends, and encoding/json took several
// microseconds per entry. An encoder serves one goroutine (a stream, or one
// list answer) and keeps what repeats from one entry to the next, which
// under load is most of an entry: the formatted second of each time field,
// the JSON of the last value of each string field that repeats (method,
// path, operation, partner, client, the answer's body) and of the last
// header object of the request and of the answer. TestEntryJSON and
// FuzzEntryJSON hold it to encoding/json.
type entryEncoder struct {
	time, clock, reset              timeCache
	who                             lastWho
	body                            lastString // the answer's
	requestHeaders, responseHeaders lastHeaders
	fields                          []field // a header map's fields, sorted by name
}

// lastWho is the last entry's method, path, operation, partner and client
// (what repeats together from one request to the next), with their JSON:
// one comparison each and one copy, where a lastString per field was a
// sixth of an entry's encoding.
type lastWho struct {
	method, path, operation, partner, client string
	json                                     []byte
}

func (c *lastWho) append(b []byte, e *Entry) []byte {
	if c.json == nil || e.Method != c.method || e.Path != c.path || e.Operation != c.operation || e.Partner != c.partner || e.Client != c.client {
		j := appendStringField(c.json[:0], "method", e.Method, false)
		j = appendStringField(j, "path", e.Path, false)
		j = appendStringField(j, "operation", e.Operation, true)
		j = appendStringField(j, "partner", e.Partner, true)
		j = appendStringField(j, "client", e.Client, false)
		c.json, c.method, c.path, c.operation, c.partner, c.client = j, e.Method, e.Path, e.Operation, e.Partner, e.Client
	}
	return append(b, c.json...)
}

// lastString is the last string a field had, with its JSON.
type lastString struct {
	s    string
	json []byte
}

// append appends s's JSON (made again only when s is not the last string).
func (c *lastString) append(b []byte, s string) []byte {
	if s != c.s || c.json == nil {
		c.s, c.json = s, appendJSONString(c.json[:0], s)
	}
	return append(b, c.json...)
}

// lastHeaders is the last header object a map made: its fields, each with
// its one value as redacted, and its JSON.
type lastHeaders struct {
	fields []shownField
	json   []byte
}

type shownField struct{ name, value string }

// same reports that h makes the object c holds: as many names, each of
// c's in h with one value that redacts to the same string. It looks the
// names up rather than ranging over h: a small map's lookup compares a few
// strings, and ranging starts with a random number.
func (c *lastHeaders) same(h http.Header) bool {
	if c.json == nil || len(h) != len(c.fields) {
		return false
	}
	for _, f := range c.fields {
		vs, ok := h[f.name]
		if !ok || len(vs) != 1 || redactValue(f.name, vs) != f.value {
			return false
		}
	}
	return true // c's names are distinct (they came from a map): h has no other
}

// appendJSON appends e's JSON (a fresh encoder, for tests and one-offs).
func (e *Entry) appendJSON(b []byte) []byte {
	var enc entryEncoder
	return enc.entry(b, e)
}

func (enc *entryEncoder) entry(b []byte, e *Entry) []byte {
	b = append(b, `{"seq":`...)
	b = appendUint(b, e.Seq)
	b = append(b, `,"time":`...)
	b = enc.time.append(b, e.Time)
	b = append(b, `,"clock":`...)
	b = enc.clock.append(b, e.Clock)
	b = enc.who.append(b, e)
	b = append(b, `,"status":`...)
	b = appendInt(b, int64(e.Status))
	b = append(b, `,"latencyMicros":`...)
	b = appendInt(b, e.LatencyMicros)
	b = appendStringField(b, "errorCode", e.ErrorCode, true)
	b = appendStringField(b, "error", e.Error, true)
	b = appendStringField(b, "control", e.Control, true)
	if e.Limit != 0 {
		b = append(b, `,"limit":`...)
		b = appendInt(b, int64(e.Limit))
	}
	if e.Remaining != nil {
		b = append(b, `,"remaining":`...)
		b = appendInt(b, int64(*e.Remaining))
	}
	if e.Reset != nil {
		b = append(b, `,"reset":`...)
		b = enc.reset.append(b, *e.Reset)
	}
	b = append(b, `,"request":`...)
	b = enc.message(b, &e.Request, &enc.requestHeaders, nil)
	b = append(b, `,"response":`...)
	b = enc.message(b, &e.Response, &enc.responseHeaders, &enc.body)
	return append(b, '}')
}

// message appends m; body, if not nil, caches its body's JSON.
func (enc *entryEncoder) message(b []byte, m *Message, headers *lastHeaders, body *lastString) []byte {
	b = append(b, '{')
	mark := len(b)
	if !m.Headers.IsZero() {
		b = append(b, `"headers":`...)
		b = enc.headers(b, m.Headers, headers)
	}
	if m.Body != "" {
		if len(b) > mark {
			b = append(b, ',')
		}
		b = append(b, `"body":`...)
		if body != nil {
			b = body.append(b, m.Body)
		} else {
			b = appendJSONString(b, m.Body)
		}
	}
	return append(b, '}')
}

// headers appends h as an object sorted by name, as encoding/json writes a
// map (a repeated name keeps its last value). A header map's object is
// kept in last, and reused while maps make the same one.
func (enc *entryEncoder) headers(b []byte, h Headers, last *lastHeaders) []byte {
	if h.o != nil {
		if h.o.json != nil {
			return append(b, h.o.json...)
		}
		return h.appendJSON(b)
	}
	if last.same(h.h) {
		return append(b, last.json...)
	}
	// A header map, redacted as it is written.
	fields := enc.fields[:0]
	for k, vs := range h.h {
		fields = append(fields, field{k, vs})
	}
	slices.SortFunc(fields, func(x, y field) int { return strings.Compare(x.name, y.name) })
	start := len(b)
	b = append(b, '{')
	shown, cacheable := last.fields[:0], true
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		v := redactValue(f.name, f.values)
		b = appendJSONString(b, f.name)
		b = append(b, ':')
		b = appendJSONString(b, v)
		shown = append(shown, shownField{f.name, v})
		cacheable = cacheable && len(f.values) == 1
	}
	b = append(b, '}')
	clear(fields) // keep nothing of past requests alive
	enc.fields = fields[:0]
	last.fields = shown
	if cacheable {
		last.json = append(last.json[:0], b[start:]...)
	} else {
		last.json = nil
	}
	return b
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
	kv := h.fields()
	idx := make([]int, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		idx = append(idx, i)
	}
	slices.SortStableFunc(idx, func(x, y int) int {
		switch {
		case kv[x] < kv[y]:
			return -1
		case kv[x] > kv[y]:
			return 1
		}
		return 0
	})
	b = append(b, '{')
	first := true
	for n, i := range idx {
		if n+1 < len(idx) && kv[idx[n+1]] == kv[i] {
			continue // a later duplicate wins
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, kv[i])
		b = append(b, ':')
		b = appendJSONString(b, kv[i+1])
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
	if ns := uint64(t.Nanosecond()); ns != 0 {
		// ".999999999": nine digits, trailing zeros dropped.
		var d [10]byte
		d[0] = '.'
		for i := 9; i > 1; i -= 2 {
			q := ns / 100
			r := (ns - q*100) * 2
			d[i-1], d[i] = digitPairs[r], digitPairs[r+1]
			ns = q
		}
		d[1] = byte('0' + ns)
		n := 10
		for d[n-1] == '0' {
			n--
		}
		b = append(b, d[:n]...)
	}
	return append(b, c.zone...)
}

// digitPairs is "00" to "99".
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendUint appends v in decimal, as strconv.AppendUint(b, v, 10) does,
// two digits at a time into a buffer on the stack: strconv's general path
// was a tenth of an entry's encoding.
func appendUint(b []byte, v uint64) []byte {
	var d [20]byte
	i := len(d)
	for v >= 100 {
		q := v / 100
		r := (v - q*100) * 2
		i -= 2
		d[i], d[i+1] = digitPairs[r], digitPairs[r+1]
		v = q
	}
	if v >= 10 {
		i -= 2
		d[i], d[i+1] = digitPairs[v*2], digitPairs[v*2+1]
	} else {
		i--
		d[i] = byte('0' + v)
	}
	return append(b, d[i:]...)
}

// appendInt appends v in decimal, as strconv.AppendInt(b, v, 10) does.
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return appendUint(append(b, '-'), -uint64(v)) // -uint64 is right for math.MinInt64 too
	}
	return appendUint(b, uint64(v))
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

// plainWords returns i moved on by 8 bytes at a time while none of the 8
// needs escaping (entryJSONPlain for all 8): where fewer than 8 remain, or
// at the word that holds the first byte to escape. It tests each word's 8
// bytes together: a table lookup per byte was most of an entry's encoding.
// Each test sets a byte's high bit where it holds; see "Determine if a word
// has a zero byte" in Bit Twiddling Hacks.
func plainWords(s string, i int) int {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		_ = w[7]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		q := (x | 0x04*ones) ^ 0x26*ones // 0 where '"' (0x22) or '&' (0x26)
		a := (x | 0x02*ones) ^ 0x3e*ones // 0 where '<' (0x3c) or '>' (0x3e)
		e := x ^ 0x5c*ones               // 0 where '\\'
		// x itself: 0x80 or above; then below 0x20, then the zero bytes.
		if (x|(x-0x20*ones)&^x|(q-ones)&^q|(a-ones)&^a|(e-ones)&^e)&high != 0 {
			break
		}
	}
	return i
}

// appendJSONString quotes s as encoding/json does: HTML-safe, invalid UTF-8
// as U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if i = plainWords(s, i); i == len(s) {
			break
		}
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
