package guard

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRoutes(t *testing.T) {
	mux := http.NewServeMux()
	answer := func(s string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(s)) }
	}
	m := Routes(mux, map[string]http.HandlerFunc{"GET /direct": answer("direct")})
	m.HandleFunc("GET /direct", answer("given"))
	m.HandleFunc("GET /other", answer("given"))
	for path, want := range map[string]string{"/direct": "direct", "/other": "given"} {
		w := httptest.NewRecorder()
		m.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if got := w.Body.String(); got != want {
			t.Errorf("GET %s answered %q; want %q", path, got, want)
		}
	}
}
