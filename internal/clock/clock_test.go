package clock

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFakeSleepWakesOnAdvance(t *testing.T) {
	f := NewFake(t0)
	done := make(chan error, 1)
	go func() { done <- f.Sleep(context.Background(), 10*time.Second) }()
	for f.Sleepers() != 1 {
		runtime.Gosched()
	}
	if next, ok := f.Next(); !ok || !next.Equal(t0.Add(10*time.Second)) {
		t.Errorf("Next() = %v, %v; want %v", next, ok, t0.Add(10*time.Second))
	}
	f.Advance(10*time.Second - 1)
	if f.Sleepers() != 1 {
		t.Fatal("sleeper woke before its time")
	}
	f.Advance(1)
	if err := <-done; err != nil {
		t.Errorf("Sleep = %v; want nil", err)
	}
}

func TestFakeSleepCancel(t *testing.T) {
	f := NewFake(t0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Sleep(ctx, time.Hour) }()
	for f.Sleepers() != 1 {
		runtime.Gosched()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep after cancel = %v; want context.Canceled", err)
	}
	if f.Sleepers() != 0 || !f.Now().Equal(t0) {
		t.Errorf("after cancel: %d sleepers at %v; want 0 at %v", f.Sleepers(), f.Now(), t0)
	}
}

func TestAutoSleepMovesTime(t *testing.T) {
	f := NewAuto(t0)
	if err := f.Sleep(context.Background(), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := f.Now().Sub(t0); got != 3*time.Second {
		t.Errorf("Now after Sleep(3s) = t0+%v; want t0+3s", got)
	}
}

func TestRealSleepCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(cancelled, 1h) = %v; want context.Canceled", err)
	}
}

func TestFakeSleptRecordsEveryCall(t *testing.T) {
	f := NewAuto(time.Unix(0, 0))
	for _, d := range []time.Duration{time.Second, 0, 3 * time.Second} {
		if err := f.Sleep(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := f.Slept(), []time.Duration{time.Second, 0, 3 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("Slept() = %v; want %v", got, want)
	}
	if got := f.Now(); !got.Equal(time.Unix(4, 0)) {
		t.Errorf("Now() = %v; want 4 s after the start", got)
	}
}
