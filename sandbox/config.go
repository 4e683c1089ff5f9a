package sandbox

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/ratelimit"
)

// The embedded default's well-known credentials: the partner of the API
// document's example token, with a secret that is public on purpose.
const (
	DefaultPartnerID     = "cljmwgeu10000g5fvztn2mrvn"
	DefaultPartnerSecret = "sandbox-secret"
)

//go:embed default.yaml
var defaultYAML []byte

// Partner is a partner the sandbox issues tokens to. Formatting it never
// shows the secret.
type Partner struct {
	ID     string `yaml:"id"`
	Name   string `yaml:"name"`
	Secret string `yaml:"secret"`
}

// Format prints the partner with its secret redacted, for every verb.
func (p Partner) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "{ID:%s Name:%s Secret:[redacted]}", p.ID, p.Name)
}

// User is a user the sandbox knows, with the fields of the spec's User schema.
type User struct {
	ID           string  `yaml:"id"`
	Name         string  `yaml:"name"`
	Email        string  `yaml:"email"`
	CountryCode  string  `yaml:"countryCode"`
	MobileNumber string  `yaml:"mobileNumber"`
	Gender       string  `yaml:"gender"`
	Birthday     *string `yaml:"birthday"`
	UpiID        string  `yaml:"upiId"`
	Address      *string `yaml:"address"`
	Pincode      *string `yaml:"pincode"`
	GoldBalance  float64 `yaml:"goldBalance"`
}

// GoldRate is the rate getGoldRate returns.
type GoldRate struct {
	Rate      float64   `yaml:"rate"`
	CgstRate  float64   `yaml:"cgstRate"`
	SgstRate  float64   `yaml:"sgstRate"`
	UpdatedAt time.Time `yaml:"updatedAt"`
}

// RateLimit overrides the spec's x-milligold-rate-limit numbers.
type RateLimit struct {
	Requests      int `yaml:"requests"`
	WindowSeconds int `yaml:"windowSeconds"`
	// HeadersOnEveryResponse sends the X-Rate-Limit-* headers on every
	// counted response; the API document promises them on errors only.
	HeadersOnEveryResponse bool `yaml:"headersOnEveryResponse"`
}

// Config declares the sandbox's world. The zero values of TokenLifetimeSeconds
// and RateLimit mean the spec's policy; an empty SigningKey means a random key
// per New.
type Config struct {
	Partners             []Partner `yaml:"partners"`
	Users                []User    `yaml:"users"`
	GoldRate             GoldRate  `yaml:"goldRate"`
	TokenLifetimeSeconds int       `yaml:"tokenLifetimeSeconds"`
	RateLimit            RateLimit `yaml:"rateLimit"`
	// SigningKey is the HS256 key, so several sandboxes accept each other's tokens.
	SigningKey string `yaml:"signingKey"`
	// Faults enables the FaultHeader, outside the partner API, so contract
	// tests can provoke the documented 500s.
	Faults bool `yaml:"faults"`

	// Now is the clock of tokens and rate-limit windows; nil means time.Now.
	Now func() time.Time `yaml:"-"`
	// Logger receives one line per request; nil means no logging.
	Logger *slog.Logger `yaml:"-"`
}

// Format prints the config without secrets or the signing key.
func (c Config) Format(f fmt.State, _ rune) {
	ids := make([]string, len(c.Partners))
	for i, p := range c.Partners {
		ids[i] = p.ID
	}
	fmt.Fprintf(f, "{Partners:%v Users:%d GoldRate:%v TokenLifetimeSeconds:%d RateLimit:%+v SigningKey:[redacted] Faults:%v}",
		ids, len(c.Users), c.GoldRate, c.TokenLifetimeSeconds, c.RateLimit, c.Faults)
}

// Default returns the embedded default: the API document's partner, user and
// gold rate.
func Default() Config {
	c, err := ParseConfig("default.yaml", defaultYAML)
	if err != nil {
		panic("sandbox: embedded default.yaml: " + err.Error())
	}
	return c
}

// LoadConfig reads and validates a YAML config file. Errors name the file,
// the line and the problem.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(path, data)
}

// ParseConfig decodes and validates YAML; name is used in errors.
func ParseConfig(name string, data []byte) (Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, yamlError(name, data, nil, err)
	}
	if len(root.Content) == 0 {
		return Config{}, fmt.Errorf("%s:1: empty config; want at least partners", name)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, yamlError(name, data, &root, err)
	}
	if err := c.validate(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return Config{}, fmt.Errorf("%s:%d: %s: %s", name, min(lineOf(root.Content[0], fe.path), lineBreaks(data)+1), fe.path, fe.problem)
		}
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

var (
	yamlLine     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (.*) not found in type`)
	duplicateKey = regexp.MustCompile(`^mapping key "(.*)" already defined`)
	unknownAlias = regexp.MustCompile(`unknown anchor '(.*)' referenced`)
	badTime      = regexp.MustCompile(`^parsing time "([^"]*)"`)
)

// yamlError rewrites yaml.v3's "yaml: line N: msg" as "file:N: path: msg",
// with the line always present and 1-based.
func yamlError(name string, data []byte, root *yaml.Node, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		err = errors.New(te.Errors[0])
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	m := yamlLine.FindStringSubmatch(msg)
	if t := badTime.FindStringSubmatch(msg); m == nil && t != nil && root != nil {
		if path, line, ok := scalarAt(root, t[1]); ok {
			return fmt.Errorf("%s:%d: %s: %q is not an RFC 3339 time", name, line, path, t[1])
		}
	}
	if m == nil {
		return fmt.Errorf("%s:%d: %s", name, linelessErrorLine(data, msg), msg)
	}
	line, _ := strconv.Atoi(m[1])
	msg = m[2]
	if parserProblem(msg) {
		// yaml.v3 reports parser errors at the 0-based line of the construct.
		line++
	}
	// Some of its scanner errors point past the end of an unterminated last line.
	line = min(line, lineBreaks(data)+1)
	if root == nil {
		return fmt.Errorf("%s:%d: %s", name, line, msg)
	}
	key := ""
	if k := unknownField.FindStringSubmatch(msg); k != nil {
		key, msg = k[1], "unknown key"
	} else if k := duplicateKey.FindStringSubmatch(msg); k != nil {
		key, msg = k[1], "duplicate key"
	}
	if path, ok := pathAt(root, line, key); ok {
		return fmt.Errorf("%s:%d: %s: %s", name, line, path, msg)
	}
	return fmt.Errorf("%s:%d: %s", name, line, msg)
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
// one: bad bytes, unknown aliases, and syntax errors on line 1.
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

// findPath walks n in document order and returns the path (such as
// users[1].mobileNumber) and line of the first mapping entry or sequence item
// that match accepts; for a sequence item, key is nil.
func findPath(n *yaml.Node, prefix string, match func(path string, key, value *yaml.Node) bool) (string, int, bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p, l, ok := findPath(c, prefix, match); ok {
				return p, l, true
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := pathKey(k.Value)
			if prefix != "" {
				p = prefix + "." + p
			}
			if match(p, k, v) {
				return p, k.Line, true
			}
			if r, l, ok := findPath(v, p, match); ok {
				return r, l, true
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", prefix, i)
			if r, l, ok := findPath(c, p, match); ok {
				return r, l, true
			}
			if match(p, nil, c) {
				return p, c.Line, true
			}
		}
	}
	return "", 0, false
}

// pathKey quotes a key that is not a plain name, so a blank or odd key
// still reads as a path in an error.
func pathKey(k string) string {
	if plainKey.MatchString(k) {
		return k
	}
	return strconv.Quote(k)
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// scalarAt finds the path and line of the first mapping value equal to value.
func scalarAt(root *yaml.Node, value string) (string, int, bool) {
	return findPath(root, "", func(_ string, k, v *yaml.Node) bool {
		return k != nil && v.Kind == yaml.ScalarNode && v.Value == value
	})
}

// pathAt finds the path of the first key at line, or of the first nested
// sequence item there; key, when set, must match.
func pathAt(root *yaml.Node, line int, key string) (string, bool) {
	p, _, ok := findPath(root, "", func(path string, k, v *yaml.Node) bool {
		if k == nil {
			return v.Line == line && key == "" && !strings.HasPrefix(path, "[")
		}
		return k.Line == line && (key == "" || k.Value == key)
	})
	return p, ok
}

// fieldError is a validation problem at a path such as users[1].mobileNumber.
type fieldError struct{ path, problem string }

func (e *fieldError) Error() string { return e.path + ": " + e.problem }

func bad(path, format string, args ...any) error {
	return &fieldError{path: path, problem: fmt.Sprintf(format, args...)}
}

var mobilePattern = regexp.MustCompile(`^[0-9]{10}$`)

// Validate reports the first problem in c.
func (c Config) Validate() error { return c.validate() }

// Upper bounds: beyond them a duration overflows or a number is a typo.
const (
	maxLifetimeSeconds = 365 * 24 * 3600
	maxWindowSeconds   = 24 * 3600
	maxRequests        = 1 << 20 // ratelimit.Policy's own bound
)

func (c Config) validate() error {
	if len(c.Partners) == 0 {
		return bad("partners", "at least one partner is required")
	}
	partners := map[string]int{}
	for i, p := range c.Partners {
		at := fmt.Sprintf("partners[%d]", i)
		switch {
		case strings.TrimSpace(p.ID) == "":
			return bad(at+".id", "required")
		case strings.TrimSpace(p.Name) == "":
			return bad(at+".name", "required")
		case p.Secret == "":
			return bad(at+".secret", "required")
		}
		if j, dup := partners[p.ID]; dup {
			return bad(at+".id", "duplicate of partners[%d].id %q", j, p.ID)
		}
		partners[p.ID] = i
	}
	ids, mobiles := map[string]int{}, map[string]int{}
	for i, u := range c.Users {
		at := fmt.Sprintf("users[%d]", i)
		// In the schema's order, so the first missing field is named.
		for _, f := range []struct{ name, value string }{
			{"id", u.ID}, {"name", u.Name}, {"email", u.Email}, {"countryCode", u.CountryCode},
			{"mobileNumber", u.MobileNumber}, {"gender", u.Gender}, {"upiId", u.UpiID},
		} {
			if f.value == "" {
				return bad(at+"."+f.name, "required")
			}
		}
		if !mobilePattern.MatchString(u.MobileNumber) {
			return bad(at+".mobileNumber", "%q is not ten digits", u.MobileNumber)
		}
		if j, dup := ids[u.ID]; dup {
			return bad(at+".id", "duplicate of users[%d].id %q", j, u.ID)
		}
		if j, dup := mobiles[u.MobileNumber]; dup {
			return bad(at+".mobileNumber", "duplicate of users[%d].mobileNumber %q", j, u.MobileNumber)
		}
		if !(u.GoldBalance >= 0) || math.IsInf(u.GoldBalance, 0) {
			return bad(at+".goldBalance", "must be a finite number, 0 or more")
		}
		ids[u.ID], mobiles[u.MobileNumber] = i, i
	}
	g := c.GoldRate
	switch {
	// Negated comparisons, so NaN fails them too; JSON cannot carry NaN or Inf.
	case !(g.Rate > 0) || math.IsInf(g.Rate, 0):
		return bad("goldRate.rate", "must be a positive finite number")
	case !(g.CgstRate >= 0 && g.CgstRate < 1):
		return bad("goldRate.cgstRate", "must be a fraction in [0, 1)")
	case !(g.SgstRate >= 0 && g.SgstRate < 1):
		return bad("goldRate.sgstRate", "must be a fraction in [0, 1)")
	case g.UpdatedAt.IsZero():
		return bad("goldRate.updatedAt", "required (RFC 3339)")
	case c.TokenLifetimeSeconds < 0 || c.TokenLifetimeSeconds > maxLifetimeSeconds:
		return bad("tokenLifetimeSeconds", "must be positive and at most %d (a year)", maxLifetimeSeconds)
	case c.RateLimit.Requests < 0 || c.RateLimit.Requests > maxRequests:
		return bad("rateLimit.requests", "must be positive and at most %d", maxRequests)
	case c.RateLimit.WindowSeconds < 0 || c.RateLimit.WindowSeconds > maxWindowSeconds:
		return bad("rateLimit.windowSeconds", "must be positive and at most %d (a day)", maxWindowSeconds)
	case c.SigningKey != "" && len(c.SigningKey) < 32:
		return bad("signingKey", "must be at least 32 bytes")
	}
	if err := c.policy().Validate(); err != nil {
		return bad("rateLimit", "%v", err)
	}
	return nil
}

// policy is the spec's rate-limit policy with the configured numbers.
func (c Config) policy() ratelimit.Policy {
	p := middleware.RateLimit
	if c.RateLimit.Requests > 0 {
		p.Requests = c.RateLimit.Requests
	}
	if c.RateLimit.WindowSeconds > 0 {
		p.Window = time.Duration(c.RateLimit.WindowSeconds) * time.Second
	}
	return p
}

// tokenLifetime is the configured lifetime, or the spec's.
func (c Config) tokenLifetime() time.Duration {
	if c.TokenLifetimeSeconds > 0 {
		return time.Duration(c.TokenLifetimeSeconds) * time.Second
	}
	return middleware.TokenLifetime
}

// lineOf finds the line of a path like users[1].mobileNumber in a YAML
// mapping: the line of its key, or of the deepest key or item found.
func lineOf(n *yaml.Node, path string) int {
	line := n.Line
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
		n, line = value, key.Line
		if index >= 0 {
			if n.Kind != yaml.SequenceNode || index >= len(n.Content) {
				return line
			}
			n = n.Content[index]
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
