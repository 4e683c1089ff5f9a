package sandbox

import (
	"net/http"
	"time"
)

// Windows lets the external tests see how many rate-limit windows are live.
func (s *Sandbox) Windows() int { return s.windows() }

// WithoutHandWritten treats the operations ids as having no hand-written
// behaviour until the test ends, so a config may declare their responses:
// the spec's operations all have some today. Not for parallel tests.
func WithoutHandWritten(t interface{ Cleanup(func()) }, ids ...string) {
	saved := handWritten
	handWritten = map[string]string{}
	for id, what := range saved {
		handWritten[id] = what
	}
	for _, id := range ids {
		delete(handWritten, id)
	}
	t.Cleanup(func() { handWritten = saved })
}

// SetStreamTimer replaces how journal streams wait between sends (before
// any stream opens).
func (c *Control) SetStreamTimer(interval time.Duration, after func(time.Duration) <-chan time.Time) {
	c.streamInterval, c.after = interval, after
}

// NewOnServeMux is New with net/http's ServeMux as the router, which the
// sandbox's router.Router is held to.
func NewOnServeMux(cfg Config) (*Sandbox, error) { return buildOn(cfg, nil, http.NewServeMux()) }
