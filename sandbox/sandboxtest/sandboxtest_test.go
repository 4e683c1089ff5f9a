package sandboxtest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/ratelimit"
)

// recorder is a testing.TB whose Fatal records instead of stopping.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Helper()           {}
func (r *recorder) Fatal(args ...any) { r.fatal = fmt.Sprint(args...) }

func TestAdvanceWithoutFakeClockFailsTheTest(t *testing.T) {
	rec := &recorder{TB: t}
	sb := New(rec)
	sb.Advance(time.Second) // must not panic
	if !strings.Contains(rec.fatal, "Advance needs WithFakeClock") {
		t.Errorf("Advance without WithFakeClock: Fatal(%q); want it to name WithFakeClock", rec.fatal)
	}
}

func TestAdvanceMovesTheFakeClock(t *testing.T) {
	sb := New(t, WithFakeClock())
	t0 := sb.Now()
	sb.Advance(21 * time.Second)
	if got := sb.Now().Sub(t0); got != 21*time.Second {
		t.Errorf("Now moved %v after Advance(21s); want 21s", got)
	}
}

// TestOneClockDrivesSandboxAndClient: with the sandbox's Now and Sleep, the
// client's limiter waits on the fake clock too: the 11th to 12th calls of a
// window park until Advance, with no wait on the real clock.
func TestOneClockDrivesSandboxAndClient(t *testing.T) {
	sb := New(t, WithFakeClock())
	c, err := milligold.New(milligold.WithBaseURL(sb.URL), milligold.WithCredentials(sb.PartnerID, sb.PartnerSecret),
		milligold.WithClock(sb.Now),
		milligold.WithLimiter(ratelimit.NewSlidingLog(middleware.RateLimit, ratelimit.WithClock(sb.Now, sb.Sleep))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a bound, not a wait
	defer cancel()
	const calls = 12
	errs := make(chan error, calls)
	go func() {
		for range calls {
			_, err := c.GoldRate(ctx)
			errs <- err
		}
	}()
	// The token and 9 calls fill the window; the 10th call parks.
	for sb.Sleepers() == 0 {
		if ctx.Err() != nil {
			t.Fatal("no call parked on the fake clock")
		}
		runtime.Gosched()
	}
	for i := range calls - 3 {
		if err := <-errs; err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	start := time.Now()
	sb.Advance(21 * time.Second)
	for i := calls - 3; i < calls; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("call %d after Advance: %v", i+1, err)
		}
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the calls after Advance took %v of real time; want no real wait", took)
	}
}
