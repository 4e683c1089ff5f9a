package milligold

// openapi.yaml is the source of truth: milligold-gen writes all of gen/ from
// it. It runs oapi-codegen for each gen/*/*.cfg.yaml (gen/api; the embedded
// spec into gen/apispec, kept apart so the client does not link kin-openapi)
// through `go tool oapi-codegen`, so the version is the tool directive's in
// go.mod and importers of this module never see it; then it turns the
// token and rate-limit policy into gen/middleware (the tables and the
// client's glue) and gen/apiserver (the server's glue, over sandbox/guard,
// apart so that the client links none of it). `make plan` shows what this
// would change.
//go:generate go run ./cmd/milligold-gen apply
