package tokens

import (
	"context"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// BenchmarkCachedToken compares the cached path of Source.Get with its peer,
// x/oauth2's ReuseTokenSource, both from many goroutines on a warm cache.
func BenchmarkCachedToken(b *testing.B) {
	b.Run("tokens.Source", func(b *testing.B) {
		s := NewSource(func(context.Context) (Grant, error) { return Grant{Value: "t", ExpiresIn: time.Hour}, nil })
		s.Get(context.Background())
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Get(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("oauth2.ReuseTokenSource", func(b *testing.B) {
		src := oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t", Expiry: time.Now().Add(time.Hour)}))
		src.Token()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := src.Token(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
