package sandbox

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendJSON appends e as encoding/json would encode it (the same fields,
// omissions and escaping), without reflection: a journal stream encodes
// every request it sends, and encoding/json took several microseconds per
// entry. TestEntryJSON holds the two to the same output.
func (e *Entry) appendJSON(b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = appendTimeField(b, "time", e.Time)
	b = appendTimeField(b, "clock", e.Clock)
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
		b = appendTimeField(b, "reset", *e.Reset)
	}
	b = append(b, `,"request":`...)
	b = e.Request.appendJSON(b)
	b = append(b, `,"response":`...)
	b = e.Response.appendJSON(b)
	return append(b, '}')
}

func (m *Message) appendJSON(b []byte) []byte {
	b = append(b, '{')
	mark := len(b)
	if !m.Headers.IsZero() {
		b = append(b, `"headers":`...)
		b = m.Headers.appendJSON(b)
	}
	if m.Body != "" {
		if len(b) > mark {
			b = append(b, ',')
		}
		b = append(b, `"body":`...)
		b = appendJSONString(b, m.Body)
	}
	return append(b, '}')
}

// appendJSON writes the fields as an object sorted by name, as
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

func appendStringField(b []byte, name, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

func appendTimeField(b []byte, name string, t time.Time) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':', '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
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
