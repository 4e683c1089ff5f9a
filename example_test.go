package milligold_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/money"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// The examples run against a local sandbox started in-process by the
// sandbox test helper (sandboxtest.New(t) in a test); against the
// real API, pass milligold.HostedSandboxURL or milligold.ProductionURL and your
// own credentials instead.

func Example() {
	sb, err := sandboxtest.Start() // sandboxtest.New(t) in a test
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()

	client, err := milligold.New(
		milligold.WithBaseURL(sb.URL),
		milligold.WithCredentials(sb.PartnerID, sb.PartnerSecret),
	)
	if err != nil {
		log.Fatal(err)
	}
	// The client fetches an access token by itself on the first call.
	rate, err := client.GoldRate(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s per gram, %s with %s%% GST\n", rate.Rate.StringFixed(2), rate.PriceWithGST(), rate.GSTRate().Shift(2))
	// Output: 1111.00 per gram, 1144.33 with 3% GST
}

// A purchase priced both ways from the same rate: grams for a rupee amount
// are rounded down to 0.0001 g, rupees for a gram amount up to the paisa.
func ExampleGoldRate_GramsFor() {
	rate := milligold.GoldRate{
		Rate:     money.MustParse("1111"),
		CGSTRate: money.MustParse("0.015"),
		SGSTRate: money.MustParse("0.015"),
	}
	grams, err := rate.GramsFor(money.MustParse("1000"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("₹1000 buys", grams, "g")
	fmt.Println("0.5 g costs ₹" + rate.PriceFor(money.MustParse("0.5")).String())
	// Output:
	// ₹1000 buys 0.8738 g
	// 0.5 g costs ₹572.17
}

func ExampleClient_UserInfo() {
	sb, err := sandboxtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	client, err := milligold.New(
		milligold.WithBaseURL(sb.URL),
		milligold.WithCredentials(sb.PartnerID, sb.PartnerSecret),
	)
	if err != nil {
		log.Fatal(err)
	}

	for _, mobile := range []string{"1234567890", "9999999999"} {
		user, err := client.UserInfo(context.Background(), mobile)
		switch {
		case errors.Is(err, milligold.ErrNotFound):
			fmt.Println(mobile, "is not a milliGOLD user")
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println(mobile, "is", user.Name, user.Gender, "birthday known:", user.Birthday != nil)
		}
	}
	// Output:
	// 1234567890 is Test User MALE birthday known: false
	// 9999999999 is not a milliGOLD user
}

func ExampleRateLimitError() {
	// A sandbox that allows two requests per window, fewer than the spec's
	// ten the client paces itself to, so a 429 comes back.
	sb, err := sandboxtest.Start(sandboxtest.WithConfig(func(c *sandbox.Config) { c.RateLimit.Requests = 2 }))
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	client, err := milligold.New(
		milligold.WithBaseURL(sb.URL),
		milligold.WithCredentials(sb.PartnerID, sb.PartnerSecret),
		milligold.WithMaxRetries(0), // return the 429 instead of waiting it out
	)
	if err != nil {
		log.Fatal(err)
	}

	// The token request and the first call use up the window.
	for err == nil {
		_, err = client.GoldRate(context.Background())
	}
	var rl *milligold.RateLimitError
	if errors.As(err, &rl) {
		fmt.Println("rate limited: limit", rl.Limit, "remaining", rl.Remaining, "wait under a window:", rl.RetryAfter <= 21*time.Second)
	}
	// Output: rate limited: limit 2 remaining 0 wait under a window: true
}

func ExampleToken() {
	tok := milligold.Token{AccessToken: "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", ExpiresAt: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)}
	// Printing a token, by mistake or in a log, never shows its value.
	fmt.Println(tok)
	fmt.Printf("%+v\n", tok)
	// Output:
	// milligold.Token{AccessToken: [REDACTED], ExpiresAt: 2026-01-01T01:00:00Z}
	// milligold.Token{AccessToken: [REDACTED], ExpiresAt: 2026-01-01T01:00:00Z}
}

// Every operation of the spec has a generated, typed method under Ops; the
// data comes back as gen/api's type for it.
func ExampleClient_Ops() {
	sb, err := sandboxtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	client, err := milligold.New(
		milligold.WithBaseURL(sb.URL),
		milligold.WithCredentials(sb.PartnerID, sb.PartnerSecret),
	)
	if err != nil {
		log.Fatal(err)
	}

	user, err := client.Ops().GetUserInfo(context.Background(), "1234567890")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(user.MobileNumber, user.Name)
	// Output: 1234567890 Test User
}
