// Package quotatest holds the multi-process tests of the shared token and
// rate limit (make test-shared): the test binary re-executes itself as
// client processes against one sandbox and one real redis-server.
package quotatest
