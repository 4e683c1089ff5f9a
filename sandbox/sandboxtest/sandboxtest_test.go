package sandboxtest

import (
	"fmt"
	"strings"
	"testing"
	"time"
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
