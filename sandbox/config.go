package sandbox

import (
	_ "embed"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/money"
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
	Partners             []Partner    `yaml:"partners"`
	Users                []api.User   `yaml:"users"`    // the spec's User, decoded field by field (configyaml.go)
	GoldRate             api.GoldRate `yaml:"goldRate"` // exact decimals: the answer carries the digits the config spells
	TokenLifetimeSeconds int          `yaml:"tokenLifetimeSeconds"`
	RateLimit            RateLimit    `yaml:"rateLimit"`
	// SigningKey is the HS256 key, so several sandboxes accept each other's tokens.
	SigningKey string `yaml:"signingKey"`
	// Faults enables the FaultHeader, outside the partner API, so contract
	// tests can provoke the documented 500s.
	Faults bool `yaml:"faults"`
	// Responses declares answers, by operation id, for the operations
	// without hand-written behaviour; the others answer the spec's example.
	Responses map[string]Response `yaml:"responses"`

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
	fmt.Fprintf(f, "{Partners:%v Users:%d GoldRate:%v TokenLifetimeSeconds:%d RateLimit:%+v SigningKey:[redacted] Faults:%v Responses:%d}",
		ids, len(c.Users), c.GoldRate, c.TokenLifetimeSeconds, c.RateLimit, c.Faults, len(c.Responses))
}

// DefaultYAML is the embedded default config, commented: the format a
// --config file takes (milligold sandbox --print-config prints it).
func DefaultYAML() []byte { return slices.Clone(defaultYAML) }

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

// Problem is one mistake in a config: where it is and what is wrong.
type Problem struct {
	Line    int    // 1-based; 0 when the config did not come from a file
	Path    string // such as users[1].mobileNumber; empty for the whole config
	Message string
}

// ConfigError lists every problem ParseConfig found, in line order. Its
// Error has one "FILE:LINE: path: problem" line per problem.
type ConfigError struct {
	File     string
	Problems []Problem
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.File != "" {
			fmt.Fprintf(&b, "%s:%d: ", e.File, p.Line)
		}
		if p.Path != "" {
			b.WriteString(p.Path + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

var mobilePattern = regexp.MustCompile(`^[0-9]{10}$`)

// Validate reports every problem in c, as a *ConfigError without lines.
func (c Config) Validate() error {
	ps := c.problems()
	if len(ps) == 0 {
		return nil
	}
	return &ConfigError{Problems: ps}
}

// Upper bounds: beyond them a duration overflows or a number is a typo.
const (
	maxLifetimeSeconds = 365 * 24 * 3600
	maxWindowSeconds   = 24 * 3600
	maxRequests        = 1 << 20 // ratelimit.Policy's own bound
)

// The problems the decimal fields can have, shared by the decoder (a value
// that is not a finite number) and the validation (one out of range).
const (
	balanceProblem  = "must be a finite number, 0 or more"
	rateProblem     = "must be a positive finite number"
	fractionProblem = "must be a fraction in [0, 1)"
)

// problems is every validation problem in c, by path (no lines).
func (c Config) problems() []Problem {
	var ps []Problem
	bad := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if len(c.Partners) == 0 {
		bad("partners", "at least one partner is required")
	}
	partners := map[string]int{}
	for i, p := range c.Partners {
		at := fmt.Sprintf("partners[%d]", i)
		if strings.TrimSpace(p.ID) == "" {
			bad(at+".id", "required")
		}
		if strings.TrimSpace(p.Name) == "" {
			bad(at+".name", "required")
		}
		if p.Secret == "" {
			bad(at+".secret", "required")
		}
		if j, dup := partners[p.ID]; dup && p.ID != "" {
			bad(at+".id", "duplicate of partners[%d].id %q", j, p.ID)
		} else if !dup {
			partners[p.ID] = i
		}
	}
	ids, mobiles := map[string]int{}, map[string]int{}
	for i, u := range c.Users {
		at := fmt.Sprintf("users[%d]", i)
		// In the schema's order, so the problems read top to bottom.
		for _, f := range []struct{ name, value string }{
			{"id", u.Id}, {"name", u.Name}, {"email", u.Email}, {"countryCode", u.CountryCode},
			{"mobileNumber", u.MobileNumber}, {"gender", u.Gender}, {"upiId", u.UpiId},
		} {
			if f.value == "" {
				bad(at+"."+f.name, "required")
			}
		}
		if u.MobileNumber != "" && !mobilePattern.MatchString(u.MobileNumber) {
			bad(at+".mobileNumber", "%q is not ten digits", u.MobileNumber)
		}
		if j, dup := ids[u.Id]; dup && u.Id != "" {
			bad(at+".id", "duplicate of users[%d].id %q", j, u.Id)
		} else if !dup {
			ids[u.Id] = i
		}
		if j, dup := mobiles[u.MobileNumber]; dup && u.MobileNumber != "" {
			bad(at+".mobileNumber", "duplicate of users[%d].mobileNumber %q", j, u.MobileNumber)
		} else if !dup {
			mobiles[u.MobileNumber] = i
		}
		if u.GoldBalance.IsNegative() {
			bad(at+".goldBalance", balanceProblem)
		}
	}
	g := c.GoldRate
	if !g.Rate.IsPositive() {
		bad("goldRate.rate", rateProblem)
	}
	if !fraction(g.CgstRate) {
		bad("goldRate.cgstRate", fractionProblem)
	}
	if !fraction(g.SgstRate) {
		bad("goldRate.sgstRate", fractionProblem)
	}
	if g.UpdatedAt.IsZero() {
		bad("goldRate.updatedAt", "required (RFC 3339)")
	}
	if c.TokenLifetimeSeconds < 0 || c.TokenLifetimeSeconds > maxLifetimeSeconds {
		bad("tokenLifetimeSeconds", "must be positive and at most %d (a year)", maxLifetimeSeconds)
	}
	limitsOK := true
	if c.RateLimit.Requests < 0 || c.RateLimit.Requests > maxRequests {
		bad("rateLimit.requests", "must be positive and at most %d", maxRequests)
		limitsOK = false
	}
	if c.RateLimit.WindowSeconds < 0 || c.RateLimit.WindowSeconds > maxWindowSeconds {
		bad("rateLimit.windowSeconds", "must be positive and at most %d (a day)", maxWindowSeconds)
		limitsOK = false
	}
	if c.SigningKey != "" && len(c.SigningKey) < 32 {
		bad("signingKey", "must be at least 32 bytes")
	}
	if limitsOK {
		if err := c.policy().Validate(); err != nil {
			bad("rateLimit", "%v", err)
		}
	}
	responseProblems(c.Responses, bad)
	return ps
}

// fraction reports whether d is in [0, 1).
func fraction(d money.Decimal) bool {
	return !d.IsNegative() && d.LessThan(decimal.NewFromInt(1))
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
