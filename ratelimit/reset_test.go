package ratelimit

import (
	"testing"
	"time"
)

var resetNow = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

const resetWindow = 20 * time.Second

var resetCases = []struct {
	name  string
	value string
	want  time.Duration
}{
	{"absent", "", resetWindow},
	{"blank", "   ", resetWindow},
	{"garbled", "soon", resetWindow},
	{"negative", "-5", resetWindow},
	{"delta seconds", "7", 7 * time.Second},
	{"zero delta", "0", 0},
	{"unix seconds", "1795586412", 12 * time.Second},
	{"unix seconds in the past", "1795586300", 0},
	{"unix milliseconds", "1795586405500", 5500 * time.Millisecond},
	{"RFC 3339", "2026-11-25T06:00:09Z", 9 * time.Second},
	{"RFC 3339 with offset and fraction", "2026-11-25T11:30:03.25+05:30", 3250 * time.Millisecond},
	{"HTTP date", "Wed, 25 Nov 2026 06:00:15 GMT", 15 * time.Second},
	{"HTTP date in the past", "Wed, 25 Nov 2026 05:00:00 GMT", 0},
	{"float seconds", "1795586412.5", resetWindow},
	{"overflowing integer", "99999999999999999999", resetWindow},
	{"max int64 milliseconds", "9223372036854775807", time.Duration(1<<63 - 1)},
	{"padded", " 7 ", 7 * time.Second},
}

func TestParseReset(t *testing.T) {
	if resetNow.Unix() != 1795586400 {
		t.Fatalf("test clock moved: %d", resetNow.Unix())
	}
	for _, c := range resetCases {
		t.Run(c.name, func(t *testing.T) {
			if got := ParseReset(c.value, resetNow, resetWindow); got != c.want {
				t.Errorf("ParseReset(%q) = %v; want %v", c.value, got, c.want)
			}
		})
	}
}

func FuzzParseReset(f *testing.F) {
	for _, c := range resetCases {
		f.Add(c.value)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := ParseReset(v, resetNow, resetWindow)
		if got < 0 {
			t.Fatalf("ParseReset(%q) = %v; want >= 0", v, got)
		}
		if again := ParseReset(v, resetNow, resetWindow); again != got {
			t.Fatalf("ParseReset(%q) = %v, then %v", v, got, again)
		}
	})
}
