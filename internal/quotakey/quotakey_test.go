package quotakey

import (
	"bytes"
	"testing"
	"time"

	"github.com/milligold/milligold-go/tokens"
)

func TestSealRoundTrip(t *testing.T) {
	p, err := New("http://h/partner", "id", "secret-one")
	if err != nil {
		t.Fatal(err)
	}
	tok := tokens.Token{Value: "the-token-value", Expiry: time.Unix(1_800_000_000, 5), RenewAt: time.Unix(1_799_999_000, 0)}
	b, err := p.Seal(tok)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("the-token-value")) {
		t.Error("sealed token shows the value")
	}
	got, err := p.Open(b)
	if err != nil || got.Value != tok.Value || !got.Expiry.Equal(tok.Expiry) || !got.RenewAt.Equal(tok.RenewAt) {
		t.Errorf("Open(Seal(t)) = %v, %v; want t back", got, err)
	}
	for _, other := range []struct{ base, id, secret string }{
		{"http://h/partner", "id", "secret-two"},  // another secret
		{"http://h/partner", "id2", "secret-one"}, // another partner
		{"http://h2/partner", "id", "secret-one"}, // another API
	} {
		q, _ := New(other.base, other.id, other.secret)
		if _, err := q.Open(b); err == nil {
			t.Errorf("%+v opened another partner's token", other)
		}
	}
	if a, _ := New("http://h/partner/", "id", "x"); a.String() != p.String() {
		t.Error("a trailing slash changed the partner's key")
	}
	if _, err := New("http://h/partner", "", "s"); err == nil {
		t.Error("New with an empty partner id: no error")
	}
}

func FuzzOpen(f *testing.F) {
	p, _ := New("http://h/partner", "id", "secret-one")
	good, _ := p.Seal(tokens.Token{Value: "v", Expiry: time.Unix(1, 0)})
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte("garbage that is long enough for a nonce"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := p.Open(b)
		if err == nil && tok.Value == "" {
			t.Errorf("Open(%q) = an empty token without error", b)
		}
		p.OpenBytes(b)
	})
}
