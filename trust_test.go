package milligold_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/internal/hostile"
	"github.com/milligold/milligold-go/internal/leak"
	"github.com/milligold/milligold-go/ratelimit"
)

// The credentials the trust tests give the client. The secret holds the
// characters JSON and URLs encode (a space, <, &, +, /, %), so an echo of
// it in any encoding is easy to make.
const (
	trustPartner = "partner-trust"
	trustSecret  = "s3cr3t <Trust> & +/%x"
)

// trustClient is a client for srv with no retries and a context-free
// deadline left to the per-attempt timeout.
func trustClient(t *testing.T, srv *hostile.Server, opts ...milligold.Option) *milligold.Client {
	t.Helper()
	c, err := milligold.New(append([]milligold.Option{
		milligold.WithBaseURL(srv.URL),
		milligold.WithCredentials(trustPartner, trustSecret),
		milligold.WithMaxRetries(0),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// call is one of the client's operations, with its result reduced to
// whether it came back zero.
type call struct {
	name string
	path string // the path the call's answer comes from
	do   func(context.Context, *milligold.Client) (zero bool, err error)
}

var (
	tokenCall = call{"token", hostile.TokenPath, func(ctx context.Context, c *milligold.Client) (bool, error) {
		tok, err := c.Token(ctx)
		return tok == milligold.Token{}, err
	}}
	rateCall = call{"gold rate", hostile.RatePath, func(ctx context.Context, c *milligold.Client) (bool, error) {
		r, err := c.GoldRate(ctx)
		return r == milligold.GoldRate{}, err
	}}
	userCall = call{"user", hostile.UserPath, func(ctx context.Context, c *milligold.Client) (bool, error) {
		u, err := c.UserInfo(ctx, "1234567890")
		return u.ID == "" && u.Name == "", err
	}}
	// rateViaToken is a data call whose token request gets the fault.
	rateViaToken = call{"gold rate, fault on its token request", hostile.TokenPath, rateCall.do}
)

// checkNoCredentials fails t when srv received the token or the secret in
// any request (header, path or body, in the encodings they take there).
func checkNoCredentials(t *testing.T, where string, srv *hostile.Server) {
	t.Helper()
	for _, r := range srv.Requests() {
		if r.Authorization != "" {
			t.Errorf("%s received Authorization on %s %s", where, r.Method, r.Path)
		}
		text := r.Path + " " + r.Body
		if d, _ := url.QueryUnescape(text); strings.Contains(text, trustSecret) || strings.Contains(d, trustSecret) {
			t.Errorf("%s received the partner secret on %s %s", where, r.Method, r.Path)
		}
	}
}

// TestRedirectsAreNotFollowed: a 3xx, for the token request or a data call,
// to another origin or to the API's own, is a *RedirectError naming the
// Location; nothing is sent to the target, the token and the secret go
// nowhere but the base URL, and no value comes back.
func TestRedirectsAreNotFollowed(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		for _, cl := range []call{tokenCall, rateViaToken, rateCall, userCall} {
			for _, target := range []struct {
				name  string
				other bool   // on the other server
				path  string // where the Location points
			}{
				{"another origin", true, "/collect"},
				{"another origin's API", true, cl.path}, // a token or data from another host
				{"same origin outside the base path", false, "/collect"},
				{"same origin, another operation", false, hostile.UserPath},
			} {
				t.Run(fmt.Sprintf("%d %s to %s", code, cl.name, target.name), func(t *testing.T) {
					api, other := hostile.New(t), hostile.New(t)
					dest := api
					if target.other {
						dest = other
					}
					loc := dest.Origin + target.path
					api.Handle(cl.path, hostile.Redirect(code, loc))
					c := trustClient(t, api)
					zero, err := cl.do(context.Background(), c)
					var re *milligold.RedirectError
					if !errors.As(err, &re) {
						t.Fatalf("error = %v (%T); want a *RedirectError", err, err)
					}
					if !errors.Is(err, milligold.ErrRedirect) {
						t.Errorf("errors.Is(%v, ErrRedirect) = false", err)
					}
					if re.StatusCode != code || re.Location != loc || re.CrossOrigin != target.other {
						t.Errorf("RedirectError = %d %q cross-origin %v; want %d %q %v", re.StatusCode, re.Location, re.CrossOrigin, code, loc, target.other)
					}
					if !strings.Contains(err.Error(), loc) {
						t.Errorf("error %q does not name the Location %s", err, loc)
					}
					if !zero {
						t.Error("the call returned a value with its error")
					}
					if n := dest.Count(target.path); n != 0 && (target.other || target.path != cl.path) {
						t.Errorf("the redirect was followed: the target got %d requests", n)
					}
					checkNoCredentials(t, "the other server", other)
					leak.Check(t, "the error", errorText(err), trustSecret, hostile.Token)
				})
			}
		}
	}
}

// TestRelativeRedirect: a Location relative to the request is resolved to
// name it in full.
func TestRelativeRedirect(t *testing.T) {
	api := hostile.New(t)
	api.Handle(hostile.RatePath, hostile.Redirect(http.StatusFound, "../elsewhere"))
	_, err := trustClient(t, api).GoldRate(context.Background())
	var re *milligold.RedirectError
	if !errors.As(err, &re) || re.Location != api.Origin+"/partner/elsewhere" || re.CrossOrigin {
		t.Errorf("GoldRate = %v; want a same-origin *RedirectError to %s/partner/elsewhere", err, api.Origin)
	}
}

// TestUndocumentedAnswers: a 2xx that is not the documented answer (another
// status, another media type, an envelope without success true or without
// data and its required fields) is an *UnexpectedResponseError, for the token
// request and for data calls, never zero values and a nil error.
func TestUndocumentedAnswers(t *testing.T) {
	answers := map[string]string{hostile.TokenPath: hostile.TokenAnswer, hostile.RatePath: hostile.RateAnswer, hostile.UserPath: hostile.UserAnswer}
	type row struct {
		name   string
		answer func(good string) http.HandlerFunc
		reason string // in the error
	}
	rows := []row{
		{"200 text/html", func(good string) http.HandlerFunc { return hostile.Answer(200, "text/html", good) }, `content type "text/html"`},
		{"200 without Content-Type", func(good string) http.HandlerFunc { return hostile.Answer(200, "", good) }, `content type ""`},
		{"200 application/jsonx", func(good string) http.HandlerFunc { return hostile.Answer(200, "application/jsonx", good) }, "want application/json"},
		{"201", func(good string) http.HandlerFunc { return hostile.JSON(201, good) }, "201 Created"},
		{"202", func(good string) http.HandlerFunc { return hostile.JSON(202, good) }, "202 Accepted"},
		{"204", func(string) http.HandlerFunc { return hostile.Answer(204, "", "") }, "204 No Content"},
		{"200 {}", func(string) http.HandlerFunc { return hostile.JSON(200, `{}`) }, `no "success" field`},
		{"200 null", func(string) http.HandlerFunc { return hostile.JSON(200, `null`) }, `no "success" field`},
		{"200 empty", func(string) http.HandlerFunc { return hostile.JSON(200, ``) }, "body is not JSON"},
		{"200 success false", func(string) http.HandlerFunc {
			return hostile.JSON(200, `{"success":false,"error":"maintenance","errorCode":"m"}`)
		}, `success is false: "maintenance"`},
		{"200 success true without data", func(string) http.HandlerFunc { return hostile.JSON(200, `{"success":true}`) }, `no "data"`},
		{"200 data null", func(string) http.HandlerFunc { return hostile.JSON(200, `{"success":true,"data":null}`) }, `no "data"`},
		{"200 data empty", func(string) http.HandlerFunc { return hostile.JSON(200, `{"success":true,"data":{}}`) }, "data has no"},
		{"200 data an array", func(string) http.HandlerFunc { return hostile.JSON(200, `{"success":true,"data":[]}`) }, "decode"},
		{"200 success a string", func(good string) http.HandlerFunc {
			return hostile.JSON(200, strings.Replace(good, `"success":true`, `"success":"true"`, 1))
		}, "decode"},
		{"200 token of 9 KiB", func(good string) http.HandlerFunc {
			return hostile.JSON(200, strings.Replace(good, hostile.Token, strings.Repeat("t", 9<<10), 1))
		}, "{token}access token of 9216 bytes"},
		{"200 token with a line break", func(good string) http.HandlerFunc {
			return hostile.JSON(200, strings.Replace(good, hostile.Token, `tok\r\nX-Evil: 1`, 1))
		}, "{token}outside visible ASCII"},
		{"200 a required field null", func(good string) http.HandlerFunc {
			var m map[string]map[string]any
			json.Unmarshal([]byte(good), &m)
			for k := range m["data"] {
				if k != "birthday" && k != "address" && k != "pincode" {
					m["data"][k] = nil
				}
			}
			b, _ := json.Marshal(map[string]any{"success": true, "data": m["data"]})
			return hostile.JSON(200, string(b))
		}, "data has no"},
	}
	for _, cl := range []call{tokenCall, rateViaToken, rateCall, userCall} {
		for _, r := range rows {
			if strings.HasPrefix(r.reason, "{token}") && cl.path != hostile.TokenPath {
				continue // a row about the token's value
			}
			t.Run(cl.name+" "+r.name, func(t *testing.T) {
				r.reason = strings.TrimPrefix(r.reason, "{token}")
				api := hostile.New(t)
				api.Handle(cl.path, r.answer(answers[cl.path]))
				zero, err := cl.do(context.Background(), trustClient(t, api))
				var ue *milligold.UnexpectedResponseError
				if !errors.As(err, &ue) || !errors.Is(err, milligold.ErrUnexpectedResponse) {
					t.Fatalf("error = %v (%T); want an *UnexpectedResponseError", err, err)
				}
				if !zero {
					t.Error("the call returned a value with its error")
				}
				if !strings.Contains(err.Error(), r.reason) {
					t.Errorf("error %q; want it to say %q", err, r.reason)
				}
				leak.Check(t, "the error", errorText(err), trustSecret, hostile.Token)
			})
		}
	}
}

// TestCharsetIsFine: application/json with parameters is still JSON.
func TestCharsetIsFine(t *testing.T) {
	api := hostile.New(t)
	api.Handle(hostile.RatePath, hostile.Answer(200, "application/json; charset=utf-8", hostile.RateAnswer))
	if r, err := trustClient(t, api).GoldRate(context.Background()); err != nil || r.Rate.String() != "1111" {
		t.Errorf("GoldRate = %+v, %v; want the rate", r, err)
	}
}

// endless writes prefix, then filler without end, counting what it wrote.
func endless(prefix string, written *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, prefix)
		chunk := []byte(strings.Repeat("a", 32<<10))
		for written.Load() < 256<<20 {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}
}

// TestBodiesAreBounded: an answer of 256 MiB, to the token request or a
// data call, is refused after 1 MiB: the client stops reading, holds little
// memory, and says why.
func TestBodiesAreBounded(t *testing.T) {
	for _, cl := range []call{tokenCall, rateCall} {
		t.Run(cl.name, func(t *testing.T) {
			api := hostile.New(t)
			var written atomic.Int64
			prefix := `{"success":true,"data":{"accessToken":"`
			if cl.path == hostile.RatePath {
				prefix = `{"success":true,"data":{"rate":1111,"x":"`
			}
			api.Handle(cl.path, endless(prefix, &written))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := cl.do(context.Background(), trustClient(t, api))
			runtime.ReadMemStats(&after)
			var ue *milligold.UnexpectedResponseError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "body over 1048576 bytes") {
				t.Fatalf("error = %v; want an *UnexpectedResponseError for a body over 1 MiB", err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 32<<20 {
				t.Errorf("the call allocated %d MiB; want a few", got>>20)
			}
			if len(ue.Body) > 600 {
				t.Errorf("the error keeps %d bytes of body; want a snippet", len(ue.Body))
			}
			time.Sleep(50 * time.Millisecond)
			if got := written.Load(); got > 64<<20 {
				t.Errorf("the server wrote %d MiB before the client hung up; want it cut off near 1 MiB", got>>20)
			}
		})
	}
}

// TestRateLimitWhateverTheAnswer: a 429, to the token request or a data
// call, is a *RateLimitError whatever its headers and body, with a bounded
// RetryAfter.
func TestRateLimitWhateverTheAnswer(t *testing.T) {
	envelope := `{"success":false,"error":"Too many requests","errorCode":"r"}`
	for _, cl := range []call{tokenCall, rateViaToken, rateCall} {
		for _, r := range []struct {
			name   string
			h      http.HandlerFunc
			atMost time.Duration
		}{
			{"no headers, JSON", hostile.JSON(429, envelope), 20 * time.Second},
			{"no headers, not JSON", hostile.Answer(429, "text/plain", "slow down"), 20 * time.Second},
			{"JSON content type, HTML body", hostile.Answer(429, "application/json", "<html>429</html>"), 20 * time.Second},
			{"no body at all", hostile.Answer(429, "", ""), 20 * time.Second},
			{"reset tomorrow", hostile.WithHeaders(hostile.JSON(429, envelope), map[string]string{"X-Rate-Limit-Reset": "tomorrow"}), 20 * time.Second},
			{"reset out of range", hostile.WithHeaders(hostile.JSON(429, envelope), map[string]string{"X-Rate-Limit-Reset": "99999999999999999999", "X-Rate-Limit-Limit": "99999999999999999999"}), 20 * time.Second},
			{"reset negative", hostile.WithHeaders(hostile.JSON(429, envelope), map[string]string{"X-Rate-Limit-Reset": "-5", "X-Rate-Limit-Remaining": "-1"}), 20 * time.Second},
			{"reset in 9999 years", hostile.WithHeaders(hostile.JSON(429, envelope), map[string]string{"X-Rate-Limit-Reset": "253402300799"}), time.Duration(1<<63 - 1)},
		} {
			t.Run(cl.name+" "+r.name, func(t *testing.T) {
				api := hostile.New(t)
				api.Handle(cl.path, r.h)
				zero, err := cl.do(context.Background(), trustClient(t, api))
				var rl *milligold.RateLimitError
				if !errors.As(err, &rl) || !errors.Is(err, milligold.ErrRateLimited) {
					t.Fatalf("error = %v (%T); want a *RateLimitError", err, err)
				}
				if rl.RetryAfter <= 0 || rl.RetryAfter > r.atMost {
					t.Errorf("RetryAfter = %v; want (0, %v]", rl.RetryAfter, r.atMost)
				}
				if !zero {
					t.Error("the call returned a value with its error")
				}
				var ue *url.Error
				if errors.As(err, &ue) {
					t.Errorf("error %v wraps a *url.Error; want the *RateLimitError itself", err)
				}
			})
		}
	}
}

// dribble sends the headers, then one byte every 50 ms for a minute.
func dribble(prefix string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		io.WriteString(w, prefix)
		w.(http.Flusher).Flush()
		for range 1200 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := io.WriteString(w, " "); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}
}

// TestDribbledBodyTimesOut: a server that sends headers and then dribbles
// the body cannot hold a call whose context has no deadline: the attempt
// ends at the request timeout with an *AttemptTimeoutError.
func TestDribbledBodyTimesOut(t *testing.T) {
	for _, cl := range []call{tokenCall, rateCall} {
		t.Run(cl.name, func(t *testing.T) {
			api := hostile.New(t)
			api.Handle(cl.path, dribble(`{"success":true,`))
			c := trustClient(t, api, milligold.WithRequestTimeout(500*time.Millisecond))
			start := time.Now()
			_, err := cl.do(context.Background(), c)
			took := time.Since(start)
			var te *milligold.AttemptTimeoutError
			if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error = %v (%T); want an *AttemptTimeoutError matching context.DeadlineExceeded", err, err)
			}
			if took > 10*time.Second {
				t.Errorf("the call took %v; want it cut off near 500ms", took)
			}
		})
	}
}

// TestTimedOutReadIsOneAttempt: a GET whose attempt times out is sent
// once. (Its first caller used to join its own shared flight and, seeing a
// deadline error while its context was fine, fly it again: two attempts,
// twice the request timeout.)
func TestTimedOutReadIsOneAttempt(t *testing.T) {
	api := hostile.New(t)
	api.Handle(hostile.RatePath, dribble(`{"success":true,`))
	c := trustClient(t, api, milligold.WithRequestTimeout(time.Second))
	_, err := c.GoldRate(context.Background())
	var te *milligold.AttemptTimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("GoldRate = %v; want an *AttemptTimeoutError", err)
	}
	if n := api.Count(hostile.RatePath); n != 1 {
		t.Errorf("%d gold-rate requests; want 1", n)
	}
}

// TestRequestTimeoutOption: a negative timeout is refused; 0 turns the bound
// off (the caller's context is then the only one).
func TestRequestTimeoutOption(t *testing.T) {
	if _, err := milligold.New(milligold.WithCredentials("p", "s"), milligold.WithRequestTimeout(-time.Second)); err == nil {
		t.Error("New(WithRequestTimeout(-1s)) = nil error")
	}
	api := hostile.New(t)
	api.Handle(hostile.RatePath, dribble(`{"success":true,`))
	c := trustClient(t, api, milligold.WithRequestTimeout(0))
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	_, err := c.GoldRate(ctx)
	var te *milligold.AttemptTimeoutError
	if errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GoldRate without a request timeout = %v; want the context's deadline", err)
	}
}

// forms are the ways a server may echo v: raw, JSON-escaped (with and
// without HTML escaping, and every character as \u), percent-encoded (query
// and path style, upper- and lower-case hex).
func forms(v string) map[string]string {
	jsonOf := func(html bool) string {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		enc.Encode(v)
		s := strings.TrimSpace(b.String())
		return s[1 : len(s)-1]
	}
	var u strings.Builder
	for _, r := range v {
		fmt.Fprintf(&u, `\u%04x`, r)
	}
	return map[string]string{
		"raw":                 v,
		"JSON":                jsonOf(true),
		"JSON without HTML":   jsonOf(false),
		"JSON all \\u":        u.String(),
		"query-escaped":       url.QueryEscape(v),
		"path-escaped":        url.PathEscape(v),
		"lower-case percents": regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(v), strings.ToLower),
		"%20 for space":       strings.ReplaceAll(url.QueryEscape(v), "+", "%20"),
	}
}

// errorText is everything err shows: each fmt verb, and the fields of the
// typed error it carries (%#v prints them quoted, hiding an escaped echo).
func errorText(err error) string {
	out := leak.Formats(err)
	var ae *milligold.APIError
	if errors.As(err, &ae) {
		out += "\n" + ae.Message + "\n" + ae.ErrorCode + "\n" + ae.Body
	}
	var ue *milligold.UnexpectedResponseError
	if errors.As(err, &ue) {
		out += "\n" + ue.Reason + "\n" + ue.ContentType + "\n" + ue.Body
	}
	var re *milligold.RedirectError
	if errors.As(err, &re) {
		out += "\n" + re.Location
	}
	return out
}

// checkForms fails t when text holds v in any of its forms.
func checkForms(t *testing.T, where, text, v string) {
	t.Helper()
	for name, f := range forms(v) {
		if strings.Contains(text, f) {
			t.Errorf("%s holds a credential, %s:\n%s", where, name, leak.Mask(text, f))
		}
	}
}

// TestEchoedCredentialsAreRedacted: a server that echoes the secret or the
// token, in any encoding, in an error body, a text body or a redirect's
// Location, does not get it into the error or the log.
func TestEchoedCredentialsAreRedacted(t *testing.T) {
	const token = "opaque+tok/en=value<&>=="
	tokenAnswer := `{"success":true,"data":{"accessToken":"opaque+tok/en=value\u003c\u0026\u003e==","expiresIn":3600,"createdAt":1}}`
	for name, f := range forms(trustSecret) {
		for _, where := range []struct {
			name string
			path string
			h    func(echo string) http.HandlerFunc
		}{
			{"token 400 envelope", hostile.TokenPath, func(e string) http.HandlerFunc {
				return hostile.JSON(400, `{"success":false,"error":"bad partnerSecret `+e+`","errorCode":"`+e+`"}`)
			}},
			{"token 401 text", hostile.TokenPath, func(e string) http.HandlerFunc { return hostile.Answer(401, "text/plain", "refused "+e) }},
			{"token redirect", hostile.TokenPath, func(e string) http.HandlerFunc {
				return hostile.Redirect(307, "http://127.0.0.1:1/steal?s="+e)
			}},
			{"rate 500 text", hostile.RatePath, func(e string) http.HandlerFunc { return hostile.Answer(500, "text/plain", "oops "+e) }},
			{"rate 200 text", hostile.RatePath, func(e string) http.HandlerFunc { return hostile.Answer(200, "text/plain", "here: "+e) }},
			{"rate 200 success false", hostile.RatePath, func(e string) http.HandlerFunc {
				return hostile.JSON(200, `{"success":false,"error":"`+e+`"}`)
			}},
		} {
			t.Run(where.name+" echoes the secret "+name, func(t *testing.T) {
				api := hostile.New(t)
				api.Handle(hostile.TokenPath, hostile.JSON(200, tokenAnswer))
				api.Handle(where.path, where.h(f))
				log := leak.NewLog()
				c := trustClient(t, api, milligold.WithLogger(log.Logger()))
				_, err := c.GoldRate(context.Background())
				if err == nil {
					t.Fatal("GoldRate = nil error")
				}
				checkForms(t, "the error", errorText(err), trustSecret)
				checkForms(t, "the error", errorText(err), token)
				checkForms(t, "the log", log.String(), trustSecret)
			})
		}
	}
	// The token, echoed by a data call in each of its forms.
	for name, f := range forms(token) {
		t.Run("rate 400 echoes the token "+name, func(t *testing.T) {
			api := hostile.New(t)
			api.Handle(hostile.TokenPath, hostile.JSON(200, tokenAnswer))
			api.Handle(hostile.RatePath, hostile.Answer(400, "text/plain", "you sent "+f))
			_, err := trustClient(t, api).GoldRate(context.Background())
			if err == nil {
				t.Fatal("GoldRate = nil error")
			}
			checkForms(t, "the error", errorText(err), token)
		})
	}
}

// TestOldTokensAreRedacted: a token the client held many renewals ago is
// still cut out of an error that echoes it.
func TestOldTokensAreRedacted(t *testing.T) {
	api := hostile.New(t)
	var issued []string
	var n atomic.Int64
	api.Handle(hostile.TokenPath, func(w http.ResponseWriter, r *http.Request) {
		tok := fmt.Sprintf("rotating-opaque-token-%d", n.Add(1))
		issued = append(issued, tok) // the server handles one request at a time here
		hostile.JSON(200, `{"success":true,"data":{"accessToken":"`+tok+`","expiresIn":60,"createdAt":1}}`)(w, r)
	})
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := trustClient(t, api, milligold.WithClock(clk.Now),
		milligold.WithLimiter(ratelimit.NewSlidingLog(ratelimit.Policy{Requests: 1000, Window: time.Second})))
	const renewals = 12
	for range renewals {
		if _, err := c.GoldRate(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute) // the token is due: the next call renews
	}
	if len(issued) != renewals {
		t.Fatalf("the server issued %d tokens; want %d", len(issued), renewals)
	}
	api.Handle(hostile.RatePath, hostile.Answer(400, "text/plain", "tokens seen: "+strings.Join(issued, " ")))
	_, err := c.GoldRate(context.Background())
	if err == nil {
		t.Fatal("GoldRate = nil error")
	}
	out := errorText(err)
	for i, tok := range issued {
		if strings.Contains(out, tok) {
			t.Errorf("the error holds the token issued %d renewals ago", len(issued)-i)
		}
	}
}

// TestLogWritesNoServerText: the log names operations and waits; it does not
// copy a raw rate-limit reset or a redirect's path from the server.
func TestLogWritesNoServerText(t *testing.T) {
	const resetMarker, pathMarker = "reset-marker-7777", "path-marker-8888"
	api := hostile.New(t)
	api.Handle(hostile.RatePath, hostile.WithHeaders(hostile.JSON(429, `{"success":false,"error":"slow","errorCode":"r"}`),
		map[string]string{"X-Rate-Limit-Reset": resetMarker}))
	api.Handle(hostile.TokenPath, hostile.Redirect(302, "/collect/"+pathMarker))
	log := leak.NewLog()
	c := trustClient(t, api, milligold.WithLogger(log.Logger()))
	c.Token(context.Background())
	api.Handle(hostile.TokenPath, hostile.JSON(200, hostile.TokenAnswer))
	c.GoldRate(context.Background())
	out := log.String()
	for _, m := range []string{resetMarker, pathMarker, "/collect"} {
		if strings.Contains(out, m) {
			t.Errorf("the log copies %q from the server:\n%s", m, out)
		}
	}
	if !strings.Contains(out, "retryAfter=20s") {
		t.Errorf("the log does not give the wait of the 429:\n%s", out)
	}
}

// TestTransportErrorEchoesSecret: a server that puts the secret into a
// malformed status line, which net/http quotes in its error, does not get it
// into the client's error.
func TestTransportErrorEchoesSecret(t *testing.T) {
	const secret = "s3cr3t-<&>-in-a-status-line"
	c, err := milligold.New(milligold.WithBaseURL(hostile.EchoInStatusLine(t)), milligold.WithCredentials(trustPartner, secret))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GoldRate(context.Background())
	if err == nil {
		t.Fatal("GoldRate = nil error")
	}
	checkForms(t, "the error", errorText(err), secret)
}
