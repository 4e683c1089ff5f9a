//go:build ignore

// The code generators this module runs are pinned by the tool directive in
// go.mod (go get -tool), not by a blank import here: a build-tagged tools.go in
// the root package made every importer's go mod tidy add oapi-codegen,
// golang.org/x/tools and x/mod to their go.mod. go generate runs them with
// `go tool oapi-codegen`; `go tool` alone lists them. To add or bump one:
//
//	go get -tool github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@vX.Y.Z
//
// The ignore constraint keeps this file out of every build and out of go mod
// tidy, here and in importers.
package tools
