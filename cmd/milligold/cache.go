package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/filequota"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/redisquota"
)

// envRedisURL names the Redis that shares the token and the rate limit.
const envRedisURL = "MILLIGOLD_REDIS_URL"

// sharedFlags choose where the token and the rate limit's log live between
// runs: the file cache by default, Redis with --redis, nowhere with --no-cache.
type sharedFlags struct {
	redisURL string
	noCache  bool
}

func (f *sharedFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.redisURL, "redis", "", "share the token and the rate limit through this Redis, redis://[user:password@]host:port[/db] or rediss:// (default $"+envRedisURL+")")
	fs.BoolVar(&f.noCache, "no-cache", false, "keep no token or rate-limit log between runs (the default keeps them in the user cache directory)")
}

// sharedOptions are the client options for f. Consecutive runs then reuse
// one token and wait for the rate limit instead of failing.
func (a *app) sharedOptions(f *sharedFlags) ([]milligold.Option, error) {
	onWait := func(d time.Duration, limit int, window time.Duration) {
		fmt.Fprintf(a.stderr, "waiting %s for the rate limit (%d per %s)\n", ceilSecond(d), limit, window)
	}
	raw, from := f.redisURL, "--redis"
	if raw == "" {
		raw, from = a.getenv(envRedisURL), envRedisURL
	}
	switch {
	case raw != "" && f.noCache:
		return nil, usagef("%s and --no-cache: choose one", from)
	case raw != "":
		rdb, err := redisquota.ParseURL(raw)
		if err != nil {
			return nil, usagef("%s: %v", from, err)
		}
		// go-redis logs dial failures itself; the fallback's warning says enough.
		redis.SetLogger(quietRedis{})
		return []milligold.Option{redisquota.WithRedis(rdb, redisquota.WithOnWait(onWait))}, nil
	case f.noCache:
		return nil, nil
	}
	dir, ok := a.cacheDir()
	if !ok {
		return nil, nil // no home to keep a cache in: run without
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		fmt.Fprintf(a.stderr, "milligold: note: running without the cache: %v (--no-cache hides this note)\n", err)
		return nil, nil
	}
	return []milligold.Option{milligold.WithFileCache(dir, filequota.WithOnWait(onWait))}, nil
}

// ceilSecond rounds d up to a whole second, so "waiting 14s" is never short.
func ceilSecond(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

// cacheDir is os.UserCacheDir()/milligold, read through the app's
// environment so tests point it at a temporary directory.
func (a *app) cacheDir() (string, bool) {
	if runtime.GOOS == "linux" || runtime.GOOS == "freebsd" || runtime.GOOS == "openbsd" || runtime.GOOS == "netbsd" {
		if d := a.getenv("XDG_CACHE_HOME"); filepath.IsAbs(d) {
			return filepath.Join(d, "milligold"), true
		}
		if h := a.getenv("HOME"); h != "" {
			return filepath.Join(h, ".cache", "milligold"), true
		}
		return "", false
	}
	d, err := filequota.Dir()
	return d, err == nil
}

func (a *app) cacheCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Manage the cache of tokens and rate-limit logs",
		Long: `The API commands keep the access token and the rate limit's log in the user
cache directory (` + "`os.UserCacheDir()/milligold`" + `), so consecutive runs spend one token
request and wait for the rate limit instead of failing. Files are named by a
hash of the base URL and partner id, mode 0600; the token in them is sealed
with a key derived from the partner secret.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var f clientFlags
	clear := &cobra.Command{
		Use:   "clear",
		Short: "Delete the cached tokens and rate-limit logs",
		Long: `Delete the cached tokens and rate-limit logs of every partner from the user
cache directory. With --redis (or ` + envRedisURL + `), also delete the shared
state of the partner --base-url and --partner-id name from that Redis.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir, ok := a.cacheDir(); ok {
				if err := filequota.Clear(dir); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "cleared %s\n", dir)
			}
			raw := cmp.Or(f.shared.redisURL, a.getenv(envRedisURL))
			if raw == "" {
				return nil
			}
			base, err := a.resolveBaseURL(&f)
			if err != nil {
				return err
			}
			id, secret, err := a.credentials(&f, base)
			if err != nil {
				return err
			}
			rdb, err := redisquota.ParseURL(raw)
			if err != nil {
				return usagef("redis: %v", err)
			}
			defer rdb.Close()
			sh, err := redisquota.New(rdb, base, id, secret, middleware.RateLimit)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			defer cancel()
			n, err := sh.Clear(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "cleared %d Redis keys of partner %s at %s\n", n, id, base)
			return nil
		},
	}
	f.registerTarget(clear)
	clear.Flags().StringVar(&f.shared.redisURL, "redis", "", "also clear the partner's state in this Redis (default $"+envRedisURL+")")
	cmd.AddCommand(clear)
	return cmd
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
