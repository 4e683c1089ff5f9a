package milligold

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/milligold/milligold-go/internal/hostile"
	"github.com/milligold/milligold-go/internal/leak"
)

// TestOpaqueTokensAreRedacted: the spec calls tokens opaque, so one that
// looks nothing like a JWT and comes back in an error body is still
// removed from the error, by value.
func TestOpaqueTokensAreRedacted(t *testing.T) {
	const opaque = hostile.Token
	srv := hostile.New(t)
	srv.Handle(hostile.RatePath, func(w http.ResponseWriter, r *http.Request) {
		hostile.JSON(http.StatusTeapot, `{"success":false,"error":"I am a teapot; you sent `+r.Header.Get("Authorization")+`","errorCode":"`+opaque+`"}`)(w, r)
	})
	c, err := New(WithBaseURL(srv.URL), WithCredentials(fakePartnerID, testSecret), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GoldRate(context.Background())
	if err == nil {
		t.Fatal("GoldRate with a 418 answer = nil error")
	}
	out := leak.Formats(err)
	if strings.Contains(out, opaque) {
		t.Errorf("the error carries the opaque token: %s", out)
	}
	if !strings.Contains(out, "I am a teapot") {
		t.Errorf("the error lost the API's message: %s", out)
	}
}

// TestSeenTokensBounded: the Client remembers its last maxSeenTokens
// tokens (far more than the 4 it once kept: a token held 5 renewals ago is
// still redacted), and ignores values too short to protect anything.
func TestSeenTokensBounded(t *testing.T) {
	var s seenTokens
	s.add("token-0-x")
	for i := range maxSeenTokens {
		s.add(fmt.Sprintf("token-%d-x", i+1))
		s.add(fmt.Sprintf("token-%d-x", i+1)) // the same one again: no new entry
	}
	s.add("abc")
	if len(s.vals) != maxSeenTokens || s.vals[0] != "token-1-x" {
		t.Errorf("seen holds %d tokens from %q; want the last %d distinct ones", len(s.vals), s.vals[0], maxSeenTokens)
	}
	last := fmt.Sprintf("token-%d-x", maxSeenTokens)
	if got := s.redact("token-0-x token-5-x " + last + " abc"); got != "token-0-x "+redacted+" "+redacted+" abc" {
		t.Errorf("redact = %q", got)
	}
}

// TestRedactEncodings: the secret and a held token are cut out of a text
// in each encoding a server may echo them in, and the rest of the text
// stays readable where the encoding is a common one.
func TestRedactEncodings(t *testing.T) {
	const secret = `s3 cr<e>t&"x"+/%\`
	const token = "tok+en/with=padding=="
	r := newRedactor(secret)
	r.seen.add(token)
	var allU strings.Builder
	for _, c := range secret {
		fmt.Fprintf(&allU, `\u%04X`, c)
	}
	jsonOf := func(v string) string { b, _ := json.Marshal(v); return string(b[1 : len(b)-1]) }
	for _, c := range []struct {
		name     string
		text     string
		readable bool // the words around the secret survive
	}{
		{"raw", "before " + secret + " after", true},
		{"JSON", "before " + jsonOf(secret) + " after", true},
		{"query", "before " + url.QueryEscape(secret) + " after", true},
		{"path", "before " + url.PathEscape(secret) + " after", true},
		{"JSON, every character \\u", "before " + allU.String() + " after", false},
		{"percent, every byte", "before " + percentAll(secret) + " after", false},
		{"JSON inside percent", "before " + url.QueryEscape(jsonOf(secret)) + " after", false},
		{"HTML entities", "before " + html.EscapeString(secret) + " after", false},
		{"token raw", "before " + token + " after", true},
		{"token query", "before " + url.QueryEscape(token) + " after", true},
		{"token JSON with \\/", "before " + strings.ReplaceAll(token, "/", `\/`) + " after", true},
		{"form body", "partnerId=p&partnerSecret=" + url.QueryEscape(secret), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := r.redact(c.text)
			for _, v := range append([]string{out}, decodings(out)...) {
				if strings.Contains(v, secret) || strings.Contains(v, token) {
					t.Fatalf("redact(%s) = %q still reads as a credential", c.name, out)
				}
			}
			if c.readable && (!strings.Contains(out, redacted) || out == redactedAll) {
				t.Errorf("redact(%s) = %q; want the credential cut out and the rest kept", c.name, out)
			}
		})
	}
}

func percentAll(s string) string {
	var b strings.Builder
	for i := range len(s) {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// FuzzRedact: redact never panics, and what it returns never reads as the
// secret or the token in any decoding it knows; the decoders agree with
// the standard library where the input is valid for it.
func FuzzRedact(f *testing.F) {
	f.Add(`s3 cr<e>t&"x"+/%\`, "before s3+cr%3Ce%3Et%26%22x%22%2B%2F%25%5C after")
	f.Add("secret-value", `{"error":"secret\u002dvalue"}`)
	f.Add("a/b", `a\/b %61%2Fb a%2fb`)
	f.Add("ü-secret", `\ud83d\ude00 \u00fc-secret %C3%BC-secret`)
	f.Add("x", `\u12 \uZZZZ \ %G1 %4`)
	f.Fuzz(func(t *testing.T, secret, text string) {
		if len(secret) > 64 || len(text) > 4096 {
			return
		}
		if secret != "" && (strings.Contains(redactedAll, secret) || strings.Contains(redacted, secret)) {
			return // the markers themselves would hold it
		}
		r := newRedactor(secret)
		out := r.redact(text)
		if secret != "" {
			for _, v := range append([]string{out}, decodings(out)...) {
				if strings.Contains(v, secret) {
					t.Fatalf("redact(%q) = %q reads as the secret", text, out)
				}
			}
		}
		if q, err := url.QueryUnescape(text); err == nil && utf8.ValidString(q) {
			if got := percentDecode(text, true); got != q {
				t.Errorf("percentDecode(%q) = %q; url.QueryUnescape gives %q", text, got, q)
			}
		}
		var want string
		if json.Unmarshal([]byte(`"`+text+`"`), &want) == nil && utf8.ValidString(text) {
			if got := jsonUnescape(text); got != want {
				t.Errorf("jsonUnescape(%q) = %q; encoding/json gives %q", text, got, want)
			}
		}
	})
}
