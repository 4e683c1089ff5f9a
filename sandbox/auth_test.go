package sandbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"testing"
)

// BenchmarkCredentials: a wrong secret with a real partner's id and with an
// unknown id take the same path (the unknown id's secret is compared with a
// dummy), so their times match within noise.
func BenchmarkCredentials(b *testing.B) {
	s, err := New(Default())
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, id string }{
		{"known id", DefaultPartnerID},
		{"unknown id", "no-such-partner-0000000000"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, ok := s.credentials(c.id, "wrong-secret"); ok {
					b.Fatal("a wrong secret was accepted")
				}
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	s, err := New(Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, secret string
		want       bool
	}{
		{DefaultPartnerID, DefaultPartnerSecret, true},
		{DefaultPartnerID, "wrong-secret", false},
		{DefaultPartnerID, "", false},
		{"no-such-partner", DefaultPartnerSecret, false},
		{"no-such-partner", dummySecret, false}, // the dummy opens nothing
		{"", dummySecret, false},
	} {
		if p, ok := s.credentials(c.id, c.secret); ok != c.want || (ok && p.ID != c.id) {
			t.Errorf("credentials(%q, secret) = %q, %v; want %v", c.id, p.ID, ok, c.want)
		}
	}
}

// TestCredentialsMatchHashingBothSides holds credentials, which hashes only
// the secret given (the stored side's hash is made with the world), to the
// comparison it replaced: both sides hashed per check.
func TestCredentialsMatchHashingBothSides(t *testing.T) {
	cfg := Default()
	cfg.Partners = append(cfg.Partners, Partner{ID: "p2", Name: "Two", Secret: "a much longer secret than thirty-two bytes, with ü"}, Partner{ID: "p3", Name: "Three", Secret: "x"})
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	old := func(id, secret string) (Partner, bool) {
		p, known := s.world.partners[id]
		want := p.Secret
		if !known {
			want = dummySecret
		}
		ha, hb := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(want))
		return p, subtle.ConstantTimeCompare(ha[:], hb[:]) == 1 && known
	}
	ids := []string{DefaultPartnerID, "p2", "p3", "unknown", "", dummySecret}
	secrets := []string{DefaultPartnerSecret, "a much longer secret than thirty-two bytes, with ü", "x", "", "X", dummySecret, DefaultPartnerSecret + "\x00"}
	for _, id := range ids {
		for _, secret := range secrets {
			p, ok := s.credentials(id, secret)
			wp, wok := old(id, secret)
			if ok != wok || p != wp {
				t.Errorf("credentials(%q, secret %d bytes) = %q, %v; want %q, %v", id, len(secret), p.ID, ok, wp.ID, wok)
			}
		}
	}
}
