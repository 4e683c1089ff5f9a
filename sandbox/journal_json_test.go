package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// jsonEntry is an entry with s in every string field, its header fields
// as journalHeaders keeps them (maps, redacted when read) or, with
// flattened, as redactHeaders flattens them (what encoding/json is given).
func jsonEntry(s string, flattened bool) Entry {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	rem := 7
	headers := journalHeaders
	if flattened {
		headers = redactHeaders
	}
	return Entry{
		Seq: 42, Time: t0, Clock: t0.Add(time.Hour), Method: "GET", Path: "/partner/" + s,
		Operation: "getGoldRate", Partner: s, Client: "127.0.0.1", Status: 429, LatencyMicros: 123,
		ErrorCode: s, Error: s, Control: "fault 1: " + s, Limit: 10, Remaining: &rem, Reset: &t0,
		Request: Message{Headers: headers(http.Header{"X-" + s: {s, s}, "Authorization": {"Bearer " + s},
			"A": {s}, "Cookie": {s}, "Proxy-Authorization": {"Basic " + s}}), Body: s},
		Response: Message{Headers: headers(http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {s}}), Body: s},
	}
}

var jsonSeeds = []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rcr\b\f\x00\x1f\x7f",
	"bad utf-8 \xff\xfe end", "line\u2028para\u2029", "é日本🙂", "\xed\xa0\x80 surrogate"}

// The encoder writes what encoding/json writes, for one entry and for a
// run of entries through one encoder (its cached second and answer body).
func TestEntryJSON(t *testing.T) {
	for _, s := range jsonSeeds {
		checkEntryJSON(t, s)
	}
	var zero Entry // every optional field absent
	checkEncoded(t, &entryEncoder{}, zero, zero)
	var enc entryEncoder
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	// One of method, path, operation, partner and client changes at a time.
	who := []func(e *Entry, s string){
		func(e *Entry, s string) { e.Method = s },
		func(e *Entry, s string) { e.Path = s },
		func(e *Entry, s string) { e.Operation = s },
		func(e *Entry, s string) { e.Partner = s },
		func(e *Entry, s string) { e.Client = s },
	}
	for i, s := range []string{"a", "a", "", "", "<b>", "a"} {
		for _, set := range who {
			e, flat := jsonEntry("x", false), jsonEntry("x", true)
			set(&e, s+fmt.Sprint(i%2))
			set(&flat, s+fmt.Sprint(i%2))
			checkEncoded(t, &enc, e, flat)
			set(&e, s)
			set(&flat, s)
			checkEncoded(t, &enc, e, flat)
		}
	}
	for i, d := range []time.Duration{0, 1, 10, 120, 999_999_999, time.Second, time.Second + 5, time.Hour, -time.Hour, 0} {
		for j, loc := range []*time.Location{time.UTC, time.Local, berlin, time.FixedZone("", -(5*3600 + 30*60)), time.FixedZone("odd", 3600+7)} {
			e, flat := jsonEntry(jsonSeeds[(i+j)%len(jsonSeeds)], false), jsonEntry(jsonSeeds[(i+j)%len(jsonSeeds)], true)
			e.Time, e.Clock, *e.Reset = t0.Add(d).In(loc), t0.Add(d+time.Duration(j)).In(loc), t0.Add(time.Duration(i)*time.Second)
			flat.Time, flat.Clock, flat.Reset = e.Time, e.Clock, e.Reset
			checkEncoded(t, &enc, e, flat)
		}
	}
}

// checkEntryJSON checks the entry with s in it through a fresh encoder and
// twice through one (its caches hit the second time).
func checkEntryJSON(t *testing.T, s string) {
	t.Helper()
	e, flat := jsonEntry(s, false), jsonEntry(s, true)
	checkEncoded(t, &entryEncoder{}, e, flat)
	var enc entryEncoder
	checkEncoded(t, &enc, e, flat)
	checkEncoded(t, &enc, e, flat)
	if got, want := string(e.appendJSON(nil)), string(enc.entry(nil, &e)); got != want {
		t.Errorf("Entry.appendJSON =\n%s\nthe encoder =\n%s", got, want)
	}
}

// checkEncoded holds enc's encoding of e to encoding/json's of flat (e
// with its headers flattened and redacted as redactHeaders does).
func checkEncoded(t *testing.T, enc *entryEncoder, e, flat Entry) {
	t.Helper()
	want, err := json.Marshal(flat)
	if err != nil {
		t.Fatal(err)
	}
	if got := enc.entry(nil, &e); !bytes.Equal(got, want) {
		t.Errorf("the encoder =\n%s\nencoding/json =\n%s", got, want)
	}
	if got, err := json.Marshal(e); err != nil || !bytes.Equal(got, want) { // Headers.MarshalJSON of a map
		t.Errorf("encoding/json of the journal's entry =\n%s (%v)\nof the flattened one =\n%s", got, err, want)
	}
}

func FuzzEntryJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkEntryJSON(t, s) })
}

// timeCache writes what encoding/json writes for any time of years 0 to
// 9999 in any zone, cached or not: the second time of each pair is the
// first moved by delta, so it often shares the first one's second.
func FuzzTimeJSON(f *testing.F) {
	f.Add(int64(1767323045), int64(600), int64(0), int32(0))
	f.Add(int64(1767323045), int64(0), int64(999_999_999), int32(3600))
	f.Add(int64(1767323045), int64(123_456_789), int64(1_000_000_000), int32(-19800))
	f.Add(int64(-62135596800), int64(1), int64(-2), int32(7))
	f.Add(int64(253402300799), int64(999_999_999), int64(1), int32(-1))
	f.Fuzz(func(t *testing.T, sec, nsec, delta int64, offset int32) {
		loc := time.UTC
		if offset != 0 {
			loc = time.FixedZone("z", int(offset%(24*3600)))
		}
		var c timeCache
		for _, tm := range []time.Time{time.Unix(sec, nsec).In(loc), time.Unix(sec, nsec).Add(time.Duration(delta)).In(loc)} {
			want, err := json.Marshal(tm)
			if err != nil {
				continue // outside what encoding/json encodes
			}
			if got := c.append(nil, tm); !bytes.Equal(got, want) {
				t.Fatalf("timeCache(%v) = %s; encoding/json %s", tm, got, want)
			}
		}
	})
}

// BenchmarkEntryJSON is what an open journal stream costs per request it
// sends: one entry (a 429 with headers) encoded, by appendJSON and, for
// comparison, encoding/json.
func BenchmarkEntryJSON(b *testing.B) {
	e := jsonEntry("cljmwgeu10000g5fvztn2mrvn", false)
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		var enc entryEncoder
		for b.Loop() {
			buf = enc.entry(buf[:0], &e)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(e)
		}
	})
}

// redactHeadersBefore is redactHeaders as it was before its fast paths.
func redactHeadersBefore(h http.Header) Headers {
	if len(h) == 0 {
		return Headers{}
	}
	out := make([]string, 0, 2*len(h))
	for k, vs := range h {
		v := strings.Join(vs, ", ")
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Proxy-Authorization":
			scheme, _, _ := strings.Cut(v, " ")
			if len(scheme) > 16 || strings.Contains(scheme, ".") {
				scheme = ""
			}
			v = strings.TrimSpace(scheme + " [redacted]")
		case "Cookie", "Set-Cookie":
			v = "[redacted]"
		}
		out = append(out, k, v)
	}
	return Headers{o: &headerObject{kv: out}}
}

// redactHeaders redacts as it did before its fast paths.
func TestRedactHeadersAsBefore(t *testing.T) {
	for _, v := range []string{"", "Bearer", "Bearer x.y.z", "bearer x", "Basic dXNlcjpwYXNz", "Bearer  x", " Bearer x", "a.b.c", "VeryLongSchemeName123 x", "Digest a=b", "Bearer\tx"} {
		for _, k := range []string{"Authorization", "authorization", "AUTHORIZATION", "Proxy-Authorization", "proxy-authorization", "Cookie", "cookie", "Set-Cookie", "set-cookie", "X-Authorizatio", "Authorization ", "Content-Type",
			"AuthoriZation", "cOOKIE", "Coo\u212aie", "Coo\u212ae", "\u017fet-Cookie", "\u017fet-Cooki", "Cache-Control", "Content-Length"} {
			for _, h := range []http.Header{{k: {v}}, {k: {v, "second"}}} {
				got, _ := json.Marshal(redactHeaders(h))
				want, _ := json.Marshal(redactHeadersBefore(h))
				if !bytes.Equal(got, want) {
					t.Errorf("redactHeaders(%q) = %s; want %s", h, got, want)
				}
				var enc entryEncoder
				if got := enc.headers(nil, journalHeaders(h), &lastHeaders{}); !bytes.Equal(got, want) {
					t.Errorf("journalHeaders(%q), encoded = %s; want %s", h, got, want)
				}
				if got, want := journalHeaders(h).Get(k), redactHeadersBefore(h).Get(k); got != want {
					t.Errorf("journalHeaders(%q).Get(%q) = %q; want %q", h, k, got, want)
				}
			}
		}
	}
}

// plainWords agrees with entryJSONPlain on every byte value at every position,
// and on every pair of values in neighbouring bytes (where a borrow from
// one byte's test could reach the next).
func TestPlainWords(t *testing.T) {
	plain8 := func(s string) bool { return plainWords(s, 0) == 8 }
	want := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if !entryJSONPlain[s[i]] {
				return false
			}
		}
		return true
	}
	buf := []byte("abcdefgh")
	for p := 0; p < 8; p++ {
		for c := 0; c < 256; c++ {
			s := []byte("abcdefgh")
			s[p] = byte(c)
			if got := plain8(string(s)); got != want(string(s)) {
				t.Fatalf("plainWords(%q) says plain: %v", s, got)
			}
		}
	}
	for p := 0; p < 8; p++ {
		q := (p + 1) % 8
		for c := 0; c < 256; c++ {
			for d := 0; d < 256; d++ {
				copy(buf, "abcdefgh")
				buf[p], buf[q] = byte(c), byte(d)
				if got := plain8(string(buf)); got != want(string(buf)) {
					t.Fatalf("plainWords(%q) says plain: %v", buf, got)
				}
			}
		}
	}
}

// A header object reused from the last map is the one the map makes: a run
// of maps that differ in one name, one value, a value's count, a name's
// case, or only in a credential (redacted alike), each encoded as
// encoding/json encodes it redacted.
func TestHeadersReused(t *testing.T) {
	maps := []http.Header{
		{"Host": {"a"}, "Authorization": {"Bearer one"}},
		{"Host": {"a"}, "Authorization": {"Bearer two"}}, // the same object
		{"Host": {"b"}, "Authorization": {"Bearer two"}},
		{"Host": {"b"}, "Authorization": {"Basic two"}},
		{"Host": {"b"}, "authorization": {"Basic two"}},
		{"Host": {"b"}, "authorization": {"Basic two"}, "X": {""}},
		{"Host": {"b"}, "authorization": {"Basic two"}, "X": {"", ""}},
		{"Host": {"b"}, "authorization": {"Basic two"}, "X": {"", ""}},
		{"Host": {"b"}, "authorization": {"Basic two"}, "X": {","}},
		{"Host": {"b"}, "Y": {"Basic two"}, "X": {","}},
		{"Host": {"b"}},
		{"Host": {"b"}},
		{},
		{"Host": {"b"}},
	}
	var enc entryEncoder
	for i, h := range maps {
		want, _ := json.Marshal(redactHeadersBefore(h))
		if len(h) == 0 {
			want = []byte("{}") // IsZero leaves the object out of a message
		}
		if got := enc.headers(nil, journalHeaders(h), &enc.requestHeaders); !bytes.Equal(got, want) && len(h) > 0 {
			t.Errorf("map %d %q: %s; want %s", i, h, got, want)
		}
	}
}

func FuzzHeadersJSON(f *testing.F) {
	f.Add("Host", "a", "Authorization", "Bearer x", "Bearer y", false)
	f.Add("Cookie", "a", "cookie", "b", "b", true)
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, v3 string, two bool) {
		maps := []http.Header{{k1: {v1}, k2: {v2}}, {k1: {v1}, k2: {v3}}, {k1: {v1}}, {k2: {v3}}}
		if two {
			maps = append(maps, http.Header{k1: {v1, v2}}, http.Header{k1: {v1, v2}})
		}
		var enc entryEncoder
		for _, h := range maps {
			want, _ := json.Marshal(redactHeadersBefore(h))
			if got := enc.headers(nil, journalHeaders(h), &enc.responseHeaders); !bytes.Equal(got, want) {
				t.Fatalf("%q: %s; want %s", h, got, want)
			}
		}
	})
}

// appendInt and appendUint write what strconv writes.
func TestAppendInt(t *testing.T) {
	for _, v := range []int64{0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 12345, 1 << 31, math.MaxInt64, -1, -9, -10, -100, -12345, math.MinInt64} {
		if got, want := string(appendInt([]byte("x"), v)), string(strconv.AppendInt([]byte("x"), v, 10)); got != want {
			t.Errorf("appendInt(%d) = %s; want %s", v, got, want)
		}
	}
	for _, v := range []uint64{0, 7, 42, 100, 1e9, math.MaxUint64} {
		if got, want := string(appendUint(nil, v)), strconv.FormatUint(v, 10); got != want {
			t.Errorf("appendUint(%d) = %s; want %s", v, got, want)
		}
	}
}

func FuzzAppendInt(f *testing.F) {
	f.Add(int64(0))
	f.Add(int64(-1234567))
	f.Fuzz(func(t *testing.T, v int64) {
		if got, want := string(appendInt(nil, v)), strconv.FormatInt(v, 10); got != want {
			t.Fatalf("appendInt(%d) = %s; want %s", v, got, want)
		}
		if got, want := string(appendUint(nil, uint64(v))), strconv.FormatUint(uint64(v), 10); got != want {
			t.Fatalf("appendUint(%d) = %s; want %s", uint64(v), got, want)
		}
	})
}

// Control.redactBody, which remembers the last plain body, is redactBody.
func TestRedactBodyRemembered(t *testing.T) {
	var c Control
	tok := `{"data":{"accessToken":"a.b.c","expiresIn":3600},"success":true}`
	gold := `{"data":{"rate":1111},"success":true}`
	for i, b := range []string{gold, gold, tok, tok, gold, strings.Clone(gold), tok, "", "", `"accessToken": 1`, `"accessToken": 1`, tok} {
		if got, want := c.redactBody(b), redactBody(b); got != want || strings.Contains(got, "a.b.c") {
			t.Errorf("body %d %q: %q; want %q", i, b, got, want)
		}
	}
}

// Control.escapedPath, which remembers the last path, is URL.EscapedPath.
func TestEscapedPathRemembered(t *testing.T) {
	var c Control
	for _, target := range []string{"/partner/gold/rate", "/partner/gold/rate", "/a%2Fb", "/a%2Fb", "/a b", "/a%20b", "*", "*",
		"/é", "/%C3%A9", "/partner/gold/rate?x=1", "/x;y", "/partner/gold/rate"} {
		checkEscapedPath(t, &c, target)
	}
}

func checkEscapedPath(t *testing.T, c *Control, target string) {
	t.Helper()
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return
	}
	if got, want := c.escapedPath(u), u.EscapedPath(); got != want {
		t.Errorf("escapedPath(%q) = %q; want %q", target, got, want)
	}
}

func FuzzJournalEscapedPath(f *testing.F) {
	f.Add("/partner/gold/rate", "/a%2Fb")
	f.Fuzz(func(t *testing.T, a, b string) {
		var c Control
		for _, target := range []string{a, b, a, b, b} {
			checkEscapedPath(t, &c, target)
		}
	})
}

// The body a capture keeps is the start of what was written, whether or
// not a write was the last plain body, which it keeps without a copy.
func TestCaptureBody(t *testing.T) {
	big := strings.Repeat("x", maxJournalResponseBody)
	lasts := []string{"", "gold", "go", big, big + "y"}
	writes := [][]string{{}, {""}, {"gold"}, {"go", "ld"}, {"gold", "gold"}, {"gold", ""}, {"", "gold"}, {big}, {big, "y"}, {"gold", big}, {big + "y"}}
	for _, last := range lasts {
		for _, ws := range writes {
			c := &capture{ResponseWriter: &bodyDiscard{}, last: &last}
			want := ""
			for _, w := range ws {
				c.Write([]byte(w))
				want += w
			}
			want = want[:min(len(want), maxJournalResponseBody)]
			if got := c.bodyString(); got != want {
				t.Errorf("last %.8q, writes %.8q: kept %.8q (%d bytes); want %d bytes", last, ws, got, len(got), len(want))
			}
			if c.same && unsafe.StringData(c.bodyString()) != unsafe.StringData(last) {
				t.Errorf("last %.8q, writes %.8q: a copy of the last body", last, ws)
			}
		}
	}
}

type bodyDiscard struct{ http.ResponseWriter }

func (bodyDiscard) Write(p []byte) (int, error) { return len(p), nil }

// splitHost is the host net.SplitHostPort returns, or the address when it
// fails.
func TestSplitHost(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:54321", "127.0.0.1:", ":80", "127.0.0.1", "", ":", "::1", "[::1]:80", "[::1]", "a:b:c",
		"[a]:b]", "a]:80", "[a:80", "host.example:443", "[fe80::1%eth0]:8080", "@", "/tmp/sock"} {
		checkSplitHost(t, addr)
	}
}

func checkSplitHost(t *testing.T, addr string) {
	t.Helper()
	want := addr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		want = host
	}
	if got := splitHost(addr); got != want {
		t.Errorf("splitHost(%q) = %q; want %q", addr, got, want)
	}
}

func FuzzSplitHost(f *testing.F) {
	f.Add("127.0.0.1:54321")
	f.Add("[::1]:80")
	f.Fuzz(func(t *testing.T, addr string) { checkSplitHost(t, addr) })
}

// canonicalMethod keeps the method, as a constant when it is a common one.
func TestCanonicalMethod(t *testing.T) {
	line := "GET POST HEAD PUT DELETE PATCH OPTIONS get BREW"
	for _, m := range strings.Fields(strings.Clone(line)) {
		got := canonicalMethod(m)
		if got != m {
			t.Errorf("canonicalMethod(%q) = %q", m, got)
		}
		common := strings.ToUpper(m) == m && m != "BREW"
		if same := unsafe.StringData(got) == unsafe.StringData(m); same == common {
			t.Errorf("canonicalMethod(%q): the request's own string kept %v; want %v", m, same, !common)
		}
	}
}

func TestControlRoot(t *testing.T) {
	if controlRoot+"/" != ControlPrefix {
		t.Errorf("controlRoot %q is not ControlPrefix %q without its slash", controlRoot, ControlPrefix)
	}
}

// A headerCache's Headers are the map's, redacted, encoded as encoding/json
// encodes them, whether they are the shared object, a new one, the map or
// a copy; an object is shared by the maps that make it, and replaced after
// rebuildAfter maps that do not.
func TestHeaderCache(t *testing.T) {
	maps := []http.Header{
		{"Host": {"a"}, "Authorization": {"Bearer one"}},
		{"Host": {"a"}, "Authorization": {"Bearer two"}}, // the same object
		{"Host": {"b"}, "Authorization": {"Bearer two"}},
		{"Host": {"a"}, "authorization": {"Basic two"}},
		{"Host": {"a"}, "Authorization": {"Basic two"}},
		{"Host": {"a"}, "Cookie": {"c=1"}},
		{"Host": {"a"}, "Cookie": {"c=2"}},
		{"Host": {"a"}, "X": {"", ""}},
		{"Host": {"a"}, "X": {"<&>\u2028"}},
		{"Host": {"a"}},
		{},
	}
	for _, direct := range []bool{false, true} {
		var c headerCache
		for round := 0; round < 2*rebuildAfter; round++ {
			for i, h := range maps {
				got := c.keep(h, direct)
				want, _ := json.Marshal(redactHeadersBefore(h))
				var enc entryEncoder
				if b := enc.headers(nil, got, &enc.requestHeaders); !bytes.Equal(b, want) && len(h) > 0 {
					t.Fatalf("direct %v, map %d %q: %s; want %s", direct, i, h, b, want)
				}
				if b, _ := json.Marshal(got); !bytes.Equal(b, want) {
					t.Fatalf("direct %v, map %d %q: json.Marshal %s; want %s", direct, i, h, b, want)
				}
				for k := range h {
					if got.Get(k) != redactHeadersBefore(h).Get(k) {
						t.Fatalf("direct %v, map %d: Get(%q) = %q", direct, i, k, got.Get(k))
					}
				}
				if got.h != nil && !direct {
					t.Fatalf("map %d kept behind another handler", i)
				}
			}
		}
	}
	var c headerCache
	a, b := http.Header{"Authorization": {"Bearer one"}}, http.Header{"Authorization": {"Bearer two"}}
	first := c.keep(a, true)
	if again := c.keep(b, true); first.o == nil || again.o != first.o {
		t.Fatalf("maps that make one object: %+v, %+v", first, again)
	}
	other := http.Header{"Host": {"x"}}
	for i := 1; i < rebuildAfter; i++ {
		if h := c.keep(other, true); h.h == nil {
			t.Fatalf("miss %d: not the map", i)
		}
	}
	if h := c.keep(other, true); h.o == nil || h.o == first.o || c.keep(other, true).o != h.o {
		t.Fatalf("after %d misses: %+v; want a new shared object", rebuildAfter, h)
	}
}

func FuzzHeaderCache(f *testing.F) {
	f.Add("Host", "a", "Authorization", "Bearer x", "Bearer y", false)
	f.Add("Cookie", "a", "cookie", "b", "b", true)
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, v3 string, two bool) {
		maps := []http.Header{{k1: {v1}, k2: {v2}}, {k1: {v1}, k2: {v3}}, {k1: {v1}}, {k2: {v3}}, {k1: {v1}, k2: {v2}}}
		if two {
			maps = append(maps, http.Header{k1: {v1, v2}}, http.Header{k1: {v1, v2}})
		}
		var c headerCache
		for range 2 {
			for _, h := range maps {
				want, _ := json.Marshal(redactHeadersBefore(h))
				var enc entryEncoder
				if got := enc.headers(nil, c.keep(h, true), &enc.responseHeaders); !bytes.Equal(got, want) {
					t.Fatalf("%q: %s; want %s", h, got, want)
				}
			}
		}
	})
}

// credential names the fields redactValue hides.
func TestCredential(t *testing.T) {
	for _, k := range []string{"Authorization", "authorization", "AUTHORIZATION", "Proxy-Authorization", "proxy-authorization", "Cookie", "cookie", "Set-Cookie", "set-cookie", "X-Authorizatio", "Authorization ", "Content-Type",
		"AuthoriZation", "cOOKIE", "Coo\u212aie", "Coo\u212ae", "\u017fet-Cookie", "\u017fet-Cooki", "Cache-Control", "Content-Length"} {
		if got, want := credential(k), redactValue(k, []string{"plain"}) != "plain"; got != want {
			t.Errorf("credential(%q) = %v; want %v", k, got, want)
		}
	}
}
