package sandbox_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/sandbox"
)

// cfgSecret is the secret of the fixtures' partner: no error may show it.
const cfgSecret = "fixture-secret-never-printed"

// cfgPartners and the rest are fragments of a valid config, with their line
// numbers noted where the table's cases point at them.
const (
	cfgPartners = `partners:
  - id: p1
    name: Partner One
    secret: ` + cfgSecret + `
`
	cfgUser = `users:
  - id: u1
    name: User One
    email: one@example.com
    countryCode: "91"
    mobileNumber: "9876543210"
    gender: FEMALE
    birthday: "1990-01-01"
    upiId: one@upi
    address: null
    goldBalance: 1.25
`
	cfgRate = `goldRate:
  rate: 6000.5
  cgstRate: 0.015
  sgstRate: 0.015
  updatedAt: 2026-01-02T03:04:05Z
`
)

// cfgValid is a whole valid config.
const cfgValid = cfgPartners + cfgUser + cfgRate

// marked strips the "#<" marker from yaml and returns the 1-based line it
// was on: the line the error must name.
func marked(t testing.TB, yaml string) (string, int) {
	t.Helper()
	for i, line := range strings.Split(yaml, "\n") {
		if strings.Contains(line, "#<") {
			return strings.Replace(yaml, " #<", "", 1), i + 1
		}
	}
	t.Fatalf("fixture has no #< marker:\n%s", yaml)
	return "", 0
}

var cfgRejects = []struct {
	name string
	yaml string // the #< marker is on the line the error names (line 1 if unmarked)
	want string // the error after "cfg.yaml:LINE: "
}{
	{"empty file", ``, "empty config"},
	{"only a comment", "# nothing here\n", "empty config"},
	{"null document", "null\n", "partners: at least one partner is required"},
	{"no partners", cfgUser + cfgRate, "partners: at least one partner is required"},
	{"empty partners", "partners: [] #<\n" + cfgRate, "partners: at least one partner is required"},
	{"unknown top-level key", cfgValid + "colour: blue #<\n", "colour: unknown key"},
	{"unknown partner key", `partners:
  - id: p1
    name: Partner One
    secret: s
    colour: blue #<
` + cfgRate, "partners[0].colour: unknown key"},
	{"unknown user key", cfgPartners + `users:
  - id: u1
    name: User One
    countryCode: "91"
    mobileNumber: "9876543210"
    gender: MALE
    email: a@example.com
    upiId: a@upi
    phone: "1" #<
` + cfgRate, "users[0].phone: unknown key"},
	{"unknown rate key", cfgPartners + `goldRate:
  rate: 1
  updatedAt: 2026-01-02T03:04:05Z
  vat: 0.2 #<
`, "goldRate.vat: unknown key"},
	{"partner without id", `partners:
  - name: Partner One #<
    secret: s
` + cfgRate, "partners[0].id: required"},
	{"partner with a blank id", `partners:
  - id: "  " #<
    name: Partner One
    secret: s
` + cfgRate, "partners[0].id: required"},
	{"partner without secret", `partners:
  - id: p1 #<
    name: Partner One
  - id: p2
    name: Partner Two
` + cfgRate, "partners[0].secret: required"},
	{"duplicate partner id", `partners:
  - id: p1
    name: Partner One
    secret: a
  - id: p1 #<
    name: Partner Two
    secret: b
` + cfgRate, `partners[1].id: duplicate of partners[0].id "p1"`},
	{"user without name", cfgPartners + `users:
  - id: u1 #<
    countryCode: "91"
    mobileNumber: "9876543210"
    gender: MALE
    email: a@example.com
    upiId: a@upi
` + cfgRate, "users[0].name: required"},
	{"duplicate user id", cfgPartners + `users:
  - {id: u1, name: A, countryCode: "91", mobileNumber: "9876543210", gender: MALE, email: a@example.com, upiId: a@upi}
  - id: u1 #<
    name: B
    countryCode: "91"
    mobileNumber: "9876543211"
    gender: MALE
    email: a@example.com
    upiId: a@upi
` + cfgRate, `users[1].id: duplicate of users[0].id "u1"`},
	{"duplicate mobile number", cfgPartners + `users:
  - {id: u1, name: A, countryCode: "91", mobileNumber: "9876543210", gender: MALE, email: a@example.com, upiId: a@upi}
  - id: u2
    name: B
    countryCode: "91"
    mobileNumber: "9876543210" #<
    gender: MALE
    email: a@example.com
    upiId: a@upi
` + cfgRate, `users[1].mobileNumber: duplicate of users[0].mobileNumber "9876543210"`},
	{"mobile of nine digits", cfgPartners + `users:
  - id: u1
    name: A
    countryCode: "91"
    mobileNumber: "987654321" #<
    gender: MALE
    email: a@example.com
    upiId: a@upi
` + cfgRate, `users[0].mobileNumber: "987654321" is not ten digits`},
	{"mobile with country code", cfgPartners + `users:
  - id: u1
    name: A
    countryCode: "91"
    mobileNumber: "+919876543210" #<
    gender: MALE
    email: a@example.com
    upiId: a@upi
` + cfgRate, `users[0].mobileNumber: "+919876543210" is not ten digits`},
	{"negative gold balance", cfgPartners + `users:
  - id: u1
    name: A
    countryCode: "91"
    mobileNumber: "9876543210"
    gender: MALE
    email: a@example.com
    upiId: a@upi
    goldBalance: -1 #<
` + cfgRate, "users[0].goldBalance: must be a finite number, 0 or more"},
	{"negative rate", cfgPartners + `goldRate:
  rate: -1 #<
  updatedAt: 2026-01-02T03:04:05Z
`, "goldRate.rate: must be a positive finite number"},
	{"zero rate", cfgPartners + `goldRate:
  rate: 0 #<
  updatedAt: 2026-01-02T03:04:05Z
`, "goldRate.rate: must be a positive finite number"},
	{"cgst of one", cfgPartners + `goldRate:
  rate: 1
  cgstRate: 1 #<
  updatedAt: 2026-01-02T03:04:05Z
`, "goldRate.cgstRate: must be a fraction in [0, 1)"},
	{"cgst as a percentage", cfgPartners + `goldRate:
  rate: 1
  cgstRate: 1.5 #<
  updatedAt: 2026-01-02T03:04:05Z
`, "goldRate.cgstRate: must be a fraction in [0, 1)"},
	{"negative sgst", cfgPartners + `goldRate:
  rate: 1
  sgstRate: -0.01 #<
  updatedAt: 2026-01-02T03:04:05Z
`, "goldRate.sgstRate: must be a fraction in [0, 1)"},
	{"missing updatedAt", cfgPartners + `goldRate: #<
  rate: 1
  cgstRate: 0.015
`, "goldRate.updatedAt: required (RFC 3339)"},
	{"missing goldRate", cfgPartners + cfgUser, "goldRate.rate: must be a positive finite number"},
	{"infinite rate", cfgPartners + `goldRate:
  rate: .inf #<
  updatedAt: 2026-01-02T03:04:05Z
`, "goldRate.rate: must be a positive finite number"},
	{"rate not a number", cfgPartners + `goldRate:
  rate: .nan #<
  updatedAt: 2026-01-02T03:04:05Z
`, "goldRate.rate: must be a positive finite number"},
	{"cgst not a number", cfgPartners + `goldRate:
  rate: 1
  cgstRate: .nan #<
  updatedAt: 2026-01-02T03:04:05Z
`, "goldRate.cgstRate: must be a fraction in [0, 1)"},
	{"gold balance not a number", cfgPartners + `users:
  - id: u1
    name: A
    email: a@example.com
    countryCode: "91"
    mobileNumber: "9876543210"
    gender: MALE
    upiId: a@upi
    goldBalance: .nan #<
` + cfgRate, "users[0].goldBalance: must be a finite number, 0 or more"},
	{"user without email", cfgPartners + `users:
  - id: u1 #<
    name: A
    countryCode: "91"
    mobileNumber: "9876543210"
    gender: MALE
    upiId: a@upi
` + cfgRate, "users[0].email: required"},
	{"user without upiId", cfgPartners + `users:
  - {id: u1, name: A, email: a@example.com, countryCode: "91", mobileNumber: "9876543210", gender: MALE} #<
` + cfgRate, "users[0].upiId: required"},
	{"token lifetime that overflows", cfgValid + "tokenLifetimeSeconds: 99999999999999 #<\n", "tokenLifetimeSeconds: must be positive and at most"},
	{"window of a year", cfgValid + "rateLimit:\n  windowSeconds: 31536000 #<\n", "rateLimit.windowSeconds: must be positive and at most"},
	{"negative token lifetime", cfgValid + "tokenLifetimeSeconds: -5 #<\n", "tokenLifetimeSeconds: must be positive"},
	{"negative rate-limit requests", cfgValid + "rateLimit:\n  requests: -1 #<\n", "rateLimit.requests: must be positive"},
	{"negative window", cfgValid + "rateLimit:\n  requests: 5\n  windowSeconds: -20 #<\n", "rateLimit.windowSeconds: must be positive"},
	{"short signing key", cfgValid + "signingKey: " + cfgSecret + " #<\n", "signingKey: must be at least 32 bytes"},
	{"rate as text", cfgPartners + `goldRate:
  rate: expensive #<
  updatedAt: 2026-01-02T03:04:05Z
`, `goldRate.rate: want a number, got the string "expensive"`},
	{"updatedAt not a time", cfgPartners + `goldRate:
  rate: 1
  updatedAt: yesterday #<
`, `goldRate.updatedAt: "yesterday" is not an RFC 3339 time`},
	{"partners as a mapping", "partners: {id: p1} #<\n" + cfgRate, "partners: want a list of partners, got a mapping"},
	{"user as a string", cfgPartners + "users:\n  - u1 #<\n" + cfgRate, `users[0]: want a mapping of a user's fields, got the string "u1"`},
	{"lifetime as text", cfgValid + "tokenLifetimeSeconds: an hour #<\n", `tokenLifetimeSeconds: want a whole number, got the string "an hour"`},
	{"faults as text", cfgValid + "faults: sometimes #<\n", `faults: want true or false, got the string "sometimes"`},
	{"config as a list", "- partners #<\n", "want a mapping of the config's keys, got a list"},
	{"duplicate key", cfgPartners + `goldRate:
  rate: 1
  rate: 2 #<
  updatedAt: 2026-01-02T03:04:05Z
`, "goldRate.rate: duplicate key"},
	{"unclosed flow sequence", cfgPartners + "users: [ #<\n" + cfgRate, "did not find expected ',' or ']'"},
	// yaml.v3 notices at the end of the stream, on line 2.
	{"unclosed flow on line 1", "partners: [{id: p1\n #<", "did not find expected ',' or '}'"},
	{"bad indentation", cfgPartners + "goldRate:\n  rate: 1\n updatedAt: 2026-01-02T03:04:05Z #<\n", "did not find expected key"},
	{"tab indentation", "partners:\n\t- id: p1 #<\n", "found character that cannot start any token"},
	{"unterminated quote", cfgPartners + "goldRate:\n  rate: \"1 #<\n", "found unexpected end of stream"},
	{"control character", cfgPartners + "goldRate:\n  rate: \x01 #<\n", "control characters are not allowed"},
	{"invalid UTF-8", cfgPartners + "users:\n  - name: \xff\xfe #<\n", "invalid leading UTF-8 octet"},
	{"unknown alias", cfgPartners + "goldRate:\n  rate: *price #<\n", "unknown anchor 'price' referenced"},
	{"typo gets a suggestion", cfgPartners + `users:
  - id: u1
    name: A
    email: a@example.com
    countryCode: "91"
    mobileNumber: "9876543210"
    gender: MALE
    upiId: a@upi
    goldBalence: 1 #<
` + cfgRate, "users[0].goldBalence: unknown key (did you mean goldBalance?)"},
	{"top-level typo gets a suggestion", cfgValid + "tokenLifetimeSecond: 60 #<\n", "tokenLifetimeSecond: unknown key (did you mean tokenLifetimeSeconds?)"},
	{"case typo gets a suggestion", cfgPartners + "GoldRate: #<\n  rate: 1\n", "GoldRate: unknown key (did you mean goldRate?)"},
	{"fractional requests", cfgValid + "rateLimit:\n  requests: 2.9 #<\n", "rateLimit.requests: want a whole number, got 2.9"},
	{"fractional lifetime", cfgValid + "tokenLifetimeSeconds: 1e3 #<\n", "tokenLifetimeSeconds: want a whole number, got 1e3"},
	{"quoted rate", cfgPartners + "goldRate:\n  rate: \"1111\" #<\n  updatedAt: 2026-01-02T03:04:05Z\n", `goldRate.rate: want a number, got the string "1111"`},
	{"hex rate", cfgPartners + "goldRate:\n  rate: 0x10 #<\n  updatedAt: 2026-01-02T03:04:05Z\n", "goldRate.rate: must be a positive finite number; got 0x10"},
	{"rate of a billion digits", cfgPartners + "goldRate:\n  rate: 1e300 #<\n  updatedAt: 2026-01-02T03:04:05Z\n", "goldRate.rate: must be a positive finite number; got 1e300"},
	{"second document", cfgValid + "--- #<\npartners: []\n", "a second YAML document; a config is one document"},
	{"second empty document", cfgValid + "--- #<\n", "a second YAML document; a config is one document"},
	{"merge key", cfgPartners + "goldRate:\n  rate: 1\n  <<: {rate: 1} #<\n  updatedAt: 2026-01-02T03:04:05Z\n", `goldRate."<<": unknown key`},
}

// TestParseConfigReportsEveryProblem: a config with several mistakes gets
// them all, one "FILE:LINE: path: problem" line each, in line order.
func TestParseConfigReportsEveryProblem(t *testing.T) {
	yaml := `partners:
  - id: p1
    name: Partner One
    secret: ` + cfgSecret + `
    colour: blue
users:
  - id: u1
    name: A
    email: a@example.com
    countryCode: "91"
    mobileNumber: "98765"
    gender: MALE
    upiId: a@upi
    goldBalence: 1
goldRate:
  rate: -1
  cgstRate: 1.5
  updatedAt: yesterday
rateLimit:
  requests: 2.9
`
	want := []string{
		"cfg.yaml:5: partners[0].colour: unknown key",
		`cfg.yaml:11: users[0].mobileNumber: "98765" is not ten digits`,
		"cfg.yaml:14: users[0].goldBalence: unknown key (did you mean goldBalance?)",
		"cfg.yaml:16: goldRate.rate: must be a positive finite number",
		"cfg.yaml:17: goldRate.cgstRate: must be a fraction in [0, 1)",
		`cfg.yaml:18: goldRate.updatedAt: "yesterday" is not an RFC 3339 time`,
		"cfg.yaml:20: rateLimit.requests: want a whole number, got 2.9",
	}
	_, err := sandbox.ParseConfig("cfg.yaml", []byte(yaml))
	if err == nil {
		t.Fatal("ParseConfig = nil error; want seven problems")
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("ParseConfig error lines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var ce *sandbox.ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != len(want) || ce.Problems[0].Path != "partners[0].colour" || ce.Problems[0].Line != 5 {
		t.Errorf("ParseConfig error = %#v; want a *ConfigError with %d problems", err, len(want))
	}
}

// TestParseConfigDecimalsAreExact: the digits a config spells are the digits
// the sandbox answers with, where float64 would drift (0.1 + 0.2, and a
// balance with more digits than a float64 holds).
func TestParseConfigDecimalsAreExact(t *testing.T) {
	yaml := cfgPartners + `users:
  - {id: u1, name: A, email: a@example.com, countryCode: "91", mobileNumber: "9876543210", gender: MALE, upiId: a@upi, goldBalance: 12345678901234.567891}
goldRate:
  rate: 6543.21
  cgstRate: 0.1
  sgstRate: 0.2
  updatedAt: 2026-01-02T03:04:05Z
`
	c, err := sandbox.ParseConfig("cfg.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Users[0].GoldBalance.String(); got != "12345678901234.567891" {
		t.Errorf("goldBalance = %s; want 12345678901234.567891 (float64 gives %v)", got, 12345678901234.567891)
	}
	if got := c.GoldRate.CgstRate.Add(c.GoldRate.SgstRate.Decimal).String(); got != "0.3" {
		t.Errorf("cgstRate + sgstRate = %s; want 0.3", got)
	}
	rate, err := json.Marshal(apiRate(c.GoldRate))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"cgstRate":0.1,"rate":6543.21,"sgstRate":0.2,"updatedAt":"2026-01-02T03:04:05Z"}`; string(rate) != want {
		t.Errorf("the sandbox's gold rate encodes as %s; want %s", rate, want)
	}
	user, err := json.Marshal(c.Users[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(user), `"goldBalance":12345678901234.567891`) {
		t.Errorf("the sandbox's user encodes as %s; want goldBalance 12345678901234.567891, a number", user)
	}
}

func TestDefaultYAMLIsCommentedAndParses(t *testing.T) {
	data := sandbox.DefaultYAML()
	c, err := sandbox.ParseConfig("default.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Partners, sandbox.Default().Partners) {
		t.Errorf("DefaultYAML parses to partners %v; want Default's", c.Partners)
	}
	// Every key the format has is named, at least in a comment.
	for _, key := range []string{"partners:", "users:", "goldRate:", "goldBalance:", "tokenLifetimeSeconds:", "rateLimit:", "requests:",
		"windowSeconds:", "headersOnEveryResponse:", "signingKey:", "faults:"} {
		if !strings.Contains(string(data), key) {
			t.Errorf("DefaultYAML does not mention %s", key)
		}
	}
	data[0] = 'X' // a copy: the embedded default stays intact
	if sandbox.DefaultYAML()[0] == 'X' {
		t.Error("DefaultYAML returns the embedded bytes themselves")
	}
}

func TestParseConfigRejects(t *testing.T) {
	for _, tc := range cfgRejects {
		t.Run(tc.name, func(t *testing.T) {
			yaml, line := tc.yaml, 1
			if strings.Contains(yaml, "#<") {
				yaml, line = marked(t, yaml)
			}
			_, err := sandbox.ParseConfig("cfg.yaml", []byte(yaml))
			want := "cfg.yaml:" + strconv.Itoa(line) + ": " + tc.want
			if err == nil {
				t.Fatalf("ParseConfig = nil error; want %q\n%s", want, yaml)
			}
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("ParseConfig error = %q; want prefix %q\n%s", err, want, numbered(yaml))
			}
			if strings.Contains(err.Error(), cfgSecret) {
				t.Errorf("ParseConfig error shows the secret: %q", err)
			}
		})
	}
}

// numbered prints yaml with line numbers, for failure messages.
func numbered(yaml string) string {
	var b strings.Builder
	for i, line := range strings.Split(yaml, "\n") {
		b.WriteString(strconv.Itoa(i+1) + "\t" + line + "\n")
	}
	return b.String()
}

func TestLoadConfigNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "world.yaml")
	yaml, line := marked(t, cfgValid+"rateLimit:\n  windowSeconds: -1 #<\n")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := sandbox.LoadConfig(path)
	if want := path + ":" + strconv.Itoa(line) + ": rateLimit.windowSeconds: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("LoadConfig(%s) = %v; want prefix %q", path, err, want)
	}
	missing := filepath.Join(dir, "missing.yaml")
	if _, err := sandbox.LoadConfig(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadConfig(missing file) = %v; want an error naming %s", err, missing)
	}
}

var cfgAccepts = []struct {
	name  string
	yaml  string
	check func(t *testing.T, c sandbox.Config)
}{
	{"minimal", cfgPartners + cfgRate, func(t *testing.T, c sandbox.Config) {
		if len(c.Users) != 0 || c.TokenLifetimeSeconds != 0 || c.RateLimit != (sandbox.RateLimit{}) || c.SigningKey != "" {
			t.Errorf("minimal config = %+v; want no users and zero (spec default) limits", c)
		}
	}},
	{"full", cfgValid + `tokenLifetimeSeconds: 60
rateLimit:
  requests: 3
  windowSeconds: 5
  headersOnEveryResponse: true
signingKey: 0123456789abcdef0123456789abcdef
faults: true
`, func(t *testing.T, c sandbox.Config) {
		want := sandbox.RateLimit{Requests: 3, WindowSeconds: 5, HeadersOnEveryResponse: true}
		if c.TokenLifetimeSeconds != 60 || c.RateLimit != want || len(c.SigningKey) != 32 || !c.Faults {
			t.Errorf("full config = %+v; want lifetime 60, %+v, a 32-byte key, faults", c, want)
		}
		u := c.Users[0]
		if u.Birthday == nil || *u.Birthday != "1990-01-01" || u.Address != nil || u.Pincode != nil || u.GoldBalance.String() != "1.25" {
			t.Errorf("user = %+v; want birthday 1990-01-01, null address and pincode, balance 1.25", u)
		}
		if want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC); !c.GoldRate.UpdatedAt.Equal(want) {
			t.Errorf("updatedAt = %v; want %v", c.GoldRate.UpdatedAt, want)
		}
	}},
	{"two partners and flow style", `partners: [{id: a, name: A, secret: x}, {id: b, name: B, secret: y}]
users: [{id: u1, name: A, countryCode: "91", mobileNumber: "0000000000", gender: OTHER, email: a@example.com, upiId: a@upi}]
goldRate: {rate: 1, updatedAt: "2026-01-02T03:04:05.123+05:30"}
`, func(t *testing.T, c sandbox.Config) {
		if len(c.Partners) != 2 || c.Partners[1].ID != "b" || c.Users[0].MobileNumber != "0000000000" {
			t.Errorf("config = %+v; want partners a, b and user 0000000000", c)
		}
	}},
}

func TestParseConfigAccepts(t *testing.T) {
	for _, tc := range cfgAccepts {
		t.Run(tc.name, func(t *testing.T) {
			c, err := sandbox.ParseConfig("cfg.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatalf("ParseConfig = %v; want a config", err)
			}
			tc.check(t, c)
			validateWorld(t, c)
			if _, err := sandbox.New(c); err != nil {
				t.Errorf("New(parsed config) = %v", err)
			}
		})
	}
}

// TestDefaultIsTheDocumentsWorld checks the embedded default against the API
// document's examples, field by field, and against the spec's schemas.
func TestDefaultIsTheDocumentsWorld(t *testing.T) {
	c := sandbox.Default()
	wantPartners := []sandbox.Partner{{ID: sandbox.DefaultPartnerID, Name: "Test Partner", Secret: sandbox.DefaultPartnerSecret}}
	if !reflect.DeepEqual(c.Partners, wantPartners) {
		t.Errorf("Default().Partners = %v; want the document's example partner", c.Partners)
	}
	if len(c.Users) != 1 {
		t.Fatalf("Default() has %d users; want the document's one", len(c.Users))
	}
	got, err := json.Marshal(c.Users[0])
	if err != nil {
		t.Fatal(err)
	}
	// The document's getUserInfo example, as printed.
	const docUser = `{"address":null,"birthday":null,"countryCode":"91","email":"test@example.com","gender":"MALE","goldBalance":0,"id":"cljwvd2x20001mm0gg0a9z5px","mobileNumber":"1234567890","name":"Test User","pincode":null,"upiId":"milligold.911234567890@icici"}`
	if !jsonEqual(t, got, []byte(docUser)) {
		t.Errorf("Default() user = %s; want the document's %s", got, docUser)
	}
	rate, err := json.Marshal(apiRate(c.GoldRate))
	if err != nil {
		t.Fatal(err)
	}
	const docRate = `{"rate":1111,"cgstRate":0.015,"sgstRate":0.015,"updatedAt":"2023-01-05T09:17:03.459Z"}`
	if !jsonEqual(t, rate, []byte(docRate)) {
		t.Errorf("Default() gold rate = %s; want the document's %s", rate, docRate)
	}
	if c.TokenLifetimeSeconds != 0 || c.RateLimit != (sandbox.RateLimit{}) || c.SigningKey != "" || c.Faults {
		t.Errorf("Default() = %+v; want the spec's lifetime and limits, a random key, no faults", c)
	}
	validateWorld(t, c)
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// apiRate is g as the sandbox serves it: updatedAt in UTC.
func apiRate(g api.GoldRate) api.GoldRate {
	g.UpdatedAt = g.UpdatedAt.UTC()
	return g
}

// validateWorld checks every user and the gold rate of c against the spec's
// User and GoldRate schemas, as the API types marshal them.
func validateWorld(t *testing.T, c sandbox.Config) {
	t.Helper()
	spec, err := apispec.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	check := func(schema string, v any) {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		ref := spec.Components.Schemas[schema]
		if ref == nil {
			t.Fatalf("openapi.yaml has no schema %s", schema)
		}
		if err := ref.Value.VisitJSON(doc, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s %s violates openapi.yaml: %v", schema, data, err)
		}
	}
	for _, u := range c.Users {
		check("User", u)
	}
	check("GoldRate", apiRate(c.GoldRate))
}

var fuzzLine = regexp.MustCompile(`^fuzz\.yaml:([0-9]+): \S`)

// FuzzParseConfig: no input panics; every rejection names the file and a
// line within it; every acceptance is a valid config.
func FuzzParseConfig(f *testing.F) {
	f.Add(string(mustRead(f, "default.yaml")))
	f.Add(cfgValid)
	for _, tc := range cfgRejects {
		f.Add(strings.Replace(tc.yaml, " #<", "", 1))
	}
	for _, tc := range cfgAccepts {
		f.Add(tc.yaml)
	}
	for _, section := range []string{
		"  getGoldRate:\n    status: 200\n    data: {rate: 1, cgstRate: 0.01, sgstRate: 0.01, updatedAt: 2024-01-01T00:00:00Z}\n",
		"  getGoldRat:\n    status: 500\n    error: x\n",
		"  getUserInfo:\n    status: 404\n    data: &a [*a]\n",
		"  createAccessToken: {status: 1e3, data: [0x1, .inf, ~, {? [1]: 2}]}\n",
	} {
		f.Add(withResponses(section))
	}
	f.Fuzz(func(t *testing.T, data string) {
		c, err := sandbox.ParseConfig("fuzz.yaml", []byte(data))
		if err != nil {
			m := fuzzLine.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("ParseConfig error = %q; want \"fuzz.yaml:LINE: problem\"", err)
			}
			if line, _ := strconv.Atoi(m[1]); line < 1 || line > yamlLines(data) {
				t.Fatalf("ParseConfig error = %q; the input has %d lines", err, yamlLines(data))
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted a config that Validate rejects: %v", err)
		}
	})
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// yamlLines counts lines as YAML does: CR LF, CR, LF, NEL, LS and PS end one.
func yamlLines(s string) int {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return 1 + strings.Count(s, "\n") + strings.Count(s, "\r") +
		strings.Count(s, "\u0085") + strings.Count(s, "\u2028") + strings.Count(s, "\u2029")
}
