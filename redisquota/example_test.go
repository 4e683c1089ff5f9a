package redisquota_test

import (
	"context"
	"fmt"
	"os"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/redisquota"
)

// A Client whose token, rate limit and cached gold rate are shared with
// every process on the same Redis. (Compiled, not run: it needs a Redis.)
func ExampleWithRedis() {
	rdb, err := redisquota.ParseURL(os.Getenv("MILLIGOLD_REDIS_URL")) // redis:// or rediss://
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer rdb.Close()
	c, err := milligold.New(
		milligold.WithCredentials(os.Getenv("MILLIGOLD_PARTNER_ID"), os.Getenv("MILLIGOLD_PARTNER_SECRET")),
		redisquota.WithRedis(rdb),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	rate, err := c.GoldRate(context.Background())
	fmt.Println(rate, err)
}
