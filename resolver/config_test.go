package resolver

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c, err := New(Config{Servers: []string{"127.0.0.1:5353"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.Timeout != 3*time.Second || c.cfg.CacheSize != 10000 || c.cfg.MaxTTL != time.Hour ||
		c.cfg.MinTTL != 0 || c.cfg.NegativeTTL != 15*time.Minute || c.cfg.Now == nil {
		t.Errorf("defaults = %+v", c.cfg)
	}
}

func TestConfigServers(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(conf, []byte("search example.org\nnameserver 127.0.0.53\nnameserver ::1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(empty, []byte("# nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"explicit with and without port", Config{Servers: []string{"127.0.0.2:5300", "127.0.0.3", "::1"}},
			[]string{"127.0.0.2:5300", "127.0.0.3:53", "[::1]:53"}},
		{"resolv.conf", Config{ResolvConf: conf}, []string{"127.0.0.53:53", "[::1]:53"}},
		{"resolv.conf without nameserver", Config{ResolvConf: empty}, []string{"127.0.0.1:53"}},
		{"resolv.conf missing", Config{ResolvConf: filepath.Join(dir, "nope")}, []string{"127.0.0.1:53"}},
	}
	for _, tc := range tests {
		c, err := New(tc.cfg)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := c.Servers(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: servers = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Servers: []string{":53"}},
		{Servers: []string{"127.0.0.1:"}},
		{Servers: []string{"127.0.0.1"}, Timeout: -time.Second},
		{Servers: []string{"127.0.0.1"}, CacheSize: -1},
		{Servers: []string{"127.0.0.1"}, MinTTL: 2 * time.Hour},
		{Servers: []string{"127.0.0.1"}, MinTTL: time.Minute, MaxTTL: time.Second},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}
