package ratelimit

import (
	"testing"
	"time"
)

func TestPeekAndReset(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFixedWindow(Policy{Requests: 3, Window: 20 * time.Second}, func() time.Time { return now })
	if _, _, ok := f.Peek("a"); ok {
		t.Fatal("Peek(a) before any request: ok; want no window")
	}
	f.Allow("a")
	f.Allow("a")
	count, reset, ok := f.Peek("a")
	if !ok || count != 2 || !reset.Equal(now.Add(20*time.Second)) {
		t.Fatalf("Peek(a) = %d, %v, %v; want 2, %v, true", count, reset, ok, now.Add(20*time.Second))
	}
	if c, _, _ := f.Peek("a"); c != 2 {
		t.Fatalf("Peek counted a request: %d; want 2", c)
	}
	now = now.Add(20 * time.Second)
	if _, _, ok := f.Peek("a"); ok {
		t.Fatal("Peek(a) after the window ended: ok; want no window")
	}
	f.Allow("a")
	f.Allow("a")
	f.Allow("a")
	if d := f.Allow("a"); d.Allowed {
		t.Fatal("4th request in a window of 3 allowed")
	}
	f.Reset()
	if d := f.Allow("a"); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after Reset: Allow = %+v; want allowed, 2 remaining", d)
	}
}
