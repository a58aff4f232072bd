package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// consolePasswordMax: bcrypt uses at most 72 bytes of a password; a longer
// one would be silently cut, so it is refused.
const consolePasswordMax = 72

// cmdConsole handles `dmarcgate console password`: it reads a password
// (the first line of stdin) and prints its bcrypt hash for
// console.password_hash.
func cmdConsole(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "password" {
		return usageError{"usage: dmarcgate console password  (reads the password on stdin, prints its bcrypt hash)"}
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("console password: reading stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	switch {
	case pw == "":
		return usageError{"console password: no password on stdin"}
	case len(pw) > consolePasswordMax:
		return usageError{fmt.Sprintf("console password: longer than %d bytes (bcrypt would ignore the rest)", consolePasswordMax)}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(hash))
	return nil
}
