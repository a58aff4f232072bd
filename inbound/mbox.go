package inbound

import "bytes"

// SplitMbox cuts an mbox (messages each after a "From " line) into its
// messages; anything else is returned whole. The "From " lines go.
func SplitMbox(data []byte) [][]byte {
	if !bytes.HasPrefix(data, []byte("From ")) {
		return [][]byte{data}
	}
	var out [][]byte
	for len(data) > 0 {
		// data starts at a "From " line: drop it.
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			break
		}
		data = data[nl+1:]
		end := bytes.Index(data, []byte("\nFrom "))
		if end < 0 {
			out = append(out, data)
			break
		}
		out = append(out, data[:end+1])
		data = data[end+1:]
	}
	return out
}
