package sandbox

import (
	"sync"
	"testing"
	"time"
)

// TestVerifiedTokenSlots: a verified token is kept in the slot of its
// hash and answered from it while valid; a token whose hash takes the same
// slot replaces it, and the first is then parsed again, with the same
// answer; a token is never answered from a slot holding another, nor past
// its expiry; many goroutines verifying at once (run with -race) agree.
func TestVerifiedTokenSlots(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	s, err := newSigner("test-key", time.Hour, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	slotOf := verifiedSlot
	first, _, err := s.issue(Partner{ID: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	var other string // another partner's token in the same slot
	for i := 0; other == ""; i++ {
		tok, _, err := s.issue(Partner{ID: "p2"})
		if err != nil {
			t.Fatal(err)
		}
		if slotOf(tok) == slotOf(first) {
			other = tok
		}
		if i > 100*verifiedSlots {
			t.Fatal("no two tokens in one slot")
		}
	}
	// The slots spread real tokens: 10,000 into 4,096 slots take about
	// 3,740 at random.
	taken := map[uint64]bool{}
	for range 10000 {
		tok, _, err := s.issue(Partner{ID: "p3"})
		if err != nil {
			t.Fatal(err)
		}
		if sl := slotOf(tok); sl >= verifiedSlots {
			t.Fatalf("slot %d of %d", sl, verifiedSlots)
		} else {
			taken[sl] = true
		}
	}
	if len(taken) < 3500 {
		t.Errorf("10,000 tokens took %d slots; want about 3,740", len(taken))
	}
	verify := func(tok, want string) {
		t.Helper()
		if id, err := s.verifyAt(tok, now); err != nil || id != want {
			t.Fatalf("verifyAt = %q, %v; want %q", id, err, want)
		}
	}
	verify(first, "p1")
	kept := s.verified[slotOf(first)].Load()
	if kept == nil || kept.token != first {
		t.Fatalf("slot after verifying: %+v; want the token", kept)
	}
	verify(first, "p1")
	if s.verified[slotOf(first)].Load() != kept {
		t.Error("a valid cached token was parsed again; want it answered from its slot")
	}
	verify(other, "p2") // replaces first
	if v := s.verified[slotOf(first)].Load(); v == kept || v.token != other {
		t.Errorf("slot after a second token: %+v; want that token", v)
	}
	verify(first, "p1") // parsed again, not mistaken for other
	clock = now.Add(2 * time.Hour)
	if _, err := s.verifyAt(first, clock); err == nil {
		t.Error("an expired token verified from its slot")
	}
	clock = now

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				tok, want := first, "p1"
				if (g+i)%2 == 1 {
					tok, want = other, "p2"
				}
				if id, err := s.verifyAt(tok, now); err != nil || id != want {
					t.Errorf("concurrent verifyAt = %q, %v; want %q", id, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
