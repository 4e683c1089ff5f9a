// Package route matches a request to an operation's method and path
// template. gen/middleware's OperationOf calls it; it is internal so that
// users of the client are not offered it as API (it was tokens.Route).
package route

import (
	"net/http"
	"strings"
)

// Match reports whether r has method and a path that ends with template's
// segments ("/user/info/{mobileNumber}"), a {param} matching any one
// non-empty segment; so the server's base path (/partner) is ignored. It
// compares the segments from the last one back, without splitting the
// paths (it runs for every request, in several layers) and allocates
// nothing.
func Match(r *http.Request, method, template string) bool {
	if r.Method != method || r.URL == nil {
		return false
	}
	want := strings.Trim(template, "/")
	got := strings.Trim(r.URL.EscapedPath(), "/")
	for {
		wi, gi := strings.LastIndexByte(want, '/'), strings.LastIndexByte(got, '/')
		w, g := want[wi+1:], got[gi+1:]
		if strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}") {
			if g == "" {
				return false
			}
		} else if g != w {
			return false
		}
		switch {
		case wi < 0:
			return true // every segment of the template matched
		case gi < 0:
			return false // the path has fewer segments than the template
		}
		want, got = want[:wi], got[:gi]
	}
}
