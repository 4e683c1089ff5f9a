package loopback

import "testing"

func TestHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.5.6.7": true, "::1": true,
		"": false, "localhost.example.com": false, "128.0.0.1": false, "10.0.0.1": false,
		"0.0.0.0": false, "::": false, "api.milligold.in": false, "::ffff:127.0.0.1": true,
	} {
		if got := Host(host); got != want {
			t.Errorf("Host(%q) = %v; want %v", host, got, want)
		}
	}
}
