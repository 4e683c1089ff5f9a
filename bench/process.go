package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Footprint is a server process as a user starts it: the time from exec to
// its first HTTP answer, and its resident memory once idle.
type Footprint struct {
	Startup time.Duration
	RSS     int64 // bytes, summed over the process group
}

// settle is how long a server idles after its first answer before its RSS
// is read.
const settle = time.Second

// sandboxFootprint starts `milligold sandbox` (the built binary) on a free
// port, as a user does, times its first answer and reads its idle RSS.
func sandboxFootprint(ctx context.Context, milligold string) (Footprint, error) {
	port, err := freePort()
	if err != nil {
		return Footprint{}, err
	}
	cmd := exec.Command(milligold, "sandbox", "--addr", "127.0.0.1:"+strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return Footprint{}, fmt.Errorf("milligold sandbox: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer stopGroup(cmd.Process.Pid, exited, 10*time.Second)
	url := fmt.Sprintf("http://127.0.0.1:%d/partner/gold/rate", port)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if status, _, err := get(ctx, url, ""); err == nil {
			if status != http.StatusUnauthorized {
				return Footprint{}, fmt.Errorf("milligold sandbox: GET %s without a token = %d; want 401", url, status)
			}
			break
		}
		select {
		case err := <-exited:
			return Footprint{}, fmt.Errorf("milligold sandbox exited before serving: %v", err)
		case <-ctx.Done():
			return Footprint{}, fmt.Errorf("milligold sandbox: not serving %s after 30s", url)
		case <-time.After(2 * time.Millisecond):
		}
	}
	f := Footprint{Startup: time.Since(began)}
	time.Sleep(settle)
	f.RSS, err = groupRSS(cmd.Process.Pid)
	return f, err
}

// stopGroup sends SIGTERM to process group pgid and waits for its leader to
// exit (exited), with SIGKILL after grace.
func stopGroup(pgid int, exited <-chan error, grace time.Duration) {
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
	}
}

// groupRSS sums VmRSS over the processes of process group pgid (Prism's CLI
// may run its server in a child).
func groupRSS(pgid int) (int64, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, err
	}
	var total int64
	found := false
	for _, stat := range stats {
		b, err := os.ReadFile(stat)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces, so cut at the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		rss, err := vmRSS(filepath.Join(filepath.Dir(stat), "status"))
		if err != nil {
			continue
		}
		total += rss
		found = true
	}
	if !found {
		return 0, fmt.Errorf("no process in group %d", pgid)
	}
	return total, nil
}

// vmRSS reads the VmRSS line of a /proc/PID/status file, in bytes.
func vmRSS(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fs := strings.Fields(v)
			if len(fs) == 2 && fs[1] == "kB" {
				n, err := strconv.ParseInt(fs[0], 10, 64)
				return n << 10, err
			}
		}
	}
	return 0, fmt.Errorf("%s: no VmRSS", path)
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
