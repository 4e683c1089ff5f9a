// Command bench measures milligold-go side by side with its peers and prints
// one Markdown table: the sandbox under wrk against a Prism mock and a bare
// net/http handler, the client limiter's quota simulation against
// golang.org/x/time/rate and no limiter, and the client's overhead against a
// hand-written call (from `go test -bench` output passed in with -gobench).
// bench/run.sh (make bench) installs the tools and runs it.
//
// It lives in bench/, not cmd/, because it is a maintainer's tool run from
// the repository, not something a user installs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"
	"time"

	"github.com/milligold/milligold-go/bench/quota"
	"github.com/milligold/milligold-go/sandbox"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	spec, wrk, prism, prismVersion string
	milligold                      string
	gcPercent                      int
	threads, conns, rounds         int
	duration, warmup               time.Duration
	gobench                        string
	cpuprofile, memprofile, trace  string
	paced                          float64
	only                           string
	skipQuota, skipControl         bool
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.spec, "spec", "openapi.yaml", "the spec Prism mocks")
	fs.StringVar(&o.wrk, "wrk", "wrk", "wrk binary")
	fs.StringVar(&o.prism, "prism", "", "prism binary; empty skips the Prism row")
	fs.StringVar(&o.prismVersion, "prism-version", "", "Prism's version, for the table")
	fs.StringVar(&o.milligold, "milligold", "", "a built milligold binary: its sandbox's startup time and idle RSS are compared with Prism's; empty skips the row")
	fs.IntVar(&o.threads, "threads", 2, "wrk threads")
	fs.IntVar(&o.conns, "conns", 64, "wrk connections")
	fs.IntVar(&o.rounds, "rounds", 7, "measured rounds; each round loads every server once, in a changing order, and the table gives medians and ranges")
	fs.DurationVar(&o.duration, "duration", 2*time.Second, "each measured wrk run (whole seconds)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "the unmeasured wrk run each server gets before the rounds (whole seconds)")
	fs.StringVar(&o.gobench, "gobench", "", "file with `go test -bench -benchmem` output to fold into the table")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the sandbox's measured run to this file")
	fs.StringVar(&o.memprofile, "memprofile", "", "write an allocation profile after the sandbox's measured run to this file")
	fs.StringVar(&o.trace, "trace", "", "write a runtime/trace of each in-process server's measured run in the first round to this path plus \".\" and the server's name (go tool trace -pprof=sched FILE)")
	fs.Float64Var(&o.paced, "paced", 0.5, "also load the sandbox GET and the bare GET at the same offered rate, this share of the bare GET's flat-out rate in its warm-up (0 leaves the paced rows out)")
	fs.StringVar(&o.only, "only", "", `"sandbox" loads only the sandbox (for profiling); "control" only the sandbox with --control and a console open, then its bare pair (profiled by -cpuprofile); "quota" runs only the simulation; "quota-real" runs only the real-clock quota proof (jitter proxy, about 80 s)`)
	fs.BoolVar(&o.skipQuota, "skip-quota", false, "leave out the quota simulation")
	fs.BoolVar(&o.skipControl, "skip-control", false, "leave out the sandbox with --control (journal and an open console)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || o.duration < time.Second || o.warmup < 0 || o.threads < 1 || o.conns < o.threads || o.rounds < 1 || o.paced < 0 || o.paced >= 1 ||
		(o.only != "" && o.only != "sandbox" && o.only != "control" && o.only != "quota" && o.only != "quota-real") {
		fmt.Fprintln(stderr, "bench: bad arguments: want -duration >= 1s, -rounds >= 1, -conns >= -threads >= 1, 0 <= -paced < 1, -only sandbox|control|quota|quota-real, no positional arguments")
		return 2
	}
	// The sandbox runs in this process: give it the GC target `milligold
	// sandbox` serves with, unless GOGC says otherwise. The bare handlers
	// share the process and the setting.
	gcPercent := sandbox.DefaultGCPercent
	if v := os.Getenv("GOGC"); v != "" {
		gcPercent = debug.SetGCPercent(100)
		debug.SetGCPercent(gcPercent)
	} else {
		debug.SetGCPercent(gcPercent)
	}
	o.gcPercent = gcPercent
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.only == "quota-real" {
		if err := runQuotaReal(ctx, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		return 0
	}
	rep, err := measure(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	rep.write(stdout)
	return 0
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "bench: "+format+"\n", args...)
}

// measure runs every comparison o asks for.
func measure(ctx context.Context, o options, log io.Writer) (*report, error) {
	rep := &report{machine: machine(), loadBefore: loadAverage(), load: o, prismVersion: o.prismVersion}
	if o.only != "quota" {
		if err := measureServers(ctx, o, rep, log); err != nil {
			return nil, err
		}
	}
	if o.only != "sandbox" && o.only != "control" && !o.skipQuota {
		for _, c := range []quota.Client{quota.Ours, quota.OursFixed, quota.TokenBucket(0.5, 10), quota.TokenBucket(0.5, 1), quota.Unlimited} {
			logf(log, "quota simulation: %s", c.Name)
			r, err := quota.Run(quota.Document, c)
			if err != nil {
				return nil, err
			}
			rep.quota = append(rep.quota, r)
		}
	}
	if o.gobench != "" {
		out, err := os.ReadFile(o.gobench)
		if err != nil {
			return nil, err
		}
		if rep.bench, err = ParseGoBench(string(out)); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// measureServers loads every server in alternating rounds: each round runs
// wrk once against each, a server and its peer back to back, in an order
// that changes every round (see order), so a burst of load from elsewhere on
// the machine spreads over all of them instead of hurting one. The table reports medians and ranges over the rounds, and each ratio
// as the median of its per-round ratios. GET /gold/rate goes to the sandbox,
// a bare net/http handler writing the bytes the sandbox answered with, and
// Prism mocking the spec twice (as users run it, and with -v error); POST
// /auth/token goes to the sandbox and a bare handler that reads the form and
// writes the sandbox's token answer.
func measureServers(ctx context.Context, o options, rep *report, log io.Writer) error {
	sbRate, sbToken, err := startSandbox(ctx, false)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer sbRate.Stop()
	status, body, err := send(ctx, sbRate)
	if err != nil || status != 200 {
		return fmt.Errorf("sandbox: GET %s = %d, %v; want 200", sbRate.URL, status, err)
	}
	rep.body = len(body)
	status, tokenBody, err := send(ctx, sbToken)
	if err != nil || status != 200 {
		return fmt.Errorf("sandbox: POST %s = %d, %v; want 200", sbToken.URL, status, err)
	}
	// In pairs, each ours then its peer (see order): sandbox GET and bare
	// GET, sandbox POST and bare POST, sandbox --control GET and bare GET,
	// Prism and Prism -v error.
	targets := []Target{sbRate}
	if o.only == "control" {
		base, stopBare, err := serve(bareHandler("application/json", body))
		if err != nil {
			return err
		}
		defer stopBare()
		ctlRate, _, err := startSandbox(ctx, true)
		if err != nil {
			return fmt.Errorf("sandbox --control: %w", err)
		}
		defer ctlRate.Stop()
		targets = []Target{ctlRate, {Name: "bare GET (--control pair)", URL: base + "/partner/gold/rate", Header: ctlRate.Header, Histogram: true}}
	} else if o.only != "sandbox" {
		base, stopBare, err := serve(bareHandler("application/json", body))
		if err != nil {
			return err
		}
		defer stopBare()
		bareToken, stopBareToken, err := serve(bareHandler("application/json", tokenBody))
		if err != nil {
			return err
		}
		defer stopBareToken()
		targets = append(targets,
			Target{Name: "bare GET", URL: base + "/partner/gold/rate", Header: sbRate.Header, Histogram: true},
			sbToken,
			Target{Name: "bare POST", URL: bareToken + "/partner/auth/token", Method: sbToken.Method, Body: sbToken.Body, ContentType: sbToken.ContentType})
		if !o.skipControl {
			// `milligold sandbox --control`, paired with a bare GET of its own.
			ctlRate, _, err := startSandbox(ctx, true)
			if err != nil {
				return fmt.Errorf("sandbox --control: %w", err)
			}
			defer ctlRate.Stop()
			targets = append(targets, ctlRate, Target{Name: "bare GET (--control pair)", URL: base + "/partner/gold/rate", Header: ctlRate.Header, Histogram: true})
		}
		if o.milligold != "" {
			logf(log, "starting %s sandbox for its startup time and idle RSS", o.milligold)
			fp, err := sandboxFootprint(ctx, o.milligold)
			if err != nil {
				return err
			}
			rep.sandboxFP = &fp
		}
		if o.prism != "" {
			for _, p := range []struct {
				name  string
				extra []string
			}{{"Prism", nil}, {"Prism -v error", []string{"-v", "error"}}} {
				logf(log, "starting %s mock of %s", p.name, o.spec)
				pr, startup, pgid, err := startPrism(ctx, o.prism, o.spec, "/gold/rate", sbRate.Header, p.extra, io.Discard)
				if err != nil {
					return err
				}
				defer pr.Stop()
				if p.extra == nil {
					time.Sleep(settle)
					rss, err := groupRSS(pgid)
					if err != nil {
						return err
					}
					rep.prismFP = &Footprint{Startup: startup, RSS: rss}
				}
				pr.Name = p.name
				pr.External = true
				targets = append(targets, pr)
			}
		} else {
			logf(log, "no -prism: leaving Prism out")
		}
	}
	if o.only == "sandbox" {
		targets = append(targets, sbToken)
	}
	for i, t := range targets {
		l, err := warm(ctx, o, t, log)
		if err != nil {
			return err
		}
		if t.Name == "bare GET" && o.paced > 0 {
			// The paced pair: the sandbox GET and the bare GET at one
			// offered rate, the same in every round, so their latencies
			// compare at equal load instead of at each one's saturation.
			if l.RPS == 0 { // no warm-up: a second flat out for the rate
				if l, err = load(ctx, o, t, time.Second, log, "", "", ""); err != nil {
					return err
				}
			}
			rep.pacedRate = math.Round(o.paced*l.RPS/100) * 100
			rep.pacedShare = o.paced
			sb, bare := targets[0], targets[i]
			sb.Name, bare.Name = "sandbox GET paced", "bare GET paced"
			sb.Rate, bare.Rate = rep.pacedRate, rep.pacedRate
			targets = append(targets, sb, bare)
			for _, t := range targets[len(targets)-2:] {
				if _, err := warm(ctx, o, t, log); err != nil {
					return err
				}
			}
		}
	}
	series := make([]*Series, len(targets))
	for i, t := range targets {
		series[i] = &Series{Name: t.Name}
	}
	for round := range o.rounds {
		for _, i := range order(len(targets), round) {
			t := targets[i]
			cpu, mem, tr := "", "", ""
			if i == 0 && round == 0 {
				cpu, mem = o.cpuprofile, o.memprofile
			}
			if round == 0 && o.trace != "" && !t.External {
				tr = o.trace + "." + fileName(t.Name)
			}
			l, err := load(ctx, o, t, o.duration, log, cpu, mem, tr)
			if err != nil {
				return err
			}
			if l.Non2xx > 0 {
				return fmt.Errorf("%s answered %d of %d requests with a non-2xx status: the rate limit tripped or the token was refused", t.Name, l.Non2xx, l.Requests)
			}
			series[i].Rounds = append(series[i].Rounds, l)
		}
		rep.loads = append(rep.loads, loadAverage())
	}
	rep.series = series
	return nil
}

// warm loads t for o.warmup, and returns what it measured (zero without a
// warm-up).
func warm(ctx context.Context, o options, t Target, log io.Writer) (Load, error) {
	if o.warmup < time.Second {
		return Load{}, nil
	}
	logf(log, "warming up %s (%v)", t.Name, o.warmup)
	t.Histogram = false // not reported
	l, out, err := runWrk(ctx, o.wrk, t, o.threads, o.conns, o.warmup)
	if err != nil {
		return Load{}, fmt.Errorf("%w\n%s", err, out)
	}
	return l, nil
}

// fileName makes a target's name a file name suffix: "sandbox GET paced"
// is "sandbox-GET-paced".
func fileName(name string) string {
	return strings.Join(strings.FieldsFunc(name, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}), "-")
}

// load measures t for d, optionally profiling or tracing this process (the
// sandbox runs in it) meanwhile.
func load(ctx context.Context, o options, t Target, d time.Duration, log io.Writer, cpuprofile, memprofile, tracefile string) (Load, error) {
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return Load{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return Load{}, err
		}
		defer pprof.StopCPUProfile()
	}
	if tracefile != "" {
		f, err := os.Create(tracefile)
		if err != nil {
			return Load{}, err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return Load{}, err
		}
		defer trace.Stop()
	}
	paced := ""
	if t.Rate > 0 {
		paced = fmt.Sprintf(", paced to %.0f req/s", t.Rate)
	}
	logf(log, "loading %s: wrk -t%d -c%d -d%v --latency %s%s", t.Name, o.threads, o.conns, d, t.URL, paced)
	cpu0 := processCPU()
	l, out, err := runWrk(ctx, o.wrk, t, o.threads, o.conns, d)
	if err != nil {
		return Load{}, fmt.Errorf("%w\n%s", err, out)
	}
	l.CPU = processCPU() - cpu0
	if l.Requests == 0 {
		return Load{}, fmt.Errorf("wrk against %s completed no request:\n%s", t.Name, out)
	}
	if l.Errors > 0 {
		logf(log, "%s: %d socket errors during the run", t.Name, l.Errors)
	}
	if memprofile != "" {
		if err := writeHeapProfile(memprofile); err != nil {
			return Load{}, err
		}
	}
	return l, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	return errors.Join(err, f.Close())
}

// processCPU is the CPU time this process has used, user and system: the
// in-process servers' work (and this program's, which is idle while wrk
// runs). Unlike throughput, CPU per request hardly depends on how much of the
// machine other work takes.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
