package conformance

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// BenchmarkTransport compares GET /gold/rate against the in-process sandbox
// through the plain transport (the peer) and through the validating
// Transport: the difference is what validating both sides costs.
func BenchmarkTransport(b *testing.B) {
	sb := sandboxtest.New(b, sandboxtest.WithConfig(func(c *sandbox.Config) { c.RateLimit.Requests = 1 << 20 }))
	form := url.Values{"partnerId": {sb.PartnerID}, "partnerSecret": {sb.PartnerSecret}}
	resp, err := http.Post(sb.URL+"/auth/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	tok, err := decodeToken(must(read(resp, nil)))
	if err != nil {
		b.Fatal(err)
	}
	validating, err := NewTransport(sb.URL, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		rt   http.RoundTripper
	}{{"plain", http.DefaultTransport}, {"validating", validating}} {
		b.Run(bc.name, func(b *testing.B) {
			hc := &http.Client{Transport: bc.rt}
			for b.Loop() {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, sb.URL+"/gold/rate", nil)
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d; want 200", resp.StatusCode)
				}
			}
		})
	}
	if vs := validating.Violations(); len(vs) > 0 {
		b.Errorf("violations: %v", vs)
	}
}

func must(r response, err error) response {
	if err != nil {
		panic(err)
	}
	return r
}
