package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func jsonEntry(s string) Entry {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	rem := 7
	return Entry{
		Seq: 42, Time: t0, Clock: t0.Add(time.Hour), Method: "GET", Path: "/partner/" + s,
		Operation: "getGoldRate", Partner: s, Client: "127.0.0.1", Status: 429, LatencyMicros: 123,
		ErrorCode: s, Error: s, Control: "fault 1: " + s, Limit: 10, Remaining: &rem, Reset: &t0,
		Request:  Message{Headers: redactHeaders(http.Header{"X-" + s: {s, s}, "Authorization": {"Bearer " + s}, "A": {s}}), Body: s},
		Response: Message{Headers: redactHeaders(http.Header{"Content-Type": {"application/json"}})},
	}
}

var jsonSeeds = []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rcr\b\f\x00\x1f\x7f",
	"bad utf-8 \xff\xfe end", "line\u2028para\u2029", "é日本🙂", "\xed\xa0\x80 surrogate"}

// appendJSON writes what encoding/json writes.
func TestEntryJSON(t *testing.T) {
	for _, s := range jsonSeeds {
		checkEntryJSON(t, jsonEntry(s))
	}
	checkEntryJSON(t, Entry{}) // every optional field absent
}

func checkEntryJSON(t *testing.T, e Entry) {
	t.Helper()
	want, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	got := e.appendJSON(nil)
	if !bytes.Equal(got, want) {
		t.Errorf("appendJSON =\n%s\nencoding/json =\n%s", got, want)
	}
}

func FuzzEntryJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkEntryJSON(t, jsonEntry(s)) })
}

// BenchmarkEntryJSON is what an open journal stream costs per request it
// sends: one entry (a 429 with headers) encoded, by appendJSON and, for
// comparison, encoding/json.
func BenchmarkEntryJSON(b *testing.B) {
	e := jsonEntry("cljmwgeu10000g5fvztn2mrvn")
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = e.appendJSON(buf[:0])
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
	return Headers{kv: out}
}

// redactHeaders redacts as it did before its fast paths.
func TestRedactHeadersAsBefore(t *testing.T) {
	for _, v := range []string{"", "Bearer", "Bearer x.y.z", "bearer x", "Basic dXNlcjpwYXNz", "Bearer  x", " Bearer x", "a.b.c", "VeryLongSchemeName123 x", "Digest a=b", "Bearer\tx"} {
		for _, k := range []string{"Authorization", "authorization", "AUTHORIZATION", "Proxy-Authorization", "proxy-authorization", "Cookie", "cookie", "Set-Cookie", "set-cookie", "X-Authorizatio", "Authorization ", "Content-Type"} {
			for _, h := range []http.Header{{k: {v}}, {k: {v, "second"}}} {
				got, _ := json.Marshal(redactHeaders(h))
				want, _ := json.Marshal(redactHeadersBefore(h))
				if !bytes.Equal(got, want) {
					t.Errorf("redactHeaders(%q) = %s; want %s", h, got, want)
				}
			}
		}
	}
}
