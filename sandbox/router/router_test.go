package router

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// patternSets are the sets of patterns the Router is held to ServeMux with:
// the sandbox's shape, and ones that defeat the fast path in each way.
var patternSets = map[string][]string{
	"api": {
		"POST /partner/auth/token", "/partner/auth/token",
		"GET /partner/gold/rate", "/partner/gold/rate",
		"GET /partner/user/info/{mobileNumber}", "/partner/user/info/{mobileNumber}",
		"/",
	},
	"shadowed": { // a literal where the template has a wildcard
		"GET /a/{x}", "GET /a/me", "POST /a/{x}", "/",
	},
	"head": {
		"GET /a/b", "HEAD /a/b", "GET /c/{x}", "HEAD /c/{x}", "GET /d/{x}",
	},
	"host": {
		"GET /a/b", "example.com/a/b", "GET /c/{x}",
	},
	"subtree": {
		"GET /a/b", "GET /a/", "GET /c/{x...}", "GET /d/{$}", "GET /e/{x}/f", "/e/",
	},
	"escaped": {
		"GET /a%20b/c", "GET /x/{y}", "GET /x/{y}/{z}", "GET /tab\tb",
	},
	"methods": {
		"GET /a", "POST /a", "PUT /a/{x}", "DELETE /a/{x}", "CONNECT /c", "GET /c",
	},
}

// requests are raw request targets with methods; each is sent to every set.
var requests = []struct{ method, target string }{
	{"GET", "/partner/gold/rate"},
	{"HEAD", "/partner/gold/rate"},
	{"POST", "/partner/gold/rate"},
	{"get", "/partner/gold/rate"},
	{"GET", "/partner/gold/rate/"},
	{"GET", "/partner//gold/rate"},
	{"GET", "/partner/./gold/rate"},
	{"GET", "/partner/x/../gold/rate"},
	{"GET", "/partner/gold/r%61te"},
	{"GET", "/partner/gold%2Frate"},
	{"GET", "/partner/gold/rate?x=1"},
	{"GET", "/partner/user/info/1234567890"},
	{"HEAD", "/partner/user/info/1234567890"},
	{"DELETE", "/partner/user/info/1234567890"},
	{"GET", "/partner/user/info/12%2034"},
	{"GET", "/partner/user/info/a%2Fb"},
	{"GET", "/partner/user/info/%41"},
	{"GET", "/partner/user/info/.."},
	{"GET", "/partner/user/info/."},
	{"GET", "/partner/user/info/"},
	{"GET", "/partner/user/info"},
	{"GET", "/partner/user/info/1/2"},
	{"POST", "/partner/auth/token"},
	{"GET", "/partner/auth/token"},
	{"GET", "/a/me"}, {"GET", "/a/you"}, {"POST", "/a/me"}, {"HEAD", "/a/me"}, {"PUT", "/a/x"},
	{"GET", "/a/b"}, {"HEAD", "/a/b"}, {"GET", "/a/b/"}, {"GET", "/a"}, {"POST", "/a"},
	{"HEAD", "/c/x"}, {"GET", "/c/x"}, {"GET", "/c/x/y"}, {"CONNECT", "/c"}, {"GET", "/c"},
	{"HEAD", "/d/x"}, {"GET", "/d/"}, {"GET", "/d"}, {"GET", "/e/1/f"}, {"GET", "/e/1/g"},
	{"GET", "/a%20b/c"}, {"GET", "/a b/c"}, {"GET", "/x/y%2Fz"}, {"GET", "/x/y/z"}, {"GET", "/x/%7Ey"},
	{"GET", "/x/~y"}, {"GET", "/tab%09b"},
	{"GET", "*"}, {"OPTIONS", "*"}, {"GET", "http://example.com/a/b"}, {"GET", "/"}, {"GET", ""},
}

// handlerFor answers with what ServeMux tells a handler: the pattern and
// each of its path values.
func handlerFor(pat string) http.HandlerFunc {
	names := wildcardNames(pat)
	return func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString("pattern=" + r.Pattern + " handler=" + pat)
		for _, n := range names {
			b.WriteString(" " + n + "=" + r.PathValue(n))
		}
		b.WriteString(" other=" + r.PathValue("other"))
		w.Write([]byte(b.String()))
	}
}

func wildcardNames(pat string) []string {
	var names []string
	for _, seg := range strings.Split(pat, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.TrimSuffix(seg[1:len(seg)-1], "..."))
		}
	}
	return names
}

func muxes(pats []string) (*http.ServeMux, *Router) {
	mux, rt := http.NewServeMux(), New()
	for _, p := range pats {
		mux.HandleFunc(p, handlerFor(p))
		rt.HandleFunc(p, handlerFor(p))
	}
	return mux, rt
}

// wireRequest reads a request as net/http's server does; nil when it would not.
func wireRequest(method, target, host string) *http.Request {
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")))
	if err != nil {
		return nil
	}
	return r
}

// answer is what a response shows a client.
type answer struct {
	status               int
	allow, location, typ string
	body                 string
}

func serve(h http.Handler, r *http.Request) answer {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return answer{w.Code, w.Header().Get("Allow"), w.Header().Get("Location"), w.Header().Get("Content-Type"), w.Body.String()}
}

// compare sends one request to both and fails on any difference.
func compare(t *testing.T, set string, mux *http.ServeMux, rt *Router, method, target, host string) {
	t.Helper()
	r1, r2 := wireRequest(method, target, host), wireRequest(method, target, host)
	if r1 == nil {
		return
	}
	want, got := serve(mux, r1), serve(rt, r2)
	if got != want {
		t.Errorf("%s: %s %s (Host %s): Router answered %+v; ServeMux %+v", set, method, target, host, got, want)
	}
}

func TestRouterAsServeMux(t *testing.T) {
	for name, pats := range patternSets {
		mux, rt := muxes(pats)
		for _, rq := range requests {
			for _, host := range []string{"sandbox.test", "example.com"} {
				compare(t, name, mux, rt, rq.method, rq.target, host)
			}
		}
	}
}

// TestRouterFastPath checks that the fast path answers what it should, so
// the comparison above is not between two ServeMuxes.
func TestRouterFastPath(t *testing.T) {
	tests := []struct {
		set, method, target string
		fast                bool
	}{
		{"api", "GET", "/partner/gold/rate", true},
		{"api", "HEAD", "/partner/gold/rate", true},
		{"api", "POST", "/partner/auth/token", true},
		{"api", "GET", "/partner/user/info/1234567890", true},
		{"api", "GET", "/partner/user/info/12%2034", true},
		{"api", "POST", "/partner/gold/rate", false},      // 405: ServeMux
		{"api", "GET", "/partner/gold/rate/", false},      // 404: ServeMux
		{"api", "GET", "/partner/gold/r%61te", false},     // RawPath
		{"api", "GET", "/partner/user/info/a%2Fb", false}, // RawPath
		{"api", "GET", "/partner/user/info/..", false},    // redirect
		{"shadowed", "GET", "/a/you", false},              // GET /a/me is more specific for some
		{"shadowed", "GET", "/a/me", true},                // the literal itself
		{"head", "HEAD", "/a/b", true},                    // HEAD /a/b
		{"head", "HEAD", "/d/x", true},                    // GET /d/{x} for HEAD
		{"host", "GET", "/a/b", false},                    // a pattern with a host
		{"subtree", "GET", "/e/1/f", true},                // more specific than /e/
		{"methods", "CONNECT", "/c", false},
	}
	for _, tt := range tests {
		_, rt := muxes(patternSets[tt.set])
		r := wireRequest(tt.method, tt.target, "sandbox.test")
		if got := rt.match(r) != nil; got != tt.fast {
			t.Errorf("%s: fast path for %s %s = %v; want %v", tt.set, tt.method, tt.target, got, tt.fast)
		}
	}
}

// TestRouterRegistersLate holds the fast table to registrations made after
// serving began: a later literal shadows an earlier template.
func TestRouterRegistersLate(t *testing.T) {
	rt := New()
	rt.HandleFunc("GET /a/{x}", handlerFor("GET /a/{x}"))
	if rt.match(wireRequest("GET", "/a/me", "h")) == nil {
		t.Fatal("GET /a/me before GET /a/me was registered: not fast; want fast")
	}
	rt.HandleFunc("GET /a/me", handlerFor("GET /a/me"))
	if got := serve(rt, wireRequest("GET", "/a/me", "h")).body; !strings.Contains(got, "handler=GET /a/me ") {
		t.Errorf("GET /a/me after registering it = %q; want its handler", got)
	}
}

func FuzzRouterAsServeMux(f *testing.F) {
	for _, rq := range requests {
		f.Add(rq.method, rq.target)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range patternSets {
			if !yield(n) {
				return
			}
		}
	})
	type pair struct {
		mux *http.ServeMux
		rt  *Router
	}
	sets := make([]pair, len(names))
	for i, n := range names {
		mux, rt := muxes(patternSets[n])
		sets[i] = pair{mux, rt}
	}
	f.Fuzz(func(t *testing.T, method, target string) {
		for i, s := range sets {
			compare(t, names[i], s.mux, s.rt, method, target, "sandbox.test")
		}
	})
}
