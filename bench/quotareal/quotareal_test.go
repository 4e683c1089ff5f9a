package quotareal

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// TestScore: windows open at the first arrival after the previous one
// ended, as the sandbox's do; the last (cut by the end) does not count
// toward the quota; 429s are counted wherever they fall.
func TestScore(t *testing.T) {
	s := Setup{Requests: 2, Window: time.Second}
	t0 := time.Unix(1000, 0)
	at := func(ms int, status int) Arrival {
		return Arrival{At: t0.Add(time.Duration(ms) * time.Millisecond), Status: status}
	}
	a := []Arrival{
		at(0, 200), at(100, 200), at(200, 429), // window 1: [0, 1000)
		at(1250, 200), at(1900, 200), // window 2 opens at 1250
		at(2500, 200), // window 3 opens at 2500: the last, not complete
	}
	served, refused, windows, quota := Score(a, s)
	if served != 5 || refused != 1 || windows != 2 {
		t.Errorf("Score = %d served, %d refused, %d windows; want 5, 1, 2", served, refused, windows)
	}
	// 4 served in 2.5 s against 2 per second: 80%.
	if math.Abs(quota-0.8) > 1e-9 {
		t.Errorf("quota = %v; want 0.8", quota)
	}
	if _, _, w, q := Score(a[:1], s); w != 0 || q != 0 {
		t.Errorf("one window: %d complete windows, quota %v; want 0, 0", w, q)
	}
}

// TestProxyDelaysBothWays: a round trip through the proxy takes at least
// twice the minimum delay, the answer is the target's, and the arrival is
// recorded with its status.
func TestProxyDelaysBothWays(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Path", r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "body")
	}))
	defer target.Close()
	u, _ := url.Parse(target.URL)
	p := NewProxy(u, 40*time.Millisecond, 60*time.Millisecond, 1)
	px := httptest.NewServer(p)
	defer px.Close()
	start := time.Now()
	resp, err := http.Get(px.URL + "/partner/gold/rate")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("round trip through the proxy took %v; want 80ms at least (40 ms each way)", d)
	}
	if resp.StatusCode != http.StatusTeapot || string(b) != "body" || resp.Header.Get("X-Path") != "/partner/gold/rate" {
		t.Errorf("answer = %d %q, X-Path %q; want the target's", resp.StatusCode, b, resp.Header.Get("X-Path"))
	}
	if a := p.Arrivals(); len(a) != 1 || a[0].Status != http.StatusTeapot || a[0].At.Sub(start) < 40*time.Millisecond {
		t.Errorf("arrivals = %+v; want one 418, forwarded 40 ms after the request at least", a)
	}
}
