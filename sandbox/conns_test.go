package sandbox

import "testing"

func TestMaxConnsFor(t *testing.T) {
	for _, c := range []struct {
		nofile uint64
		want   int
	}{
		{1, 1},
		{2, 1},
		{64, 32},
		{127, 63},
		{128, 64},
		{256, 192},
		{1024, 896},
		{1 << 20, 1<<20 - 1<<17},
		{1 << 62, 1 << 20},
	} {
		if got := maxConnsFor(c.nofile); got != c.want {
			t.Errorf("maxConnsFor(%d) = %d; want %d", c.nofile, got, c.want)
		}
	}
}
