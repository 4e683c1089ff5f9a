package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/money"
)

// ParseConfig decodes and validates YAML; name is used in errors. It reports
// every problem at once, as a *ConfigError whose lines read
// "NAME:LINE: path: problem".
//
// It decodes yaml.v3's node tree itself, so each problem has the position of
// the node it is about, numbers keep their exact text (no float64, no
// silent truncation of 2.9 to 2), unknown keys get the closest known key
// as a suggestion, and a second YAML document is an error, not ignored.
func ParseConfig(name string, data []byte) (Config, error) {
	fail := func(ps ...Problem) (Config, error) { return Config{}, &ConfigError{File: name, Problems: ps} }
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return fail(Problem{Line: 1, Message: "empty config; want at least partners"})
	} else if err != nil {
		return fail(syntaxProblem(data, err))
	}
	if len(doc.Content) == 0 {
		return fail(Problem{Line: 1, Message: "empty config; want at least partners"})
	}
	top := doc.Content[0]

	d := &decoder{}
	var c Config
	d.config(top, &c)
	var next yaml.Node
	if err := dec.Decode(&next); err != nil && !errors.Is(err, io.EOF) {
		d.problems = append(d.problems, syntaxProblem(data, err))
	} else if err == nil {
		d.problems = append(d.problems, Problem{Line: max(next.Line, 1), Message: "a second YAML document; a config is one document (remove the ---)"})
	}
	if !d.failed("") {
		for _, p := range c.problems() {
			if !d.failed(p.Path) {
				p.Line = lineOf(top, p.Path)
				d.problems = append(d.problems, p)
			}
		}
	}
	if len(d.problems) > 0 {
		last := lineBreaks(data) + 1
		for i := range d.problems {
			// A node at the end of the stream may sit past its last line.
			d.problems[i].Line = min(d.problems[i].Line, last)
		}
		sort.SliceStable(d.problems, func(i, j int) bool { return d.problems[i].Line < d.problems[j].Line })
		return fail(d.problems...)
	}
	return c, nil
}

// decoder turns a config's nodes into a Config, collecting a problem per
// node that does not fit instead of stopping at the first.
type decoder struct {
	problems []Problem
	bad      []string // paths that failed to decode: validation skips them and below
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.problems = append(d.problems, Problem{Line: max(n.Line, 1), Path: path, Message: fmt.Sprintf(format, args...)})
	d.bad = append(d.bad, path)
}

// failed reports whether path, or a path above it, failed to decode.
func (d *decoder) failed(path string) bool {
	for _, b := range d.bad {
		if b == "" || path == b || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") {
			return true
		}
	}
	return false
}

// fields maps a mapping's keys to what decodes their values.
type fields map[string]func(value *yaml.Node, path string)

func (d *decoder) config(n *yaml.Node, c *Config) {
	d.mapping(n, "", "the config's keys", fields{
		"partners": func(v *yaml.Node, p string) {
			d.sequence(v, p, "partners", func(v *yaml.Node, p string) {
				c.Partners = append(c.Partners, Partner{})
				d.partner(v, p, &c.Partners[len(c.Partners)-1])
			})
		},
		"users": func(v *yaml.Node, p string) {
			d.sequence(v, p, "users", func(v *yaml.Node, p string) {
				c.Users = append(c.Users, api.User{})
				d.user(v, p, &c.Users[len(c.Users)-1])
			})
		},
		"goldRate": func(v *yaml.Node, p string) {
			g := &c.GoldRate
			d.mapping(v, p, "the gold rate", fields{
				"rate":      func(v *yaml.Node, p string) { d.decimal(v, p, rateProblem, &g.Rate) },
				"cgstRate":  func(v *yaml.Node, p string) { d.decimal(v, p, fractionProblem, &g.CgstRate) },
				"sgstRate":  func(v *yaml.Node, p string) { d.decimal(v, p, fractionProblem, &g.SgstRate) },
				"updatedAt": func(v *yaml.Node, p string) { d.time(v, p, &g.UpdatedAt) },
			})
		},
		"tokenLifetimeSeconds": func(v *yaml.Node, p string) { d.integer(v, p, &c.TokenLifetimeSeconds) },
		"rateLimit": func(v *yaml.Node, p string) {
			r := &c.RateLimit
			d.mapping(v, p, "rate-limit numbers", fields{
				"requests":               func(v *yaml.Node, p string) { d.integer(v, p, &r.Requests) },
				"windowSeconds":          func(v *yaml.Node, p string) { d.integer(v, p, &r.WindowSeconds) },
				"headersOnEveryResponse": func(v *yaml.Node, p string) { d.boolean(v, p, &r.HeadersOnEveryResponse) },
			})
		},
		"signingKey": func(v *yaml.Node, p string) { d.str(v, p, &c.SigningKey) },
		"faults":     func(v *yaml.Node, p string) { d.boolean(v, p, &c.Faults) },
		"responses":  func(v *yaml.Node, p string) { d.responses(v, p, c) },
	})
}

func (d *decoder) partner(n *yaml.Node, path string, p *Partner) {
	d.mapping(n, path, "a partner's id, name and secret", fields{
		"id":     func(v *yaml.Node, at string) { d.str(v, at, &p.ID) },
		"name":   func(v *yaml.Node, at string) { d.str(v, at, &p.Name) },
		"secret": func(v *yaml.Node, at string) { d.str(v, at, &p.Secret) },
	})
}

func (d *decoder) user(n *yaml.Node, path string, u *api.User) {
	d.mapping(n, path, "a user's fields", fields{
		"id":           func(v *yaml.Node, p string) { d.str(v, p, &u.Id) },
		"name":         func(v *yaml.Node, p string) { d.str(v, p, &u.Name) },
		"email":        func(v *yaml.Node, p string) { d.str(v, p, &u.Email) },
		"countryCode":  func(v *yaml.Node, p string) { d.str(v, p, &u.CountryCode) },
		"mobileNumber": func(v *yaml.Node, p string) { d.str(v, p, &u.MobileNumber) },
		"gender":       func(v *yaml.Node, p string) { d.str(v, p, &u.Gender) },
		"birthday":     func(v *yaml.Node, p string) { d.nullable(v, p, &u.Birthday) },
		"upiId":        func(v *yaml.Node, p string) { d.str(v, p, &u.UpiId) },
		"address":      func(v *yaml.Node, p string) { d.nullable(v, p, &u.Address) },
		"pincode":      func(v *yaml.Node, p string) { d.nullable(v, p, &u.Pincode) },
		"goldBalance":  func(v *yaml.Node, p string) { d.decimal(v, p, balanceProblem, &u.GoldBalance) },
	})
}

// deref follows an alias to the node it names; errors keep the alias's line.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// mapping decodes a mapping's entries with fs; null is an empty mapping.
func (d *decoder) mapping(n *yaml.Node, path, what string, fs fields) {
	m := deref(n)
	if isNull(m) {
		return
	}
	if m.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of %s, got %s", what, describe(m))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		p := pathKey(k.Value)
		if path != "" {
			p = path + "." + p
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k, p, "duplicate key (first on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		decode, ok := fs[k.Value]
		if !ok || k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			near := suggest(k.Value, fs)
			hint := ""
			if near != "" {
				hint = " (did you mean " + near + "?)"
				// Most likely the key meant: no "required" for it too.
				d.bad = append(d.bad, strings.TrimPrefix(path+"."+near, "."))
			}
			d.fail(k, p, "unknown key%s", hint)
			continue
		}
		decode(v, p)
	}
}

// sequence decodes each item of a sequence; null is an empty sequence.
func (d *decoder) sequence(n *yaml.Node, path, what string, item func(*yaml.Node, string)) {
	s := deref(n)
	if isNull(s) {
		return
	}
	if s.Kind != yaml.SequenceNode {
		d.fail(n, path, "want a list of %s, got %s", what, describe(s))
		return
	}
	for i, c := range s.Content {
		item(c, fmt.Sprintf("%s[%d]", path, i))
	}
}

// scalar is n's scalar, or nil after a problem.
func (d *decoder) scalar(n *yaml.Node, path, want string) *yaml.Node {
	v := deref(n)
	if v.Kind != yaml.ScalarNode {
		d.fail(n, path, "want %s, got %s", want, describe(v))
		return nil
	}
	return v
}

// str takes any scalar's text, as written (countryCode: 91 is "91"); null
// leaves it empty, which validation reports where a value is required.
func (d *decoder) str(n *yaml.Node, path string, out *string) {
	if v := d.scalar(n, path, "a string"); v != nil && !isNull(v) {
		*out = v.Value
	}
}

func (d *decoder) nullable(n *yaml.Node, path string, out **string) {
	if v := d.scalar(n, path, "a string or null"); v != nil && !isNull(v) {
		s := v.Value
		*out = &s
	}
}

// decimal reads a number from its text, exactly; problem is what the field
// must be, for a value such as .inf that no decimal spells.
func (d *decoder) decimal(n *yaml.Node, path, problem string, out *money.Decimal) {
	v := d.scalar(n, path, "a number")
	if v == nil || isNull(v) {
		return
	}
	if v.Tag != "!!int" && v.Tag != "!!float" {
		d.fail(n, path, "want a number, got %s", describe(v))
		return
	}
	x, err := money.Parse(v.Value)
	if err != nil {
		d.fail(n, path, "%s; got %s", problem, clip(v.Value))
		return
	}
	*out = x
}

// integer takes only YAML integers: 2.9 is an error, not 2.
func (d *decoder) integer(n *yaml.Node, path string, out *int) {
	v := d.scalar(n, path, "a whole number")
	if v == nil || isNull(v) {
		return
	}
	var x int64
	if v.Tag != "!!int" || v.Decode(&x) != nil || int64(int(x)) != x {
		d.fail(n, path, "want a whole number, got %s", describe(v))
		return
	}
	*out = int(x)
}

func (d *decoder) boolean(n *yaml.Node, path string, out *bool) {
	v := d.scalar(n, path, "true or false")
	if v == nil || isNull(v) {
		return
	}
	if v.Tag != "!!bool" || v.Decode(out) != nil {
		d.fail(n, path, "want true or false, got %s", describe(v))
	}
}

func (d *decoder) time(n *yaml.Node, path string, out *time.Time) {
	v := d.scalar(n, path, "an RFC 3339 time")
	if v == nil || isNull(v) {
		return
	}
	t, err := time.Parse(time.RFC3339Nano, v.Value)
	if err != nil {
		d.fail(n, path, "%s is not an RFC 3339 time", strconv.Quote(clip(v.Value)))
		return
	}
	*out = t
}

// describe names what a node is, for "want X, got Y"; a scalar shows its
// text, clipped.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!str":
			return "the string " + strconv.Quote(clip(n.Value))
		}
		return clip(n.Value)
	}
	return "nothing"
}

// clip shortens a value for an error message.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// suggest is the known key closest to key, when one is close enough to be
// a typo; otherwise "".
func suggest(key string, fs fields) string {
	if len(key) > 64 {
		return ""
	}
	best, bestDist := "", 0
	for _, k := range slices.Sorted(mapKeys(fs)) {
		dist := editDistance(strings.ToLower(key), strings.ToLower(k))
		if dist <= max(1, len(k)/4) && (best == "" || dist < bestDist) {
			best, bestDist = k, dist
		}
	}
	return best
}

func mapKeys(fs fields) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range fs {
			if !yield(k) {
				return
			}
		}
	}
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	prev := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur := make([]int, len(y)+1)
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(y)]
}

// pathKey quotes a key that is not a plain name, so a blank or odd key
// still reads as a path in an error.
func pathKey(k string) string {
	if plainKey.MatchString(k) {
		return k
	}
	return strconv.Quote(clip(k))
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// lineOf finds the line of a path like users[1].mobileNumber in a YAML
// mapping: the line of its key, or of the deepest key or item found.
func lineOf(n *yaml.Node, path string) int {
	n = deref(n)
	line := max(n.Line, 1)
	if path == "" {
		return line
	}
	for _, part := range strings.Split(path, ".") {
		name, index := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 {
			name = part[:i]
			index, _ = strconv.Atoi(strings.TrimSuffix(part[i+1:], "]"))
		}
		key, value := mappingEntry(n, name)
		if key == nil {
			return line
		}
		n, line = deref(value), key.Line
		if index >= 0 {
			if n.Kind != yaml.SequenceNode || index >= len(n.Content) {
				return line
			}
			n = deref(n.Content[index])
			line = n.Line
		}
	}
	return line
}

func mappingEntry(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// Syntax errors are the one thing yaml.v3 reports only as text: "yaml: line
// N: problem", or no line at all for bad bytes and unknown aliases.
var (
	yamlLine     = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownAlias = regexp.MustCompile(`unknown anchor '(.*)' referenced`)
)

// syntaxProblem places a yaml.v3 syntax error on a line within data.
func syntaxProblem(data []byte, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserProblem(msg) {
			line++ // yaml.v3's parser, unlike its scanner, counts from 0 here
		}
	} else {
		line = linelessErrorLine(data, msg)
	}
	// Some scanner errors point past the end of an unterminated last line.
	return Problem{Line: max(1, min(line, lineBreaks(data)+1)), Message: msg}
}

// parserProblem reports whether msg is one of yaml.v3's parser (not
// scanner) errors, whose line it reports 0-based.
func parserProblem(msg string) bool {
	return strings.HasPrefix(msg, "did not find expected") ||
		strings.HasPrefix(msg, "found duplicate %") ||
		msg == "found incompatible YAML document" ||
		msg == "found undefined tag handle"
}

// linelessErrorLine finds the line of the errors yaml.v3 reports without
// one: bad bytes and unknown aliases.
func linelessErrorLine(data []byte, msg string) int {
	at := -1
	if a := unknownAlias.FindStringSubmatch(msg); a != nil {
		at = bytes.Index(data, []byte("*"+a[1]))
	} else {
		for i, r := range string(data) {
			if r == utf8.RuneError || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
				at = i
				break
			}
		}
	}
	if at < 0 {
		return 1
	}
	return 1 + lineBreaks(data[:at])
}

// lineBreaks counts line breaks as YAML does: CR LF, CR, LF, NEL, LS and PS.
func lineBreaks(b []byte) int {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	return strings.Count(s, "\n") + strings.Count(s, "\r") +
		strings.Count(s, "\u0085") + strings.Count(s, "\u2028") + strings.Count(s, "\u2029")
}
