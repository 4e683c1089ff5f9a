package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// onSandbox starts an in-process sandbox with fault injection and a fake
// clock, serves it through wrap (nil: as it is), and returns the target and
// the options that run every case on the sandbox's clock.
func onSandbox(t *testing.T, wrap func(http.Handler) http.Handler) (Target, Options) {
	t.Helper()
	sb := sandboxtest.New(t, sandboxtest.WithFaults(), sandboxtest.WithFakeClock())
	base := sb.URL
	if wrap != nil {
		srv := httptest.NewServer(wrap(sb.Handler))
		t.Cleanup(srv.Close)
		base = srv.URL + sandbox.BasePath
	}
	sleep := func(ctx context.Context, d time.Duration) error {
		sb.Advance(d) // waiting out a window takes no time
		return ctx.Err()
	}
	return Target{BaseURL: base, PartnerID: sb.PartnerID, PartnerSecret: sb.PartnerSecret},
		Options{Faults: true, RateLimit: true, Expiry: true, Now: sb.Now, Sleep: sleep}
}

// TestSuiteAgainstSandbox: the whole suite, the optional cases included,
// passes against the in-process sandbox, and every pair the spec documents
// is exercised. The clock starts on and off a whole second, since the reset
// header is rounded to seconds.
func TestSuiteAgainstSandbox(t *testing.T) {
	for _, offset := range []time.Duration{0, 400 * time.Millisecond, 999 * time.Millisecond} {
		t.Run(fmt.Sprintf("clock+%s", offset), func(t *testing.T) {
			target, opts := onSandbox(t, nil)
			opts.Sleep(context.Background(), offset)
			rep := Run(context.Background(), target, opts)
			if rep.Error != "" {
				t.Fatal(rep.Error)
			}
			for _, c := range rep.Cases {
				if c.Result != Pass {
					t.Errorf("%s: %s: %s", c.Name, c.Result, c.Detail())
					for _, v := range c.Violations[min(1, len(c.Violations)):] {
						t.Errorf("also: %s", v)
					}
				}
			}
			if len(rep.NotExercised) != 0 {
				t.Errorf("not exercised: %v; want every documented pair", rep.NotExercised)
			}
		})
	}
}

// TestDefaultRunSkipsOnlyTheOptional: by default (as against a real URL)
// the 500s and the 429s are skipped and reported as not exercised, and
// nothing else.
func TestDefaultRunSkipsOnlyTheOptional(t *testing.T) {
	target, opts := onSandbox(t, nil)
	opts.Faults, opts.RateLimit, opts.Expiry = false, false, false
	rep := Run(context.Background(), target, opts)
	var skipped, optional []string
	for _, c := range mustSuiteCases(t) {
		if c.needs != needNothing {
			optional = append(optional, c.name())
		}
	}
	for _, c := range rep.Cases {
		switch c.Result {
		case Skip:
			skipped = append(skipped, c.Name)
		case Fail:
			t.Errorf("%s: fail: %s", c.Name, c.Detail())
		}
	}
	v, err := NewValidator(sandbox.BasePath)
	if err != nil {
		t.Fatal(err)
	}
	var want []Pair
	for _, p := range v.Documented() {
		if p.Status == http.StatusInternalServerError || p.Status == http.StatusTooManyRequests {
			want = append(want, p)
		}
	}
	if !slices.Equal(rep.NotExercised, want) {
		t.Errorf("NotExercised = %v; want %v", rep.NotExercised, want)
	}
	if !slices.Equal(skipped, optional) {
		t.Errorf("skipped %q; want the optional cases %q", skipped, optional)
	}
}
