package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// listeningAddr finds the address in the gateway's slog text line
// `... msg=listening addr=127.0.0.1:PORT`. Only an IPv4 loopback address
// with a port is accepted: the load goes nowhere else.
func listeningAddr(line string) (string, bool) {
	fields := strings.Fields(line)
	var isListening bool
	var value string
	for _, f := range fields {
		switch {
		case f == "msg=listening":
			isListening = true
		case strings.HasPrefix(f, "addr=") && value == "":
			value = strings.TrimPrefix(f, "addr=")
		}
	}
	if !isListening || value == "" {
		return "", false
	}
	if strings.HasPrefix(value, `"`) {
		unquoted, err := strconv.Unquote(value)
		if err != nil {
			return "", false
		}
		value = unquoted
	}
	host, port, err := net.SplitHostPort(value)
	if err != nil {
		return "", false
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return "", false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", false
	}
	return value, true
}

// parseVmHWM reads the peak resident set size, in bytes, from the text
// of /proc/PID/status ("VmHWM:     1234 kB").
func parseVmHWM(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("VmHWM: unexpected %q", rest)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return 0, fmt.Errorf("VmHWM: bad number %q", fields[0])
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("VmHWM: %w", err)
	}
	return 0, errors.New("VmHWM: not in status")
}
