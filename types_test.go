package milligold

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/money"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

func dec(s string) money.Decimal { return money.MustParse(s) }

func rateOf(rate, cgst, sgst string) GoldRate {
	return GoldRate{Rate: dec(rate), CGSTRate: dec(cgst), SGSTRate: dec(sgst)}
}

// The wanted values are worked by hand; TestFloat64GetsTheseWrong shows the
// old float64 arithmetic misses them.
func TestGoldRatePriceWithGST(t *testing.T) {
	tests := []struct {
		name          string
		rate          GoldRate
		wantGST, want string
	}{
		{"document: 1111 × 1.03", rateOf("1111", "0.015", "0.015"), "0.03", "1144.33"},
		{"no GST", rateOf("6000", "0", "0"), "0", "6000"},
		{"fractional rate: 7234.56 × 1.03", rateOf("7234.56", "0.015", "0.015"), "0.03", "7451.5968"},
		{"0.1 + 0.2 GST", rateOf("100", "0.1", "0.2"), "0.3", "130"},
		{"1111.11 × 1.3", rateOf("1111.11", "0.1", "0.2"), "0.3", "1444.443"},
		{"only CGST", rateOf("100", "0.025", "0"), "0.025", "102.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rate.GSTRate(); !got.Equal(dec(tt.wantGST).Decimal) {
				t.Errorf("GSTRate() = %s; want %s", got, tt.wantGST)
			}
			if got := tt.rate.PriceWithGST(); got.String() != tt.want {
				t.Errorf("PriceWithGST() = %s; want %s", got, tt.want)
			}
		})
	}
}

// TestFloat64GetsTheseWrong keeps the tests here honest: the old float64
// arithmetic (run time, since Go constants are exact) misses what the
// decimals get right. 1111 × 1.03 is 1144.3299999999999272… in float64, not
// 1144.33; and ₹931449.60 at 7234.56 a gram plus 3% GST buys exactly 125 g,
// which float64 rounds down to 124.9999 g.
func TestFloat64GetsTheseWrong(t *testing.T) {
	price := float64GST(1111, 0.015, 0.015)
	if exact, _ := new(big.Rat).SetString("1144.33"); new(big.Rat).SetFloat64(price).Cmp(exact) == 0 {
		t.Errorf("float64 1111 × 1.03 is exactly 1144.33: the test shows nothing")
	}
	if got := rateOf("1111", "0.015", "0.015").PriceWithGST(); got.String() != "1144.33" {
		t.Errorf("PriceWithGST() = %s; want exactly 1144.33", got)
	}

	fgrams := math.Floor(931449.60/float64GST(7234.56, 0.015, 0.015)*10000) / 10000
	if fgrams == 125 {
		t.Errorf("float64 gets 125 g for ₹931449.60: the test shows nothing")
	}
	grams, err := rateOf("7234.56", "0.015", "0.015").GramsFor(dec("931449.60"))
	if err != nil || grams.String() != "125" {
		t.Errorf("GramsFor(₹931449.60) at 7234.56 = %s, %v; want exactly 125 (float64: %v)", grams, err, fgrams)
	}
}

// float64GST is PriceWithGST as it was, in float64.
func float64GST(rate, cgst, sgst float64) float64 { return rate * (1 + (cgst + sgst)) }

func TestGoldRatePriceForRoundsUpToThePaisa(t *testing.T) {
	doc := rateOf("1111", "0.015", "0.015") // 1144.33 a gram with GST
	tests := []struct{ grams, want string }{
		{"1", "1144.33"},
		{"0", "0"},
		{"0.0001", "0.12"},   // 0.114433 → 0.12
		{"0.5", "572.17"},    // 572.165 → 572.17 (up, not half-even's 572.16)
		{"0.1234", "141.22"}, // 141.210322 → 141.22
		{"2.5", "2860.83"},   // 2860.825 → 2860.83
		{"10", "11443.3"},    // exact
	}
	for _, tt := range tests {
		if got := doc.PriceFor(dec(tt.grams)); !got.Equal(dec(tt.want).Decimal) {
			t.Errorf("PriceFor(%s g) = %s; want %s", tt.grams, got, tt.want)
		}
	}
	// Against a fractional rate: 7234.56 × 1.03 = 7451.5968 a gram.
	if got := rateOf("7234.56", "0.015", "0.015").PriceFor(dec("1")); got.String() != "7451.6" {
		t.Errorf("PriceFor(1 g) at 7234.56 = %s; want 7451.6 (7451.5968 up to the paisa)", got)
	}
}

func TestGoldRateGramsForRoundsDownTo4Places(t *testing.T) {
	doc := rateOf("1111", "0.015", "0.015") // 1144.33 a gram with GST
	tests := []struct{ rupees, want string }{
		{"1144.33", "1"},
		{"0", "0"},
		{"1000", "0.8738"},    // 0.87387... → 0.8738
		{"100", "0.0873"},     // 0.087387... → 0.0873
		{"0.11", "0"},         // 0.0000961... → 0
		{"0.12", "0.0001"},    // 0.000104... → 0.0001
		{"2288.66", "2"},      // exact
		{"2288.65", "1.9999"}, // 1.99999126... → 1.9999, never up to 2
	}
	for _, tt := range tests {
		got, err := doc.GramsFor(dec(tt.rupees))
		if err != nil {
			t.Fatalf("GramsFor(%s) = %v", tt.rupees, err)
		}
		if !got.Equal(dec(tt.want).Decimal) {
			t.Errorf("GramsFor(₹%s) = %s g; want %s g", tt.rupees, got, tt.want)
		}
		// The two directions agree: the gold bought never costs more than paid.
		if cost := doc.PriceFor(got); cost.GreaterThan(dec(tt.rupees).Decimal) {
			t.Errorf("PriceFor(GramsFor(₹%s)) = ₹%s; more than was paid", tt.rupees, cost)
		}
	}
	// A quotient just under a 4th-place boundary: a division rounded at 16
	// places (shopspring's Div) would make it 1; truncation keeps 0.9999.
	r := rateOf("1", "0", "0")
	if got, _ := r.GramsFor(dec("0.99999999999999999999")); got.String() != "0.9999" {
		t.Errorf("GramsFor(0.99999999999999999999) at 1/g = %s; want 0.9999", got)
	}
	if got, _ := rateOf("3", "0", "0").GramsFor(dec("2.9999")); got.String() != "0.9999" {
		t.Errorf("GramsFor(2.9999) at 3/g = %s; want 0.9999 (0.99996… down)", got)
	}
}

func TestGoldRateGramsForRefuses(t *testing.T) {
	if _, err := (GoldRate{}).GramsFor(dec("1")); err == nil || !strings.Contains(err.Error(), "price with GST is 0") {
		t.Errorf("zero GoldRate.GramsFor = %v; want a price error", err)
	}
	if _, err := rateOf("1111", "0.015", "0.015").GramsFor(dec("-1")); err == nil {
		t.Error("GramsFor(-1) = nil error; want one")
	}
}

// TestGoldRateJSONIsExact decodes the API's numbers into the client's types
// and back: the digits survive, and they are numbers, not strings.
func TestGoldRateJSONIsExact(t *testing.T) {
	const in = `{"rate":7234.56,"cgstRate":0.015,"sgstRate":0.015,"updatedAt":"2023-01-05T09:17:03.459Z"}`
	var g GoldRate
	if err := json.Unmarshal([]byte(in), &g); err != nil {
		t.Fatal(err)
	}
	if g.Rate.String() != "7234.56" || g.PriceWithGST().String() != "7451.5968" {
		t.Errorf("decoded rate %s, with GST %s; want 7234.56, 7451.5968", g.Rate, g.PriceWithGST())
	}
	out, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"rate":7234.56,"cgstRate":0.015,"sgstRate":0.015,"updatedAt":"2023-01-05T09:17:03.459Z"}`; string(out) != want {
		t.Errorf("json.Marshal = %s; want %s", out, want)
	}
}

// TestMoneyExactEndToEnd: digits from the sandbox's config reach the
// sandbox's answer and the client's types unchanged, and the price computed
// from them is the hand-worked one that float64 misses.
func TestMoneyExactEndToEnd(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithConfig(func(c *sandbox.Config) {
		c.GoldRate.Rate, c.GoldRate.CgstRate, c.GoldRate.SgstRate = dec("1111.11"), dec("0.1"), dec("0.2")
		c.Users[0].GoldBalance = dec("0.1234")
	}))
	c, err := New(WithBaseURL(sb.URL), WithCredentials(sb.PartnerID, sb.PartnerSecret))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sb.URL+"/gold/rate", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`"rate":1111.11`, `"cgstRate":0.1`, `"sgstRate":0.2`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the sandbox answered %s; want %s in it", body, want)
		}
	}
	rate, err := c.GoldRate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 1111.11 × 1.3 = 1444.443 exactly.
	if got := rate.PriceWithGST().String(); got != "1444.443" {
		t.Errorf("PriceWithGST() = %s; want 1444.443", got)
	}
	if got := rate.PriceFor(dec("1")).String(); got != "1444.45" {
		t.Errorf("PriceFor(1 g) = %s; want 1444.45 (1444.443 up to the paisa)", got)
	}
	user, err := c.UserInfo(ctx, "1234567890")
	if err != nil {
		t.Fatal(err)
	}
	if got := user.GoldBalance.String(); got != "0.1234" {
		t.Errorf("GoldBalance = %s; want 0.1234", got)
	}
}
