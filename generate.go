package milligold

// openapi.yaml is the source of truth: oapi-codegen turns it into gen/api (and
// the embedded spec into gen/apispec, kept apart so the client does not link
// kin-openapi), then milligold-gen turns its token and rate-limit policy into
// gen/middleware. oapi-codegen is a tool directive in go.mod, so `go tool`
// runs the version go.mod records and importers of this module never see it.
//go:generate go tool oapi-codegen -config gen/api/types.cfg.yaml openapi.yaml
//go:generate go tool oapi-codegen -config gen/api/client.cfg.yaml openapi.yaml
//go:generate go tool oapi-codegen -config gen/api/server.cfg.yaml openapi.yaml
//go:generate go tool oapi-codegen -config gen/apispec/spec.cfg.yaml openapi.yaml
//go:generate go run ./cmd/milligold-gen apply
