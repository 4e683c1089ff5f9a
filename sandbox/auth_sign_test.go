package sandbox

import (
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// TestSignMatchesGolangJWT holds the hand-written signer to golang-jwt's
// SignedString, byte for byte, including names encoding/json escapes; and
// the parser the sandbox verifies with accepts what it signs.
func TestSignMatchesGolangJWT(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s, err := newSigner("test-key", time.Hour, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, id, partnerName, jti string }{
		{"document's partner", DefaultPartnerID, "Test Partner", "8f7c3c3e-1b7a-4a57-9d52-0c7d4b1d2b51"},
		{"quotes and backslash", `p"1\`, `Acme "Gold" \ Co`, "x"},
		{"html characters", "p<1>", "A&B <Gold>", "j&<>"},
		{"unicode", "p-ü", "Göld 金 \u2028 line", "é"},
		{"control characters", "p\x01", "tab\there\nnewline", "\x7f"},
		{"invalid utf-8", "p\xff", "bad \xc3(", "j\xfe"},
		{"empty", "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := claims{
				PartnerID:   tt.id,
				PartnerName: tt.partnerName,
				RegisteredClaims: jwt.RegisteredClaims{
					Issuer:    Issuer,
					ID:        tt.jti,
					IssuedAt:  jwt.NewNumericDate(now),
					ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
				},
			}
			want, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.sign(&c); got != want {
				t.Errorf("sign() =\n%s\nwant (golang-jwt)\n%s", got, want)
			}
		})
	}
	tok, _, err := s.issue(Partner{ID: DefaultPartnerID, Name: "Test Partner"})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := s.verify(tok); err != nil || id != DefaultPartnerID {
		t.Errorf("verify(issued token) = %q, %v; want %q", id, err, DefaultPartnerID)
	}
}

func BenchmarkSign(b *testing.B) {
	s, _ := newSigner("test-key", time.Hour, time.Now)
	p := Partner{ID: DefaultPartnerID, Name: "Test Partner"}
	b.ReportAllocs()
	for b.Loop() {
		s.issue(p)
	}
}

// TestIssueMatchesGolangJWT: a token issue writes in place is golang-jwt's
// for the claims it carries, which have the shape they had with
// uuid.NewString's jti: a version 4, RFC 4122 variant UUID.
func TestIssueMatchesGolangJWT(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s, err := newSigner("test-key", time.Hour, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Partner{{ID: DefaultPartnerID, Name: "Test Partner"}, {ID: `p"<1>`, Name: "Göld \u2028 \x01"}} {
		tok, issued, err := s.issue(p)
		if err != nil || !issued.Equal(now) {
			t.Fatalf("issue(%q) = %v, %v; want issued at %v", p.ID, issued, err, now)
		}
		var c claims
		if _, err := jwt.NewParser(jwt.WithTimeFunc(func() time.Time { return now })).ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return s.key, nil }); err != nil {
			t.Fatalf("issue(%q) token does not parse: %v", p.ID, err)
		}
		want, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
		if err != nil {
			t.Fatal(err)
		}
		if tok != want {
			t.Errorf("issue(%q) =\n%s\nwant (golang-jwt, same claims)\n%s", p.ID, tok, want)
		}
		if c.PartnerID != p.ID || c.PartnerName != p.Name || c.Issuer != Issuer || !c.IssuedAt.Equal(now) || !c.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Errorf("issue(%q) claims = %+v", p.ID, c)
		}
		if u, err := uuid.Parse(c.ID); err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || u.String() != c.ID {
			t.Errorf("jti %q: %v, version %v, variant %v; want a version 4 RFC 4122 UUID", c.ID, err, u.Version(), u.Variant())
		}
		if !jsonPlain(tok) {
			t.Errorf("issue(%q) token %q is not JSON-plain, which plainTokenAnswer assumes", p.ID, tok)
		}
	}
}

// TestJTIsUnique: tokens issued in the same second, from many goroutines,
// all differ, and so do two signers' with the same key and clock.
func TestJTIsUnique(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a, err := newSigner("k", time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newSigner("k", time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 2000
	tokens := make(chan string, 2*workers*each)
	var wg sync.WaitGroup
	for i := range 2 * workers {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for range each {
				tok, _, err := s.issue(Partner{ID: "p", Name: "n"})
				if err != nil {
					t.Error(err)
					return
				}
				tokens <- tok
			}
		})
	}
	wg.Wait()
	close(tokens)
	seen := make(map[string]bool, 2*workers*each)
	for tok := range tokens {
		if seen[tok] {
			t.Fatalf("token issued twice in one second: %q", tok)
		}
		seen[tok] = true
	}
	if len(seen) != 2*workers*each {
		t.Errorf("%d distinct tokens; want %d", len(seen), 2*workers*each)
	}
}

func TestAppendUUID(t *testing.T) {
	for range 100 {
		u := uuid.New()
		if got := string(appendUUID([]byte("x"), u)); got != "x"+u.String() {
			t.Errorf("appendUUID(%v) = %q", u, got)
		}
	}
}

// FuzzAppendClaim holds appendClaim's verbatim path to appendJSONString.
func FuzzAppendClaim(f *testing.F) {
	for _, s := range []string{DefaultPartnerID, "Test Partner", Issuer, "8f7c3c3e-1b7a-4a57-9d52-0c7d4b1d2b51", `a"b`, `\`, "<&>", "\x7f", "\x1f", "é", "\xff", "\u2028", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendClaim([]byte("x"), s), appendJSONString([]byte("x"), s); string(got) != string(want) {
			t.Errorf("appendClaim(%q) = %q; want %q", s, got, want)
		}
	})
}
