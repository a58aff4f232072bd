package config

import (
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func consoleDoc(t *testing.T, keys string) string {
	t.Helper()
	return minimal + "[console]\n" + keys
}

func TestConsoleOffByDefault(t *testing.T) {
	cfg, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Console.Enabled() {
		t.Errorf("console enabled by default: %+v", cfg.Console)
	}
}

func TestConsoleKeys(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	h := `password_hash = "` + string(hash) + `"` + "\n"
	cases := []struct {
		name, keys, wantKey string
	}{
		{"loopback", `listen = "127.0.0.1:8425"` + "\n" + h, ""},
		{"localhost", `listen = "localhost:8425"` + "\n" + h, ""},
		{"ipv6 loopback", `listen = "[::1]:8425"` + "\n" + h, ""},
		{"insecure off loopback", `listen = "0.0.0.0:8425"` + "\ninsecure = true\n" + h, ""},
		{"no hash", `listen = "127.0.0.1:8425"` + "\n", "console.password_hash"},
		{"plain password", `listen = "127.0.0.1:8425"` + "\npassword_hash = \"secret\"\n", "console.password_hash"},
		{"bad listen", `listen = "8425"` + "\n" + h, "console.listen"},
		{"not loopback without TLS", `listen = "0.0.0.0:8425"` + "\n" + h, "console.listen"},
		{"all interfaces without TLS", `listen = ":8425"` + "\n" + h, "console.listen"},
		{"unknown key", `listen = "127.0.0.1:8425"` + "\n" + h + "colour = 1\n", "console.colour"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(consoleDoc(t, c.keys)))
			if c.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !cfg.Console.Enabled() {
					t.Error("console not enabled")
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != c.wantKey {
				t.Fatalf("err = %v, want one on %s", err, c.wantKey)
			}
			if c.name != "no hash" && ce.Line == 0 {
				t.Errorf("%v: no line", err)
			}
		})
	}
}

func TestConsoleTLSOffLoopback(t *testing.T) {
	cases := map[string]bool{"127.0.0.1:1": false, "[::1]:1": false, "localhost:1": false, "192.0.2.1:1": true, ":1": true}
	for listen, want := range cases {
		c := &Config{Console: Console{Listen: listen}}
		if got := c.ConsoleTLS(); got != want {
			t.Errorf("%s: TLS %v, want %v", listen, got, want)
		}
		c.Console.Insecure = true
		if c.ConsoleTLS() {
			t.Errorf("%s: TLS despite insecure", listen)
		}
	}
}
