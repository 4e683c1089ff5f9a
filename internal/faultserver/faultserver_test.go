package faultserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// api is a tiny stand-in for the sandbox: enough to show what each fault does
// to a real response.
var api = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"success":true,"data":{"rate":7150.5,"createdAt":1688994271,"pad":"`+strings.Repeat("x", 64)+`"}}`)
})

func get(t *testing.T, s *Server, path string, timeout time.Duration) (*http.Response, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer t0ken-value")
	res, err := s.Client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res, body, err
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		check func(t *testing.T, res *http.Response, body []byte, err error)
	}{
		{"reset", Reset(), func(t *testing.T, res *http.Response, body []byte, err error) {
			if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
				t.Errorf("err = %v; want a connection reset", err)
			}
		}},
		{"cut body", CutBody(), func(t *testing.T, res *http.Response, body []byte, err error) {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("err = %v; want io.ErrUnexpectedEOF while reading the body", err)
			}
		}},
		{"bad json", BadJSON(), func(t *testing.T, res *http.Response, body []byte, err error) {
			var v any
			if err != nil || res.StatusCode != 200 || json.Unmarshal(body, &v) == nil {
				t.Errorf("got %v, %q, %v; want 200 with undecodable JSON", res, body, err)
			}
		}},
		{"503 envelope", Status(503, http.Header{"Retry-After": {"1"}}), func(t *testing.T, res *http.Response, body []byte, err error) {
			var env struct {
				Success   bool
				Error     string
				ErrorCode string
			}
			if err != nil || res.StatusCode != 503 || json.Unmarshal(body, &env) != nil || env.Success || env.ErrorCode == "" || res.Header.Get("Retry-After") != "1" {
				t.Errorf("got %v, %q, %v; want 503 with the envelope and Retry-After", res, body, err)
			}
		}},
		{"delay past the timeout", Delay(time.Minute), func(t *testing.T, res *http.Response, body []byte, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v; want context.DeadlineExceeded", err)
			}
		}},
		{"edit data", EditData("skew", func(d map[string]any) { d["createdAt"] = d["createdAt"].(float64) - 5*3600 }), func(t *testing.T, res *http.Response, body []byte, err error) {
			if err != nil || !strings.Contains(string(body), `"createdAt":1688976271`) {
				t.Errorf("got %q, %v; want createdAt moved back 5 h", body, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, api)
			s.Plan(GetGoldRate, tt.fault)
			res, body, err := get(t, s, "/gold/rate", 300*time.Millisecond)
			tt.check(t, res, body, err)
			// The plan is used up: the next request passes through.
			if res, _, err := get(t, s, "/gold/rate", 5*time.Second); err != nil || res.StatusCode != 200 {
				t.Errorf("after the fault: %v, %v; want 200", res, err)
			}
			reqs := s.Requests()
			if len(reqs) < 2 || reqs[0].Fault != tt.fault.Name || reqs[len(reqs)-1].Fault != "" || reqs[0].Op != GetGoldRate || reqs[0].TokenID == "" {
				t.Errorf("Requests() = %+v; want the fault first, then a pass-through, with op and token id", reqs)
			}
		})
	}
}

func TestPlanAndAlways(t *testing.T) {
	s := New(t, api)
	s.Plan(GetGoldRate, Status(500, nil), Status(503, nil))
	s.Always(GetGoldRate, Status(401, nil))
	var got []int
	for range 4 {
		res, _, err := get(t, s, "/gold/rate", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res.StatusCode)
	}
	s.Always(GetGoldRate, Fault{})
	res, _, _ := get(t, s, "/gold/rate", 5*time.Second)
	got = append(got, res.StatusCode)
	if want := []int{500, 503, 401, 401, 200}; !slices.Equal(got, want) {
		t.Errorf("statuses = %v; want %v", got, want)
	}
	if got, want := s.Statuses(GetGoldRate), map[int]int{500: 1, 503: 1, 401: 2, 200: 1}; !maps.Equal(got, want) {
		t.Errorf("Statuses(getGoldRate) = %v; want %v", got, want)
	}
	if n := s.Count(GetGoldRate); n != 5 {
		t.Errorf("Count(getGoldRate) = %d; want 5", n)
	}
	if n := s.Count(GetUserInfo); n != 0 {
		t.Errorf("Count(getUserInfo) = %d; want 0", n)
	}
}

func TestTokenIDKeepsTheToken(t *testing.T) {
	s := New(t, api)
	get(t, s, "/gold/rate", 5*time.Second)
	if r := s.Requests()[0]; strings.Contains(r.TokenID, "t0ken") || len(r.TokenID) != 8 {
		t.Errorf("TokenID = %q; want an 8-digit hash, not the token", r.TokenID)
	}
}

func TestMaxInWindow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(secs ...float64) []Request {
		var rs []Request
		for _, s := range secs {
			rs = append(rs, Request{At: t0.Add(time.Duration(s * float64(time.Second)))})
		}
		return rs
	}
	tests := []struct {
		name string
		reqs []Request
		want int
	}{
		{"none", nil, 0},
		{"one", at(0), 1},
		{"all in one window", at(0, 1, 2, 19.9), 4},
		{"window is half-open", at(0, 20, 40), 1},
		{"worst alignment straddles two fixed windows", at(0, 15, 16, 17, 21, 22, 41), 5},
	}
	for _, tt := range tests {
		if got := MaxInWindow(tt.reqs, 20*time.Second); got != tt.want {
			t.Errorf("%s: MaxInWindow = %d; want %d", tt.name, got, tt.want)
		}
	}
}
