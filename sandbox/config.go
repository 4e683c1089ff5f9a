package sandbox

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/milligold/milligold-go/gen/middleware"
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
		return Config{}, yamlError(name, err)
	}
	if len(root.Content) == 0 {
		return Config{}, fmt.Errorf("%s:1: empty config; want at least partners", name)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, yamlError(name, err)
	}
	if err := c.validate(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return Config{}, fmt.Errorf("%s:%d: %s: %s", name, lineOf(root.Content[0], fe.path), fe.path, fe.problem)
		}
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError rewrites yaml.v3's "yaml: line N: msg" as "file:N: msg".
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		err = errors.New(te.Errors[0])
	}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s:%s: %s", name, m[1], m[2])
	}
	return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
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

func (c Config) validate() error {
	if len(c.Partners) == 0 {
		return bad("partners", "at least one partner is required")
	}
	partners := map[string]int{}
	for i, p := range c.Partners {
		at := fmt.Sprintf("partners[%d]", i)
		switch {
		case p.ID == "":
			return bad(at+".id", "required")
		case p.Name == "":
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
		for field, v := range map[string]string{"id": u.ID, "name": u.Name, "mobileNumber": u.MobileNumber, "countryCode": u.CountryCode, "gender": u.Gender} {
			if v == "" {
				return bad(at+"."+field, "required")
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
		if u.GoldBalance < 0 {
			return bad(at+".goldBalance", "negative")
		}
		ids[u.ID], mobiles[u.MobileNumber] = i, i
	}
	g := c.GoldRate
	switch {
	case g.Rate <= 0:
		return bad("goldRate.rate", "must be positive")
	case g.CgstRate < 0 || g.CgstRate >= 1:
		return bad("goldRate.cgstRate", "must be a fraction in [0, 1)")
	case g.SgstRate < 0 || g.SgstRate >= 1:
		return bad("goldRate.sgstRate", "must be a fraction in [0, 1)")
	case g.UpdatedAt.IsZero():
		return bad("goldRate.updatedAt", "required (RFC 3339)")
	case c.TokenLifetimeSeconds < 0:
		return bad("tokenLifetimeSeconds", "must be positive")
	case c.RateLimit.Requests < 0:
		return bad("rateLimit.requests", "must be positive")
	case c.RateLimit.WindowSeconds < 0:
		return bad("rateLimit.windowSeconds", "must be positive")
	case c.SigningKey != "" && len(c.SigningKey) < 32:
		return bad("signingKey", "must be at least 32 bytes")
	}
	return nil
}

// tokenLifetime is the configured lifetime, or the spec's.
func (c Config) tokenLifetime() time.Duration {
	if c.TokenLifetimeSeconds > 0 {
		return time.Duration(c.TokenLifetimeSeconds) * time.Second
	}
	return middleware.TokenLifetime
}

// lineOf finds the line of a path like users[1].mobileNumber in a YAML
// mapping, falling back to the deepest node found.
func lineOf(n *yaml.Node, path string) int {
	for _, part := range strings.Split(path, ".") {
		name, index := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 {
			name = part[:i]
			index, _ = strconv.Atoi(strings.TrimSuffix(part[i+1:], "]"))
		}
		next := mappingValue(n, name)
		if next == nil {
			return n.Line
		}
		n = next
		if index >= 0 {
			if n.Kind != yaml.SequenceNode || index >= len(n.Content) {
				return n.Line
			}
			n = n.Content[index]
		}
	}
	return n.Line
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
