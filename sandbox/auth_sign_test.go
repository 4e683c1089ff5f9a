package sandbox

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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
