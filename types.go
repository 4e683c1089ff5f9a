package milligold

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/shopspring/decimal"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/money"
)

// redacted stands in for secrets and tokens wherever a value is printed.
const redacted = "[REDACTED]"

// Token is an access token. It is a plain value, safe to copy and share.
// Printing it with any fmt verb or logging it with slog shows the expiry but
// never AccessToken; read the field itself when you mean to.
type Token struct {
	AccessToken string    `json:"accessToken"`
	ExpiresAt   time.Time `json:"expiresAt"` // by the local clock
}

// ExpiresIn is how long the token has left at now; never negative.
func (t Token) ExpiresIn(now time.Time) time.Duration {
	return max(t.ExpiresAt.Sub(now), 0)
}

// String redacts AccessToken.
func (t Token) String() string {
	if t.AccessToken == "" {
		return "milligold.Token{}"
	}
	return "milligold.Token{AccessToken: " + redacted + ", ExpiresAt: " + t.ExpiresAt.Format(time.RFC3339) + "}"
}

// Format makes every verb (%v, %+v, %#v, %s, %q, %x…) print String.
func (t Token) Format(f fmt.State, _ rune) { fmt.Fprint(f, t.String()) }

// LogValue keeps the token out of slog output.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("accessToken", redacted), slog.Time("expiresAt", t.ExpiresAt))
}

// GoldRate is the current gold rate per gram and the GST on it, as exact
// decimals decoded from the API's JSON numbers without a detour through
// float64. money.Decimal embeds shopspring's decimal.Decimal, so its
// arithmetic is at hand (rate.Rate.Mul(x)); it encodes back as a JSON
// number. GST rates are fractions (0.015 is 1.5%).
type GoldRate struct {
	Rate      money.Decimal `json:"rate"`
	CGSTRate  money.Decimal `json:"cgstRate"`
	SGSTRate  money.Decimal `json:"sgstRate"`
	UpdatedAt time.Time     `json:"updatedAt"`
}

// The rounding of the two conversions a purchase needs, as Indian
// digital-gold APIs commonly do it: a gold quantity is rounded down to 4
// decimal places of a gram, a rupee amount up to the paisa. Either way the
// buyer never gets more gold, or pays less, than the exact price says.
const (
	GramPlaces  = 4 // GramsFor rounds down to 0.0001 g
	RupeePlaces = 2 // PriceFor rounds up to 0.01 rupee
)

// GSTRate is the total GST as a fraction: CGST plus SGST, exactly.
func (g GoldRate) GSTRate() money.Decimal { return money.New(g.CGSTRate.Add(g.SGSTRate.Decimal)) }

// PriceWithGST is the exact price of one gram with CGST and SGST included:
// Rate × (1 + CGSTRate + SGSTRate), unrounded (1111 × 1.03 is 1144.33).
func (g GoldRate) PriceWithGST() money.Decimal {
	return money.New(g.Rate.Mul(decimal.NewFromInt(1).Add(g.GSTRate().Decimal)))
}

// PriceFor is what grams of gold cost with GST: grams × PriceWithGST, rounded
// up (toward +∞) to the paisa.
func (g GoldRate) PriceFor(grams money.Decimal) money.Decimal {
	return money.New(grams.Mul(g.PriceWithGST().Decimal).RoundCeil(RupeePlaces))
}

// GramsFor is how much gold rupees buy with GST: rupees ÷ PriceWithGST,
// rounded down to 4 decimal places of a gram. The division is exact up to
// that place: no digit is rounded along the way. It fails when rupees is
// negative or the price is not positive (a zero GoldRate).
func (g GoldRate) GramsFor(rupees money.Decimal) (money.Decimal, error) {
	price := g.PriceWithGST()
	switch {
	case !price.IsPositive():
		return money.Decimal{}, fmt.Errorf("milligold: GramsFor: price with GST is %s; want > 0", price)
	case rupees.IsNegative():
		return money.Decimal{}, fmt.Errorf("milligold: GramsFor: amount is %s; want 0 or more", rupees)
	}
	// QuoRem truncates the quotient at the place; for non-negative operands
	// that is rounding down.
	q, _ := rupees.QuoRem(price.Decimal, GramPlaces)
	return money.New(q), nil
}

// Gender is a user's gender as the API reports it. The set is open: a value
// this package does not name is kept as it came.
type Gender string

// Genders the API document shows.
const GenderMale Gender = "MALE"

// User is a milliGOLD user; GoldBalance is in grams, an exact decimal. Birthday, Address and Pincode are nil when the
// API sends null or leaves them out.
type User struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	Email        string        `json:"email"`
	CountryCode  string        `json:"countryCode"`
	MobileNumber string        `json:"mobileNumber"`
	Gender       Gender        `json:"gender"`
	Birthday     *string       `json:"birthday"`
	UPIID        string        `json:"upiId"`
	Address      *string       `json:"address"`
	Pincode      *string       `json:"pincode"`
	GoldBalance  money.Decimal `json:"goldBalance"` // grams, exact
}

func goldRateFrom(r api.GoldRate) GoldRate {
	return GoldRate{Rate: r.Rate, CGSTRate: r.CgstRate, SGSTRate: r.SgstRate, UpdatedAt: r.UpdatedAt}
}

func userFrom(u api.User) User {
	return User{
		ID:           u.Id,
		Name:         u.Name,
		Email:        u.Email,
		CountryCode:  u.CountryCode,
		MobileNumber: u.MobileNumber,
		Gender:       Gender(u.Gender),
		Birthday:     u.Birthday,
		UPIID:        u.UpiId,
		Address:      u.Address,
		Pincode:      u.Pincode,
		GoldBalance:  u.GoldBalance,
	}
}
