// Package money holds Decimal, the exact decimal that gen/api, the sandbox and
// the CLI use on the wire for money, rates and gold quantities.
//
// It wraps github.com/shopspring/decimal so arithmetic is shopspring's, and
// fixes the JSON form to what the API sends: a JSON number, decoded from its
// own text (never through float64) and encoded as its exact digits.
// shopspring's own MarshalJSON writes a quoted string unless a package-wide
// variable is set, which a library must not flip for its users.
package money

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// Decimal is an exact decimal number that is a JSON number on the wire. The
// zero value is 0. It is a plain value, safe to copy and share.
type Decimal struct{ decimal.Decimal }

// MaxDigits bounds the digits a decoded number may spell out (its
// coefficient's digits plus the magnitude of its exponent), so a hostile
// 1e999999999 cannot make String allocate a billion bytes.
const MaxDigits = 100

// New wraps d.
func New(d decimal.Decimal) Decimal { return Decimal{d} }

// Parse reads a decimal such as "1111", "0.015" or "1.5e3".
func Parse(s string) (Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Decimal{}, fmt.Errorf("%q is not a decimal number", s)
	}
	if err := checkSize(d); err != nil {
		return Decimal{}, err
	}
	return Decimal{d}, nil
}

// MustParse is Parse for constants; it panics on a bad literal.
func MustParse(s string) Decimal {
	d, err := Parse(s)
	if err != nil {
		panic("money.MustParse: " + err.Error())
	}
	return d
}

func checkSize(d decimal.Decimal) error {
	e := int64(d.Exponent())
	if e < 0 {
		e = -e
	}
	if int64(d.NumDigits())+e > MaxDigits {
		return fmt.Errorf("a number with more than %d digits", MaxDigits)
	}
	return nil
}

// MarshalJSON writes the exact digits as a JSON number: 1111, 0.015.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.Decimal.String()), nil }

// UnmarshalJSON reads a JSON number from its text. A string, null or any
// other JSON value is an error: the spec says number.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || !(b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		return errors.New("money: want a JSON number, got " + describe(b))
	}
	v, err := Parse(string(b))
	if err != nil {
		return fmt.Errorf("money: %w", err)
	}
	*d = v
	return nil
}

func describe(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "a string"
	case b[0] == 'n':
		return "null"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "an array"
	}
	return "something else"
}

// String is the exact digits, as MarshalJSON writes them.
func (d Decimal) String() string { return d.Decimal.String() }
