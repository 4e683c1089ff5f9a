package sandbox

import "testing"

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
