// Package router is net/http's ServeMux with a fast path for the routes an
// API registers: a method and a path of literal segments, or of literal
// segments and whole-segment wildcards ("GET /user/info/{mobileNumber}").
// ServeMux cleans and escapes every request's path, walks its tree under a
// lock and unescapes each segment; for a gold-rate request that was about a
// tenth of the sandbox's instructions. The fast path answers only requests
// it can prove ServeMux would send to the same pattern with the same path
// values; everything else (another method, an unclean, escaped or trailing
// slash path, a 404, a 405, CONNECT, a pattern with a host) goes to the
// ServeMux, which has every pattern too.
package router

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// Router is a ServeMux with a fast path. The zero value is not usable: use
// New. It is safe for concurrent use, registration included.
type Router struct {
	mux *http.ServeMux

	mu       sync.Mutex // serializes registration
	patterns []*pattern // every pattern registered, in order
	fast     atomic.Pointer[table]
}

// New returns an empty Router.
func New() *Router { return &Router{mux: http.NewServeMux()} }

// pattern is a registered pattern as the fast path sees it.
type pattern struct {
	str, method, host string
	segs              []string // the path's segments; a wildcard's is its name
	wild              []bool   // by segment: a whole-segment wildcard
	wilds             int      // how many
	subtree           bool     // ends in a slash, {name...} or {$}: never fast
	other             bool     // has an empty, dot or escaped literal segment: never fast
	h                 http.Handler
}

// table is what the fast path may answer, rebuilt on each registration.
type table struct {
	exact     map[string][]*pattern // by path: literal routes, one per method
	templates []*pattern            // routes with wildcards
}

// Handle registers h for pattern, as ServeMux.Handle does (and panics
// as it does on an invalid or conflicting pattern).
func (rt *Router) Handle(pat string, h http.Handler) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.mux.Handle(pat, h)
	rt.patterns = append(rt.patterns, parse(pat, h))
	rt.fast.Store(rt.build())
}

// HandleFunc registers h for pattern, as ServeMux.HandleFunc does.
func (rt *Router) HandleFunc(pat string, h func(http.ResponseWriter, *http.Request)) {
	rt.Handle(pat, http.HandlerFunc(h))
}

// parse splits a pattern ServeMux accepted: "[METHOD ][HOST]/[PATH]".
func parse(s string, h http.Handler) *pattern {
	p := &pattern{str: s, h: h}
	rest := s
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		p.method, rest = s[:i], strings.TrimLeft(s[i+1:], " \t")
	}
	i := strings.IndexByte(rest, '/')
	p.host, rest = rest[:i], rest[i+1:]
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		wild := len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}'
		name := seg
		if wild {
			name = seg[1 : len(seg)-1]
		}
		last := i == len(segs)-1
		switch {
		case last && (seg == "" || wild && (strings.HasSuffix(name, "...") || name == "$")):
			p.subtree = true // a trailing slash, {name...} or {$}
		case !wild && (seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "%{}")):
			p.other = true // a segment ServeMux reads in ways not modelled here
		}
		p.segs = append(p.segs, name)
		p.wild = append(p.wild, wild)
		if wild {
			p.wilds++
		}
	}
	return p
}

// build makes the fast table: a route with a method and no host, unless a
// pattern with a host exists (it would win for its host), and a template
// only when no other pattern could match one of its requests with a literal
// where it has a wildcard (that pattern might be the more specific).
func (rt *Router) build() *table {
	t := &table{exact: map[string][]*pattern{}}
	for _, p := range rt.patterns {
		if p.host != "" {
			return nil
		}
	}
	for _, p := range rt.patterns {
		if p.method == "" || p.other || p.subtree {
			continue
		}
		if p.wilds == 0 {
			path := "/" + strings.Join(p.segs, "/")
			t.exact[path] = append(t.exact[path], p)
			continue
		}
		shadowed := false
		for _, q := range rt.patterns {
			if q != p && narrows(q, p) {
				shadowed = true
				break
			}
		}
		if !shadowed {
			t.templates = append(t.templates, p)
		}
	}
	return t
}

// narrows reports whether q may match a request of p's path with a
// literal where p has a wildcard, or is one ServeMux reads in ways this
// package does not model (conservatively: it then may). A subtree pattern
// never does: it matches paths of any depth, so it is never the more
// specific of the two (where both match, p wins; ServeMux refuses a
// conflict).
func narrows(q, p *pattern) bool {
	if q.subtree {
		return false
	}
	if q.other {
		return true
	}
	if len(q.segs) != len(p.segs) {
		return false
	}
	narrower := false
	for i := range p.segs {
		switch {
		case p.wild[i] && !q.wild[i]:
			narrower = true
		case !p.wild[i] && !q.wild[i] && p.segs[i] != q.segs[i]:
			return false // disjoint
		}
	}
	return narrower
}

// ServeHTTP serves r by its pattern's handler, as ServeMux.ServeHTTP does.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := rt.match(r); p != nil {
		r.Pattern = p.str
		if p.wilds > 0 {
			s := r.URL.Path[1:]
			for i, name := range p.segs {
				seg, rest, _ := strings.Cut(s, "/")
				if p.wild[i] {
					r.SetPathValue(name, seg)
				}
				s = rest
			}
		}
		p.h.ServeHTTP(w, r)
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// match returns the pattern ServeMux would route r to; nil when the fast
// path cannot tell.
func (rt *Router) match(r *http.Request) *pattern {
	t := rt.fast.Load()
	// ServeMux matches the escaped path segment by segment, unescaping
	// each: without a RawPath, that is the Path's segments. A request that
	// went through another ServeMux (Pattern set) keeps its path values
	// there, which SetPathValue would not replace.
	if t == nil || r.URL.RawPath != "" || r.Pattern != "" || r.Method == http.MethodConnect || r.RequestURI == "*" {
		return nil
	}
	path := r.URL.Path
	if routes, ok := t.exact[path]; ok {
		return byMethod(routes, r.Method)
	}
	if len(t.templates) == 0 || len(path) == 0 || path[0] != '/' {
		return nil
	}
	var buf [8]string
	segs := buf[:0]
	for s := path[1:]; ; {
		i := strings.IndexByte(s, '/')
		if i < 0 {
			segs = append(segs, s)
			break
		}
		segs = append(segs, s[:i])
		s = s[i+1:]
	}
	for _, seg := range segs {
		if seg == "" || seg == "." || seg == ".." {
			return nil // ServeMux redirects to the clean path
		}
	}
	// Of the templates that fit, the method's own, else for HEAD the GET
	// one (byMethod): two that fit with one method would have been a
	// conflict ServeMux refused, or one shadows the other (build).
	var get *pattern
	for _, p := range t.templates {
		if !fits(p, segs) {
			continue
		}
		if p.method == r.Method {
			return p
		}
		if p.method == http.MethodGet {
			get = p
		}
	}
	if get != nil && r.Method == http.MethodHead {
		return get
	}
	return nil
}

// fits reports whether p's path matches the clean segments segs.
func fits(p *pattern, segs []string) bool {
	if len(p.segs) != len(segs) {
		return false
	}
	for i, s := range p.segs {
		if !p.wild[i] && s != segs[i] {
			return false
		}
	}
	return true
}

// byMethod picks method's route from routes of one path, as ServeMux does:
// the method's own, else for HEAD the GET route.
func byMethod(routes []*pattern, method string) *pattern {
	var get *pattern
	for _, p := range routes {
		if p.method == method {
			return p
		}
		if p.method == http.MethodGet {
			get = p
		}
	}
	if method == http.MethodHead {
		return get
	}
	return nil
}
