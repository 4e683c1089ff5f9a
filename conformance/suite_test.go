package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
)

// TestEveryDocumentedPairHasACase is the coverage test: a documented pair
// that neither a written case nor a derived one (derive.go) asserts fails
// it, by name, and a case for a pair the spec does not document fails it too.
func TestEveryDocumentedPairHasACase(t *testing.T) {
	v, err := NewValidator("/partner")
	if err != nil {
		t.Fatal(err)
	}
	all := mustSuiteCases(t)
	names := map[string]bool{}
	for _, c := range all {
		if names[c.name()] {
			t.Errorf("two cases are named %q", c.name())
		}
		names[c.name()] = true
	}
	for _, p := range uncovered(v.Documented(), all) {
		t.Errorf("openapi.yaml documents %s, and no case asserts it or can be derived for it", p)
	}
	documented := map[Pair]bool{}
	for _, p := range v.Documented() {
		documented[p] = true
	}
	for _, c := range all {
		if !documented[c.pair] {
			t.Errorf("a case asserts %s, which openapi.yaml does not document", c.pair)
		}
	}
}

func mustSuiteCases(t *testing.T) []testCase {
	t.Helper()
	all, err := suiteCases()
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestOptionalCasesAreTheOnlyGaps: what a default run leaves out is exactly
// the 500s (fault injection) and the 429s (quota), so Report.NotExercised
// of a default run is honest.
func TestOptionalCasesAreTheOnlyGaps(t *testing.T) {
	byDefault := map[Pair]bool{}
	optional := map[Pair]need{}
	for _, c := range mustSuiteCases(t) {
		if c.needs == needNothing {
			byDefault[c.pair] = true
		} else if !byDefault[c.pair] {
			optional[c.pair] = c.needs
		}
	}
	for p, n := range optional {
		if byDefault[p] {
			continue
		}
		want := map[need]int{needFaults: http.StatusInternalServerError, needRateLimit: http.StatusTooManyRequests}[n]
		if p.Status != want {
			t.Errorf("%s is exercised only by an optional case (need %d); only %d may be", p, n, want)
		}
	}
}

func TestTargetKeepsTheSecret(t *testing.T) {
	tg := Target{BaseURL: "http://127.0.0.1:8080/partner", PartnerID: "p1", PartnerSecret: secret}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(format, tg); strings.Contains(got, secret) || !strings.Contains(got, "p1") {
			t.Errorf("Sprintf(%q, target) = %q; want the partner ID and no secret", format, got)
		}
	}
}

func TestRunRejectsABadBaseURL(t *testing.T) {
	for _, base := range []string{"", "127.0.0.1:8080/partner", "ftp://host/partner", "http:///partner", "::"} {
		rep := Run(context.Background(), Target{BaseURL: base, PartnerID: "p", PartnerSecret: secret}, Options{})
		if rep.Error == "" || rep.Passed() || len(rep.Cases) != 0 {
			t.Errorf("Run(base URL %q) = error %q, passed %v, %d cases; want an error and no cases", base, rep.Error, rep.Passed(), len(rep.Cases))
		}
	}
}

// TestRunRefusesPlainHTTPToAnotherHost: the suite sends the secret, so a
// plain http URL to another machine is refused before any request, unless
// the target says the network is trusted.
func TestRunRefusesPlainHTTPToAnotherHost(t *testing.T) {
	for _, tc := range []struct {
		base     string
		insecure bool
		sends    bool
	}{
		{"http://api.example.com/partner", false, false},
		{"http://10.0.0.1:8080/partner", false, false},
		{"http://api.example.com/partner", true, true},
		{"https://api.example.com/partner", false, true},
		{"http://127.0.0.1:1/partner", false, true},
		{"http://localhost:1/partner", false, true},
		{"http://[::1]:1/partner", false, true},
	} {
		var sent []string
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent = append(sent, r.URL.String())
			return nil, fmt.Errorf("not sent anywhere")
		})
		rep := Run(context.Background(), Target{BaseURL: tc.base, PartnerID: "p", PartnerSecret: secret, InsecureHTTP: tc.insecure, Transport: rt}, Options{})
		if refused := strings.Contains(rep.Error, "plain http"); refused == tc.sends {
			t.Errorf("Run(%q, insecure %v): error %q; want refused = %v", tc.base, tc.insecure, rep.Error, !tc.sends)
		}
		if got := len(sent) > 0; got != tc.sends {
			t.Errorf("Run(%q, insecure %v) sent %d requests; want any = %v", tc.base, tc.insecure, len(sent), tc.sends)
		}
		if strings.Contains(rep.Error, secret) {
			t.Errorf("Run(%q): error %q carries the secret", tc.base, rep.Error)
		}
	}
}

func TestPacer(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	reset := fmt.Sprint(start.Unix() + 7)
	tests := []struct {
		name      string
		answers   []int // statuses the server gives in turn
		header    http.Header
		limited   bool // the case expects the 429
		want      int
		wantSlept []time.Duration
	}{
		{name: "200", answers: []int{200}, want: 200},
		{name: "429 resetting now", answers: []int{429, 200}, header: limitHeaders(""), want: 200,
			wantSlept: []time.Duration{time.Second}}, // the margin only
		{name: "429 with reset ahead", answers: []int{429, 200}, header: http.Header{"X-Rate-Limit-Reset": {reset}}, want: 200,
			wantSlept: []time.Duration{8 * time.Second}},
		{name: "429 wanted", answers: []int{429, 200}, header: http.Header{"X-Rate-Limit-Reset": {reset}}, limited: true, want: 429},
		{name: "429 without reset", answers: []int{429, 200}, want: 429},
		{name: "429 reset too far", answers: []int{429, 200}, header: http.Header{"X-Rate-Limit-Reset": {fmt.Sprint(start.Unix() + 3600)}}, want: 429},
		{name: "429 three times", answers: []int{429, 429, 429, 200}, header: http.Header{"X-Rate-Limit-Reset": {reset}}, want: 429,
			wantSlept: []time.Duration{8 * time.Second, 0}}, // the reset has passed: no further wait
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			var bodies []string
			base := under(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var b bytes.Buffer
				b.ReadFrom(r.Body)
				bodies = append(bodies, b.String())
				status := tt.answers[calls]
				calls++
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(status)
			}))
			clk := clock.NewAuto(start)
			p := &pacer{client: http.DefaultClient, resetHeader: "X-Rate-Limit-Reset", maxWait: 21 * time.Second,
				now: clk.Now, sleep: clk.Sleep}
			ctx := context.Background()
			if tt.limited {
				ctx = expectLimited(ctx)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/auth/token", strings.NewReader("partnerId=p"))
			resp, err := p.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d; want %d", resp.StatusCode, tt.want)
			}
			if !slices.Equal(clk.Slept(), tt.wantSlept) {
				t.Errorf("slept %v; want %v", clk.Slept(), tt.wantSlept)
			}
			for i, b := range bodies {
				if b != "partnerId=p" {
					t.Errorf("attempt %d sent body %q; want the original", i+1, b)
				}
			}
		})
	}
}

func TestReportOutput(t *testing.T) {
	rep := Report{
		BaseURL: "http://127.0.0.1:8080/partner",
		Cases: []CaseResult{
			{Name: "GET /gold/rate: 200", Pair: Pair{opRate, 200}, Result: Fail,
				Violations: []Violation{{Side: SideResponse, Operation: opRate, Status: 200, Source: SourceKin, Message: "/data/rate: value must be a number"}}},
			{Name: "GET /user/info/{mobileNumber}: 404", Pair: Pair{opUser, 404}, Result: Fail, Error: "status 200;\nwant 404"},
			{Name: "POST /auth/token: 200", Pair: Pair{opToken, 200}, Result: Pass},
			{Name: "GET /gold/rate: 500 (injected fault)", Pair: Pair{opRate, 500}, Result: Skip, Error: "off: needs a sandbox with fault injection (Options.Faults)"},
		},
		NotExercised: []Pair{{opRate, 500}},
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"CASE ", "RESULT", "FIRST VIOLATION",
		"GET /gold/rate: 200                   fail    response GET /gold/rate 200: /data/rate: value must be a number\n",
		"GET /user/info/{mobileNumber}: 404    fail    status 200; want 404\n",
		"POST /auth/token: 200                 pass\n",
		"1 passed, 2 failed, 1 skipped; not exercised: GET /gold/rate: 500\n",
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("the JSON report does not decode: %v", err)
	}
	if back.Passed() || back.Count(Fail) != 2 || back.Cases[0].Violations[0].Message != "/data/rate: value must be a number" {
		t.Errorf("decoded report = %+v; want the original", back)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
