package sandbox_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// withResponses is the default config with a responses section.
func withResponses(section string) string {
	return string(sandbox.DefaultYAML()) + "\nresponses:\n" + section
}

func TestResponsesRejects(t *testing.T) {
	sandbox.WithoutHandWritten(t, "getGoldRate") // an operation without behaviour, as a new one would be
	for _, tc := range []struct{ name, section, want string }{
		{"unknown operation", "  getGoldRat:\n    status: 200\n", "responses.getGoldRat: not an operation of the spec (did you mean getGoldRate?)"},
		{"far from any", "  listOrders:\n    status: 200\n", "responses.listOrders: not an operation of the spec (it has createAccessToken, getGoldRate, getUserInfo)"},
		{"hand-written", "  getUserInfo:\n    status: 200\n    data: {}\n", "responses.getUserInfo: getUserInfo has hand-written behaviour in the sandbox (configure it with users)"},
		{"undocumented status", "  getGoldRate:\n    status: 404\n    error: gone\n", "responses.getGoldRate.status: 404 is not a status the spec documents for getGoldRate (it documents 200, 401, 429, 500)"},
		{"no status", "  getGoldRate:\n    error: gone\n", "responses.getGoldRate.status: required"},
		{"schema broken", "  getGoldRate:\n    status: 200\n    data: {rate: cheap}\n", "responses.getGoldRate.data: the answer breaks the spec's schema for getGoldRate 200:"},
		{"data on an error", "  getGoldRate:\n    status: 500\n    data: {rate: 1}\n", "responses.getGoldRate.data: only for a 2xx"},
		{"error without message", "  getGoldRate:\n    status: 500\n", "responses.getGoldRate.error: required"},
		{"error on a success", "  getGoldRate:\n    status: 200\n    error: no\n", "responses.getGoldRate.error: only for a 4xx or 5xx"},
		{"unknown field", "  getGoldRate:\n    status: 500\n    eror: x\n", "responses.getGoldRate.eror: unknown key (did you mean error?)"},
		{"not a number", "  getGoldRate:\n    status: 200\n    data: {rate: 0x10}\n", "0x10 is not a JSON number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := withResponses(tc.section)
			_, err := sandbox.ParseConfig("c.yaml", []byte(data))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.section)
			}
			line := strings.Count(string(sandbox.DefaultYAML()), "\n") + 3 // the operation's line
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "c.yaml:") {
				t.Fatalf("error = %q; want it to contain %q", err, tc.want)
			}
			for _, l := range strings.Split(err.Error(), "\n") {
				var n int
				if _, e := fmtSscanLine(l, &n); e != nil || n < line || n > line+3 {
					t.Errorf("problem %q: want a line from %d to %d", l, line, line+3)
				}
			}
		})
	}
}

// fmtSscanLine reads the LINE of "c.yaml:LINE: ...".
func fmtSscanLine(l string, n *int) (int, error) {
	rest, _ := strings.CutPrefix(l, "c.yaml:")
	num, _, _ := strings.Cut(rest, ":")
	return 1, json.Unmarshal([]byte(num), n)
}

func TestResponsesHandWrittenRefusedByDefault(t *testing.T) {
	_, err := sandbox.ParseConfig("c.yaml", []byte(withResponses("  getGoldRate:\n    status: 200\n    data: {}\n")))
	if err == nil || !strings.Contains(err.Error(), "getGoldRate has hand-written behaviour in the sandbox (configure it with goldRate)") {
		t.Fatalf("error = %v", err)
	}
}

// TestResponsesServed declares getGoldRate's answers (as if it had no
// behaviour) and calls a real sandbox: the declared 2xx and 5xx come back
// in their envelopes, valid against the spec, behind the bearer check and
// rate limit, and Prefer still wins.
func TestResponsesServed(t *testing.T) {
	sandbox.WithoutHandWritten(t, "getGoldRate")
	spec, err := apispec.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	ok := withResponses("  getGoldRate:\n    status: 200\n    data:\n      rate: 2222.50\n      cgstRate: 0.01\n      sgstRate: 0.02\n      updatedAt: 2024-02-03T04:05:06Z\n")
	c, err := sandbox.ParseConfig("ok.yaml", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	sb := sandboxtest.New(t, sandboxtest.WithControl(sandbox.ControlOptions{}), sandboxtest.WithConfig(func(cfg *sandbox.Config) {
		cfg.Responses = c.Responses
		cfg.RateLimit = sandbox.RateLimit{Requests: 4, WindowSeconds: 3600}
	}))
	tok := token(t, sb)
	res, body := call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok))
	validate(t, spec, res, body)
	want := `{"success":true,"data":{"rate":2222.50,"cgstRate":0.01,"sgstRate":0.02,"updatedAt":"2024-02-03T04:05:06Z"}}`
	if res.StatusCode != 200 || !jsonEqual(t, body, []byte(want)) {
		t.Fatalf("declared 200: got %d %s; want %s", res.StatusCode, body, want)
	}
	if !strings.Contains(string(body), "2222.50") {
		t.Errorf("body %s lost the declared digits 2222.50", body)
	}
	if res, body := call(t, "GET", sb.URL+"/gold/rate", "", nil); res.StatusCode != 401 {
		t.Errorf("without a token: %d %s; want 401", res.StatusCode, body)
	}
	h := bearer(tok)
	h.Set("Prefer", "code=500")
	res, body = call(t, "GET", sb.URL+"/gold/rate", "", h)
	if res.StatusCode != 500 || strings.Contains(string(body), "2222") {
		t.Errorf("Prefer: code=500 over the declared 200: %d %s", res.StatusCode, body)
	}
	// The window of 4 refuses within 4 more requests: the limit still applies.
	limited := false
	for range 4 {
		if res, _ := call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok)); res.StatusCode == 429 {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("declared answers escaped the rate limit: no 429 past 4 requests a window")
	}

	bad := withResponses("  getGoldRate:\n    status: 500\n    error: the vault is closed\n")
	c, err = sandbox.ParseConfig("err.yaml", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	sb = sandboxtest.New(t, sandboxtest.WithConfig(func(cfg *sandbox.Config) { cfg.Responses = c.Responses }))
	tok = token(t, sb)
	codes := map[string]bool{}
	for range 2 {
		res, body := call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok))
		validate(t, spec, res, body)
		var env struct {
			Success   bool
			Error     string
			ErrorCode string
		}
		if err := json.Unmarshal(body, &env); err != nil || res.StatusCode != 500 || env.Success || env.Error != "the vault is closed" || !uuidPattern.MatchString(env.ErrorCode) {
			t.Fatalf("declared 500: got %d %s", res.StatusCode, body)
		}
		codes[env.ErrorCode] = true
	}
	if len(codes) != 2 {
		t.Errorf("errorCode repeated across answers: %v", codes)
	}
}

// TestResponsesValidatedInNew: a Config built in Go is held to the spec too.
func TestResponsesValidatedInNew(t *testing.T) {
	cfg := sandbox.Default()
	cfg.Responses = map[string]sandbox.Response{"getGoldRate": {Status: 200, Data: map[string]any{"rate": 1}}}
	if _, err := sandbox.New(cfg); err == nil || !strings.Contains(err.Error(), "hand-written behaviour") {
		t.Fatalf("New with a response for a hand-written operation: %v", err)
	}
	sandbox.WithoutHandWritten(t, "getGoldRate")
	if _, err := sandbox.New(cfg); err == nil || !strings.Contains(err.Error(), `responses.getGoldRate.data: the answer breaks the spec's schema for getGoldRate 200: at /data/cgstRate: property "cgstRate" is missing`) {
		t.Fatalf("New with a data that breaks the schema: %v", err)
	}
	cfg.Responses = map[string]sandbox.Response{"getGoldRate": {Status: 429, Error: "slow down"}}
	if _, err := sandbox.New(cfg); err == nil || !strings.Contains(err.Error(), "requires the headers X-Rate-Limit-Limit, X-Rate-Limit-Remaining, X-Rate-Limit-Reset on getGoldRate's 429") {
		t.Fatalf("New with a 429, whose headers a declared response cannot send: %v", err)
	}
	cfg.Responses = map[string]sandbox.Response{"getGoldRate": {Status: 401, Error: "token revoked"}}
	if _, err := sandbox.New(cfg); err != nil {
		t.Fatalf("New with a documented 401: %v", err)
	}
}
