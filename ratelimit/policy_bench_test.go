package ratelimit

import (
	"net/http"
	"testing"
)

// TestLimitAllocatesNothing: Limit runs on every response the client gets,
// and most carry no limit header; reading one must not allocate.
func TestLimitAllocatesNothing(t *testing.T) {
	p := Policy{Requests: 10, Window: 20e9}
	for name, h := range map[string]http.Header{
		"absent":  {},
		"present": {HeaderLimit: {"10"}},
		"empty":   {HeaderLimit: {""}},
	} {
		if n := testing.AllocsPerRun(100, func() { p.Limit(h) }); n != 0 {
			t.Errorf("Limit(%s header) allocates %v times per call; want 0", name, n)
		}
	}
}

func BenchmarkPolicyLimit(b *testing.B) {
	p := Policy{Requests: 10, Window: 20e9}
	h := http.Header{"Content-Type": {"application/json"}}
	b.ReportAllocs()
	for b.Loop() {
		p.Limit(h)
	}
}
