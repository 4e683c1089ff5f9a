package sandbox

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// slogLine is the request line as slog's TextHandler writes it.
func slogLine(end time.Time, method, path string, status int, partner string, latency time.Duration, errorCode string) string {
	var buf bytes.Buffer
	rec := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	rec.AddAttrs(
		slog.String("method", method),
		slog.String("path", path),
		slog.Int("status", status),
		slog.String("partner", partner),
		slog.Duration("latency", latency),
		slog.String("errorCode", errorCode),
	)
	slog.NewTextHandler(&buf, nil).Handle(context.Background(), rec)
	return buf.String()
}

func fastLine(end time.Time, method, path string, status int, partner string, latency time.Duration, errorCode string) string {
	var buf bytes.Buffer
	(&textHandler{TextHandler: slog.NewTextHandler(&buf, nil), w: &buf}).requestLine(end, method, path, status, partner, latency, errorCode)
	return buf.String()
}

var lineCases = []struct {
	method, path, partner, errorCode string
	status                           int
	latency                          time.Duration
}{
	{"GET", "/partner/gold/rate", "cljmwgeu10000g5fvztn2mrvn", "", 200, 1234567},
	{"POST", "/partner/auth/token", "", "0b6f3c1e-5d1a-4b8e-9a53-3f1b2c4d5e6f", 401, 98 * time.Microsecond},
	{"GET", "/partner/user/info/12%2034", "p", "", 404, 0},
	{"GET", `/a b/"q"/x=y/\back`, "naïve 名前", "", 400, 3 * time.Second},
	{"BREW", "/\x7f/\u00a0/\u2028/\xff", "tab\tnew\nline", "e", 418, -time.Millisecond},
	{"", "", "", "", 0, time.Nanosecond},
}

// TestRequestLineMatchesSlog holds the fast request line to slog's
// TextHandler, byte for byte, including values slog quotes.
func TestRequestLineMatchesSlog(t *testing.T) {
	ends := []time.Time{
		time.Date(2026, 12, 1, 2, 3, 4, 999_999_999, time.UTC),
		time.Date(2026, 12, 1, 2, 3, 4, 0, time.FixedZone("IST", 5*3600+1800)),
		time.Date(2026, 12, 1, 2, 3, 4, 0, time.FixedZone("IST", 5*3600+1800)).UTC(), // the same second in another zone
		time.Date(2026, 12, 1, 2, 3, 4, 7_000_000, time.UTC),                         // and again, cached
		time.Now(), // with a monotonic reading, as finish passes it
	}
	for _, end := range ends {
		for _, c := range lineCases {
			got := fastLine(end, c.method, c.path, c.status, c.partner, c.latency, c.errorCode)
			want := slogLine(end, c.method, c.path, c.status, c.partner, c.latency, c.errorCode)
			if got != want {
				t.Errorf("request line\n got %q\nwant %q", got, want)
			}
		}
	}
}

func FuzzRequestLine(f *testing.F) {
	for _, c := range lineCases {
		f.Add(c.method, c.path, c.partner, c.errorCode, c.status, int64(c.latency), int64(1764554584123456789))
	}
	f.Fuzz(func(t *testing.T, method, path, partner, errorCode string, status int, latency, unixNano int64) {
		end := time.Unix(0, unixNano).UTC()
		got := fastLine(end, method, path, status, partner, time.Duration(latency), errorCode)
		want := slogLine(end, method, path, status, partner, time.Duration(latency), errorCode)
		if got != want {
			t.Errorf("request line\n got %q\nwant %q", got, want)
		}
	})
}

// FuzzCanonical holds canonical's scan to its definition through path.Clean.
func FuzzCanonical(f *testing.F) {
	for _, p := range []string{"/", "//", "/a", "/a/", "/a//b", "/./a", "/a/.", "/a/..", "/a/../b", "/.a/b..", "/partner/gold/rate", "/a/./", "/..."} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !strings.HasPrefix(p, "/") {
			return // ServeHTTP answers those before asking
		}
		c := path.Clean(p)
		if strings.HasSuffix(p, "/") && c != "/" {
			c += "/"
		}
		if got, want := canonical(p), c == p; got != want {
			t.Errorf("canonical(%q) = %v; want %v (path.Clean gives %q)", p, got, want, c)
		}
	})
}

// FuzzNeedsQuoting holds the word-at-a-time scan to slog's rule, rune by
// rune (FuzzRequestLine holds the line to slog itself).
func FuzzNeedsQuoting(f *testing.F) {
	for _, c := range lineCases {
		f.Add(c.method + c.path + c.partner + c.errorCode)
	}
	for _, s := range []string{"abcdefgh", "abcdefg=", "abcdefg\"", "abcdefg ", "abcdefg~", "abcdefg\x7f", "!!!!!!!!!", "abcdefgh\xff", "a=bcdefghijklmnop", "\x00bcdefgh"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := len(s) == 0
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r < utf8.RuneSelf && r != '\\' && (r <= ' ' || r == '=' || r == '"'):
				want = true
			case r >= utf8.RuneSelf && (r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r)):
				want = true
			}
			i += size
		}
		if got := needsQuoting(s); got != want {
			t.Errorf("needsQuoting(%q) = %v; want %v", s, got, want)
		}
	})
}

// FuzzEscapedPath holds escapedPath to url.URL.EscapedPath.
func FuzzEscapedPath(f *testing.F) {
	for _, p := range []string{"/partner/gold/rate", "", "*", "/*", "/a b", "/a%2Fb", "/ü", "/a?b", "/$&+,/:;=@-_.~", "/\x00", "/a#b"} {
		f.Add(p, "")
		f.Add(p, p)
	}
	f.Add("/a/b", "/a%2Fb")
	f.Fuzz(func(t *testing.T, path, raw string) {
		u := &url.URL{Path: path, RawPath: raw}
		if got, want := escapedPath(u), u.EscapedPath(); got != want {
			t.Errorf("escapedPath(Path %q, RawPath %q) = %q; want %q", path, raw, got, want)
		}
	})
}
