package route

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		name             string
		method, template string
		reqMethod, url   string
		want             bool
	}{
		{"under the base path", "GET", "/gold/rate", "GET", "http://h/partner/gold/rate", true},
		{"no base path", "GET", "/gold/rate", "GET", "http://h/gold/rate", true},
		{"other method", "GET", "/gold/rate", "POST", "http://h/partner/gold/rate", false},
		{"longer last segment", "GET", "/gold/rate", "GET", "http://h/partner/gold/rates", false},
		{"parameter", "GET", "/user/info/{mobileNumber}", "GET", "http://h/partner/user/info/1234567890", true},
		{"empty parameter", "GET", "/user/info/{mobileNumber}", "GET", "http://h/partner/user/info/", false},
		{"escaped slash in a parameter", "GET", "/user/info/{mobileNumber}", "GET", "http://h/partner/user/info/12%2F34", true},
		{"token", "POST", "/auth/token", "POST", "http://h/partner/auth/token", true},
		{"fewer segments", "POST", "/auth/token", "POST", "http://h/token", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, _ := url.Parse(c.url)
			r := &http.Request{Method: c.reqMethod, URL: u}
			if got := Match(r, c.method, c.template); got != c.want {
				t.Errorf("Match(%s %s, %s, %s) = %v; want %v", c.reqMethod, c.url, c.method, c.template, got, c.want)
			}
		})
	}
}

// splitMatch is Match as it was written first (split both paths, compare
// the template's segments with the path's last ones): the reference the
// allocation-free Match is held to.
func splitMatch(r *http.Request, method, template string) bool {
	if r.Method != method || r.URL == nil {
		return false
	}
	want := strings.Split(strings.Trim(template, "/"), "/")
	got := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	if len(got) < len(want) {
		return false
	}
	got = got[len(got)-len(want):]
	for i, w := range want {
		if strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}") {
			if got[i] == "" {
				return false
			}
			continue
		}
		if got[i] != w {
			return false
		}
	}
	return true
}

// FuzzMatch: Match answers as splitMatch does for any template and path.
func FuzzMatch(f *testing.F) {
	for _, c := range [][2]string{
		{"/gold/rate", "/partner/gold/rate"}, {"/gold/rate", "/gold/rate"}, {"/gold/rate", "/partner/gold/rates"},
		{"/user/info/{mobileNumber}", "/partner/user/info/1234567890"}, {"/user/info/{mobileNumber}", "/partner/user/info/"},
		{"/user/info/{mobileNumber}", "/partner/user/info//"}, {"/user/info/{id}", "/user/info/12%2F34"},
		{"/", "/"}, {"", ""}, {"/a", ""}, {"", "/a/b"}, {"/{x}", "/"}, {"/{x}", "//"}, {"/a//b", "/x/a//b"},
		{"//", "/a"}, {"/{", "/{"}, {"/{}", "/a"}, {"/a/{b}/c", "/p/a//c"}, {"/auth/token", "/token"},
	} {
		f.Add("GET", c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, method, template, path string) {
		r := &http.Request{Method: "GET", URL: &url.URL{Path: path}}
		if got, want := Match(r, method, template), splitMatch(r, method, template); got != want {
			t.Errorf("Match(%q, %q, %q) = %v; splitMatch says %v", r.URL.EscapedPath(), method, template, got, want)
		}
	})
}

// TestMatchAllocates nothing: it runs for every request, in several layers.
func TestMatchAllocates(t *testing.T) {
	r := &http.Request{Method: "GET", URL: &url.URL{Path: "/partner/user/info/1234567890"}}
	if n := testing.AllocsPerRun(100, func() { Match(r, "GET", "/user/info/{mobileNumber}") }); n != 0 {
		t.Errorf("Match: %v allocations; want 0", n)
	}
}
