package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dmarcgate/resolver/resolvertest"
	"dmarcgate/smtpsink"
)

// buildBinary compiles dmarcgate once per test binary run.
var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dmarcgate-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtPath = filepath.Join(dir, "dmarcgate")
		out, err := exec.Command("go", "build", "-o", builtPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtPath
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startProcess runs `dmarcgate serve` and returns it with its SMTP address.
func startProcess(t *testing.T, bin, configPath string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", configPath)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrCh <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case addr := <-addrCh:
		return cmd, addr
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("gateway process did not start listening")
	}
	return nil, ""
}

func TestCrashLosesNothingAccepted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	dnsSrv := resolvertest.Start(t, testZone())
	sink := smtpsink.Start(t, smtpsink.Options{})
	out := smtpsink.Start(t, smtpsink.Options{})
	cfgPath := filepath.Join(dir, "config.toml")
	doc := fmt.Sprintf(baseConfig, filepath.Join(dir, "state"), dnsSrv.Addr(), sink.Addr(), out.Addr(), out.Addr())
	doc = strings.Replace(doc, `level = "debug"`, `level = "info"`, 1)
	doc = strings.Replace(doc, `listen = "127.0.0.1:0"`, `listen = ""`, 1)
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, addr := startProcess(t, bin, cfgPath)

	// Concurrent clients send until the kill; each remembers what got a 250.
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				token := fmt.Sprintf("crash-%d-%d", c, i)
				if err := sendTo(addr, "client.test", "a@nopolicy.example", []string{"bob@example.org"}, message("a@nopolicy.example", token)); err == nil {
					mu.Lock()
					acked[token] = true
					mu.Unlock()
				}
			}
		}(c)
	}
	waitFor(t, 20*time.Second, "some accepted messages", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 200
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(stop)
	wg.Wait()

	cmd2, _ := startProcess(t, bin, cfgPath)
	defer func() {
		cmd2.Process.Signal(syscall.SIGTERM)
		cmd2.Wait()
	}()
	mu.Lock()
	want := len(acked)
	mu.Unlock()
	subject := regexp.MustCompile(`Subject: (crash-\d+-\d+)`)
	var lost []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		seen := map[string]int{}
		for _, m := range sink.Messages() {
			if s := subject.FindSubmatch(m.Data); s != nil {
				seen[string(s[1])]++
			}
		}
		lost = lost[:0]
		dups := 0
		for token := range acked {
			if seen[token] == 0 {
				lost = append(lost, token)
			}
		}
		for _, n := range seen {
			if n > 1 {
				dups += n - 1
			}
		}
		if len(lost) == 0 {
			t.Logf("accepted before the kill: %d; delivered: %d distinct; duplicates: %d; lost: 0", want, len(seen), dups)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted messages lost after SIGKILL and restart, e.g. %v", len(lost), want, lost[:min(5, len(lost))])
		}
		time.Sleep(100 * time.Millisecond)
	}
}
