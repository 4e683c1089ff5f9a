package guard

import (
	"strconv"
	"testing"
)

func TestKeyCache(t *testing.T) {
	var c keyCache
	for _, tc := range []struct{ prefix, name, want string }{
		{partnerPrefix, "p1", "partner:p1"},
		{clientPrefix, "p1", "client:p1"},
		{partnerPrefix, "p1", "partner:p1"},
		{clientPrefix, "", "client:"},
	} {
		if got := c.get(tc.prefix, tc.name); got.key != tc.want || got.name != tc.name {
			t.Errorf("get(%q, %q) = %q, %v; want %q, %q", tc.prefix, tc.name, got.key, got.name, tc.want, tc.name)
		}
	}
	if n := testing.AllocsPerRun(100, func() { c.get(partnerPrefix, "p1") }); n != 0 {
		t.Errorf("get of a cached key: %v allocations; want 0", n)
	}
	// Past the bound, keys are still right, only no longer kept.
	for i := range maxCachedKeys + 10 {
		name := "10.0.0." + strconv.Itoa(i)
		if got := c.get(clientPrefix, name); got.key != clientPrefix+name || got.name != name {
			t.Fatalf("get(client, %q) = %q", name, got)
		}
	}
	if n := len(*c.keys[1].Load()); n > maxCachedKeys {
		t.Errorf("%d client keys cached; want at most %d", n, maxCachedKeys)
	}
}
