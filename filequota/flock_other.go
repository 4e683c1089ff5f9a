//go:build !unix

package filequota

import "errors"

func tryLock(string) (func(), error) {
	return nil, errors.New("file-backed sharing needs flock(2), which this system lacks; use --no-cache")
}
