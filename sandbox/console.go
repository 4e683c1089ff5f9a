package sandbox

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/milligold/milligold-go/gen/middleware"
)

// The console: a page and its script, Redoc's standalone bundle (pinned in
// console/vendor, see console/update.sh) and the control API's own
// OpenAPI document. Everything is embedded, so the console works offline.
//
//go:embed console/index.html console/console.js console/console.css console/vendor/redoc.standalone.js console/vendor/redoc.LICENSE.txt control.yaml
var consoleFS embed.FS

// ControlSpec is the control API's OpenAPI document.
func ControlSpec() []byte {
	b, _ := consoleFS.ReadFile("control.yaml")
	return b
}

// consoleCSP keeps the page to its own origin: nothing is fetched from
// elsewhere (Redoc needs inline styles and a blob: worker for its search).
const consoleCSP = "default-src 'self'; script-src 'self' blob:; worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

func (c *Control) consoleRoutes() {
	static := func(name, contentType string) http.HandlerFunc {
		body, err := consoleFS.ReadFile(name)
		if err != nil {
			panic(err) // embedded above
		}
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Content-Security-Policy", consoleCSP)
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Referrer-Policy", "no-referrer")
			w.Write(body)
		}
	}
	get := func(h http.HandlerFunc) map[string]http.HandlerFunc {
		return map[string]http.HandlerFunc{http.MethodGet: h}
	}
	c.route(ControlPrefix+"{$}", get(static("console/index.html", "text/html; charset=utf-8")))
	c.route(ControlPrefix+"console.js", get(static("console/console.js", "text/javascript; charset=utf-8")))
	c.route(ControlPrefix+"console.css", get(static("console/console.css", "text/css; charset=utf-8")))
	c.route(ControlPrefix+"redoc.standalone.js", get(static("console/vendor/redoc.standalone.js", "text/javascript; charset=utf-8")))
	c.route(ControlPrefix+"redoc.LICENSE.txt", get(static("console/vendor/redoc.LICENSE.txt", "text/plain; charset=utf-8")))
	c.route(ControlPrefix+"control.yaml", get(static("control.yaml", "application/yaml")))
	c.route(ControlPrefix+"openapi.json", get(c.partnerSpec))
}

// partnerSpec serves the partner API's spec as the console renders it:
// the sandbox's own base URL as the only server, and a curl example per
// operation. Credentials are shell variables, never values.
func (c *Control) partnerSpec(w http.ResponseWriter, r *http.Request) {
	raw, err := json.Marshal(c.s.spec)
	if err != nil {
		c.s.writeError(w, r, http.StatusInternalServerError, "internal error")
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		c.s.writeError(w, r, http.StatusInternalServerError, "internal error")
		return
	}
	base := "http://" + r.Host + BasePath
	doc["servers"] = []any{map[string]any{"url": base, "description": "this sandbox"}}
	paths, _ := doc["paths"].(map[string]any)
	for _, op := range middleware.Operations {
		item, _ := paths[op.Path].(map[string]any)
		o, _ := item[strings.ToLower(op.Method)].(map[string]any)
		if o == nil {
			continue
		}
		o["x-codeSamples"] = []any{map[string]any{"lang": "Shell", "label": "curl", "source": curlExample(base, op)}}
	}
	writeJSON(w, http.StatusOK, doc)
}

// curlExample is a runnable curl command for op against base.
func curlExample(base string, op middleware.Operation) string {
	path := strings.ReplaceAll(op.Path, "{mobileNumber}", "1234567890")
	var b strings.Builder
	fmt.Fprintf(&b, "curl -sS")
	if op.Method != http.MethodGet {
		fmt.Fprintf(&b, " -X %s", op.Method)
	}
	fmt.Fprintf(&b, " '%s%s'", base, path)
	if op.IssuesToken {
		b.WriteString(" \\\n  --data-urlencode \"partnerId=$MILLIGOLD_PARTNER_ID\" \\\n  --data-urlencode \"partnerSecret=$MILLIGOLD_PARTNER_SECRET\"")
	}
	if op.Bearer {
		b.WriteString(" \\\n  -H \"Authorization: Bearer $TOKEN\"")
	}
	return b.String()
}
