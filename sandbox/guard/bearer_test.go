package guard

import (
	"strings"
	"testing"
)

func TestParseBearer(t *testing.T) {
	for _, c := range []struct {
		header string
		token  string
		ok     bool
	}{
		{"Bearer abc.def", "abc.def", true},
		{"", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer  abc", "", false},
		{"bearer abc", "", false},
		{"Basic abc", "", false},
		{"Bearer abc def", "", false},
		{"Bearer abc\t", "", false},
	} {
		if tok, ok := parseBearer(c.header); tok != c.token || ok != c.ok {
			t.Errorf("parseBearer(%q) = %q, %v; want %q, %v", c.header, tok, ok, c.token, c.ok)
		}
	}
}

// FuzzParseBearer holds parseBearer to its definition: the "Bearer " prefix,
// then a non-empty token without space, tab, CR or LF.
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "Bearer ", "Bearer a b", "Bearer a\tb", "bearer abc", "Bearer a\x00b", "Bearer a\x0bb", "Bearer \r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		want, wantOK := strings.CutPrefix(header, "Bearer ")
		if !wantOK || want == "" || strings.ContainsAny(want, " \t\r\n") {
			want, wantOK = "", false
		}
		if got, ok := parseBearer(header); got != want || ok != wantOK {
			t.Errorf("parseBearer(%q) = %q, %v; want %q, %v", header, got, ok, want, wantOK)
		}
	})
}
