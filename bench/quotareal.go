package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/milligold/milligold-go/bench/quotareal"
	"github.com/milligold/milligold-go/bench/redisserver"
	"github.com/milligold/milligold-go/ratelimit"
)

// runQuotaReal is -only quota-real: the client on the real clock, behind the
// jitter proxy, each mode against a fresh sandbox (see package quotareal).
func runQuotaReal(ctx context.Context, stdout, log io.Writer) error {
	s := quotareal.Default
	addr, stop, err := redisserver.Start()
	if err != nil {
		return err
	}
	defer stop()
	load0 := loadAverage()
	var rs []quotareal.Result
	for i, m := range quotareal.Modes {
		logf(log, "quota on the real clock: %s (%v)", m.Name, s.Duration)
		r, err := quotareal.Run(ctx, s, m, addr, uint64(i+1))
		if err != nil {
			return err
		}
		logf(log, "  %d served, %d 429s, %d complete windows, quota %.1f%%, margins %v", r.Served, r.Refused, r.Windows, 100*r.Quota, r.Margins)
		rs = append(rs, r)
	}
	fmt.Fprintf(stdout, "\n### Quota on the real clock (%d per %v, one-way jitter %v-%v each way, %d callers per client, %v per mode)\n\n",
		s.Requests, s.Window, s.MinLatency, s.MaxLatency, s.Callers, s.Duration)
	fmt.Fprintf(stdout, "The real sandbox behind a loopback proxy that sleeps a uniform %v-%v before forwarding each request and again before each answer; "+
		"the real client (its Transport reports round trips to the limiter); 429s as the sandbox answered them; quota is what the complete windows served "+
		"as a share of %d per %v back to back (a margin m allows at most %v/(%v+m): %.0f%% at 300 ms, %.0f%% at 1 s). "+
		"1-minute load average %s before, %s after.\n\n",
		s.MinLatency, s.MaxLatency, s.Requests, s.Window, s.Window, s.Window,
		100*s.Window.Seconds()/(s.Window.Seconds()+0.3), 100*s.Window.Seconds()/(s.Window+ratelimit.DefaultMargin).Seconds(), load0, loadAverage())
	fmt.Fprintln(stdout, "| measurement | ours | peer | ratio | target | met |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|")
	cell := func(r quotareal.Result) string {
		ms := make([]string, len(r.Margins))
		for i, m := range r.Margins {
			ms[i] = m.Round(time.Millisecond).String()
		}
		return fmt.Sprintf("%.1f%% of quota over %d complete windows (%d served in all), %d 429s, margin %s", 100*r.Quota, r.Windows, r.Served, r.Refused, strings.Join(ms, ", "))
	}
	for i := 0; i+1 < len(rs); i += 2 {
		ours, peer := rs[i], rs[i+1]
		fmt.Fprintf(stdout, "| client quota, real clock: %s vs %s | %s | %s | %.3fx | 0 429s, more than the fixed margin | %s |\n",
			ours.Name, peer.Name, cell(ours), cell(peer), ours.Quota/peer.Quota, met(ours.Refused == 0 && ours.Quota > peer.Quota))
	}
	return nil
}
