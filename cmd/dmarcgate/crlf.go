package main

import (
	"bufio"
	"io"
)

// crlfReader turns bare LF line endings into CRLF, as an SMTP client does when
// it sends a file saved with Unix line endings, so that `check` sees the bytes
// serve would see.
func crlfReader(r io.Reader) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		br := bufio.NewReader(r)
		bw := bufio.NewWriter(pw)
		var prev byte
		for {
			c, err := br.ReadByte()
			if err != nil {
				if err == io.EOF {
					err = bw.Flush()
				}
				pw.CloseWithError(err)
				return
			}
			if c == '\n' && prev != '\r' {
				bw.WriteByte('\r')
			}
			bw.WriteByte(c)
			prev = c
		}
	}()
	return pr
}
