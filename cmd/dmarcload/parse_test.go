package main

import (
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestListeningAddr(t *testing.T) {
	for _, tc := range []struct {
		line, want string
		ok         bool
	}{
		{"time=2026-01-01T00:00:00Z level=INFO msg=listening addr=127.0.0.1:2525", "127.0.0.1:2525", true},
		{`level=INFO msg=listening addr="127.0.0.1:40000"`, "127.0.0.1:40000", true},
		{"msg=listening addr=[::1]:25", "", false}, // only IPv4 loopback
		{"msg=listening addr=127.0.0.9:1", "127.0.0.9:1", true},
		{"msg=listening addr=0.0.0.0:25", "", false},          // not loopback
		{"msg=listening addr=192.0.2.1:25", "", false},        // not loopback
		{"msg=listening addr=localhost:25", "", false},        // a name, not an address
		{"msg=listening addr=127.0.0.1", "", false},           // no port
		{"msg=listening addr=127.0.0.1:0", "", false},         // port 0
		{"msg=listening addr=127.0.0.1:99999", "", false},     // port out of range
		{`msg=listening addr="127.0.0.1:25`, "", false},       // bad quoting
		{"msg=starting addr=127.0.0.1:25", "", false},         // another message
		{`msg="listening soon" addr=127.0.0.1:25`, "", false}, // another message
		{"msg=listening", "", false},
		{"", "", false},
	} {
		got, ok := listeningAddr(tc.line)
		if got != tc.want || ok != tc.ok {
			t.Errorf("listeningAddr(%q) = %q, %v; want %q, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzListeningAddr(f *testing.F) {
	f.Add("level=INFO msg=listening addr=127.0.0.1:2525")
	f.Add(`msg=listening addr="[::1]:25"`)
	f.Add("msg=listening addr=10.0.0.1:25")
	f.Add("addr= msg=listening")
	f.Fuzz(func(t *testing.T, line string) {
		addr, ok := listeningAddr(line)
		if !ok {
			return
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("accepted %q from %q: %v", addr, line, err)
		}
		if ip := net.ParseIP(host); ip == nil || ip.To4() == nil || !ip.IsLoopback() {
			t.Fatalf("accepted non-loopback %q from %q", addr, line)
		}
	})
}

func TestParseVmHWM(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   int64
		ok     bool
	}{
		{"Name:\tdmarcgate\nVmPeak:\t  9000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n", 1234 << 10, true},
		{"VmHWM: 0 kB", 0, true},
		{"VmHWM:\t1234 MB\n", 0, false},
		{"VmHWM:\t-5 kB\n", 0, false},
		{"VmHWM:\t99999999999999999999 kB\n", 0, false},
		{"VmHWM:\n", 0, false},
		{"Name:\tx\nVmRSS:\t1 kB\n", 0, false},
		{"", 0, false},
	} {
		got, err := parseVmHWM([]byte(tc.status))
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("parseVmHWM(%q) = %d, %v; want %d, ok %v", tc.status, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseVmHWMOfThisProcess(t *testing.T) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	rss, err := parseVmHWM(status)
	if err != nil || rss < 1<<20 {
		t.Fatalf("peak RSS of the test binary = %d, %v", rss, err)
	}
}

func FuzzParseVmHWM(f *testing.F) {
	f.Add([]byte("VmHWM:\t    1234 kB\n"))
	f.Add([]byte("Name:\tx\nVmHWM: 1 kB\nVmHWM: 2 kB\n"))
	f.Add([]byte("VmHWM: kB kB"))
	f.Add([]byte(strings.Repeat("x", 70000) + "\nVmHWM: 1 kB"))
	f.Fuzz(func(t *testing.T, status []byte) {
		rss, err := parseVmHWM(status)
		if err == nil && (rss < 0 || rss%1024 != 0) {
			t.Fatalf("parseVmHWM(%q) = %d", status, rss)
		}
	})
}

func TestPercentile(t *testing.T) {
	ms := func(n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i+1) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		values []time.Duration
		p      int
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(1), 99, time.Millisecond},
		{ms(100), 50, 50 * time.Millisecond},
		{ms(100), 99, 99 * time.Millisecond},
		{ms(1000), 99, 990 * time.Millisecond},
		{ms(3), 50, 2 * time.Millisecond},
		{ms(3), 0, time.Millisecond},
	} {
		if got := percentile(tc.values, tc.p); got != tc.want {
			t.Errorf("percentile(%d values, %d) = %v, want %v", len(tc.values), tc.p, got, tc.want)
		}
	}
}

func TestRunOrderAlternatesTwoRuns(t *testing.T) {
	for _, c := range []struct {
		runs, round int
		want        []int
	}{
		{1, 0, []int{0}}, {1, 1, []int{0}},
		{2, 0, []int{0, 1}}, {2, 1, []int{1, 0}}, {2, 2, []int{0, 1}},
		{3, 1, []int{0, 1, 2}},
	} {
		if got := runOrder(c.runs, c.round); !slices.Equal(got, c.want) {
			t.Errorf("runOrder(%d, %d) = %v, want %v", c.runs, c.round, got, c.want)
		}
	}
}
