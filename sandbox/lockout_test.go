package sandbox_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// from returns a client whose connections leave from the loopback address
// 127.0.0.last, so the sandbox sees a different caller per address.
func from(t *testing.T, last byte) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, last)}}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// answer is what a caller can observe of a refused token request, minus the
// per-error errorCode.
type answer struct {
	status                 int
	limit, remaining, rset string
	success                bool
	message                string
}

func tokenAnswer(t *testing.T, c *http.Client, base, id, secret string) answer {
	t.Helper()
	res, err := c.Post(base+"/auth/token", "application/x-www-form-urlencoded", strings.NewReader(tokenForm(id, secret)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var env struct {
		Success bool   `json:"success"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("token answer %d is not JSON: %q", res.StatusCode, body)
	}
	return answer{res.StatusCode, res.Header.Get("X-Rate-Limit-Limit"), res.Header.Get("X-Rate-Limit-Remaining"),
		res.Header.Get("X-Rate-Limit-Reset"), env.Success, env.Error}
}

// TestStrangersCannotLockOutAPartner (issue 11, item 8): wrong-secret token
// requests naming a real partner, from many addresses, each pushed past its
// own limit, cost the partner nothing: its token request and its calls all
// succeed, its whole quota intact.
func TestStrangersCannotLockOutAPartner(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithFakeClock())
	n := middleware.RateLimit.Requests
	for addr := byte(2); addr < 12; addr++ {
		c := from(t, addr)
		for i := range n + 1 {
			got := tokenAnswer(t, c, sb.URL, sb.PartnerID, "wrong-secret")
			want := 401
			if i == n {
				want = 429
			}
			if got.status != want {
				t.Fatalf("127.0.0.%d: wrong secret #%d = %d; want %d", addr, i+1, got.status, want)
			}
		}
	}
	partner := from(t, 1)
	res, err := partner.Post(sb.URL+"/auth/token", "application/x-www-form-urlencoded", strings.NewReader(tokenForm(sb.PartnerID, sb.PartnerSecret)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("the partner's own token request after the attack = %d %s; want 200", res.StatusCode, body)
	}
	var tok struct {
		Data struct {
			AccessToken string `json:"accessToken"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatal(err)
	}
	// The token request was the partner's first counted request: n-1 remain.
	for i := range n - 1 {
		req, _ := http.NewRequest("GET", sb.URL+"/gold/rate", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Data.AccessToken)
		res, err := partner.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("the partner's call %d after the attack = %d; want 200 (its quota is its own)", i+1, res.StatusCode)
		}
	}
}

// TestKnownAndUnknownIDsAnswerAlike (issue 11, item 8): a stranger sending
// wrong secrets sees the same sequence of answers (status, rate-limit
// headers, message) for a real partner's id as for an id that does not
// exist, from one address or spread over many, so the answers do not tell
// which ids exist.
func TestKnownAndUnknownIDsAnswerAlike(t *testing.T) {
	n := middleware.RateLimit.Requests
	for _, c := range []struct {
		name string
		addr func(i int) byte // the address of try i, for the known id; the unknown id's is 100 above
	}{
		{"one address", func(int) byte { return 20 }},
		{"an address per try", func(i int) byte { return byte(30 + i) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			sb := sandboxtest.New(t, sandboxtest.WithFakeClock())
			seq := func(offset byte, id string) []answer {
				var out []answer
				for i := range n + 3 {
					out = append(out, tokenAnswer(t, from(t, c.addr(i)+offset), sb.URL, id, "wrong-secret"))
				}
				return out
			}
			known, unknown := seq(0, sb.PartnerID), seq(100, "no-such-partner-0000000000")
			for i := range known {
				if known[i] != unknown[i] {
					t.Errorf("wrong secret #%d: known id -> %+v; unknown id -> %+v; want the same answer", i+1, known[i], unknown[i])
				}
				if known[i].success || (known[i].status != 401 && known[i].status != 429) {
					t.Errorf("wrong secret #%d -> %+v; want 401 or 429 with success false", i+1, known[i])
				}
			}
		})
	}
}

// BenchmarkRefusedToken compares the handler's time for a wrong secret with a
// real partner's id and with an unknown id: both take the same path (the
// secret is compared with a dummy for an unknown id), so the times match
// within noise. Each request comes from a fresh address so none is limited.
func BenchmarkRefusedToken(b *testing.B) {
	for _, c := range []struct{ name, id string }{
		{"known id", sandbox.DefaultPartnerID},
		{"unknown id", "no-such-partner-0000000000"},
	} {
		b.Run(c.name, func(b *testing.B) {
			sb, err := sandbox.New(sandbox.Default())
			if err != nil {
				b.Fatal(err)
			}
			body := tokenForm(c.id, "wrong-secret")
			i := 0
			for b.Loop() {
				i++
				req := httptest.NewRequest("POST", "/partner/auth/token", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)
				rec := httptest.NewRecorder()
				sb.ServeHTTP(rec, req)
				if rec.Code != 401 {
					b.Fatalf("status %d; want 401", rec.Code)
				}
			}
		})
	}
}
