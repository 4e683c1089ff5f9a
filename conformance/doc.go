// Package conformance checks an implementation of the milliGOLD Partner API
// against openapi.yaml: one contract suite, runnable against any base URL
// (the in-process sandbox in go test, a running sandbox, the real API), and a
// validating http.RoundTripper that any client or test can send its traffic
// through.
//
// Run executes the suite's named cases ("POST /auth/token: 200",
// "GET /user/info/{mobileNumber}: 404", ...) and returns a Report. Every
// request the suite sends and every response it gets passes through a
// Transport, which validates both with kin-openapi's openapi3filter, so a
// case fails on the first departure from the spec as well as on a wrong
// answer. The cases declare the (operation, status) pairs they assert, so
// the suite knows which documented responses it exercised and which it did
// not (the 500s and the 429s are opt-in: they need fault injection or spend
// the partner's quota).
package conformance
