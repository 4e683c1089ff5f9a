package guard

import "net/http"

// Mux is a router as oapi-codegen's HandlerWithOptions takes it (its
// ServeMux interface).
type Mux interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
	http.Handler
}

// Routes returns m, except that a pattern direct has a handler for is
// registered with that handler instead of the one given. The generated
// HandlerWithOptions routes parameterless operations to the server's
// methods this way: oapi-codegen's wrapper would build a closure per
// request only to run middlewares there are none of.
func Routes(m Mux, direct map[string]http.HandlerFunc) Mux { return directMux{m, direct} }

type directMux struct {
	Mux
	direct map[string]http.HandlerFunc
}

func (d directMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	if f, ok := d.direct[pattern]; ok {
		h = f
	}
	d.Mux.HandleFunc(pattern, h)
}
