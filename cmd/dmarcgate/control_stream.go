package main

import (
	"bytes"
	"net/http"
)

// opOutput is where a control operation writes: its first opBuffered
// bytes are held, so that an operation failing early still gets a clean
// error reply; past them the output streams to the client, and a failure
// then aborts the response (the command sees a broken reply and exits 1).
type opOutput struct {
	w         http.ResponseWriter
	buf       bytes.Buffer
	streaming bool
}

const opBuffered = 64 << 10

func (o *opOutput) Write(p []byte) (int, error) {
	if !o.streaming {
		if o.buf.Len()+len(p) <= opBuffered {
			return o.buf.Write(p)
		}
		o.streaming = true
		if _, err := o.w.Write(o.buf.Bytes()); err != nil {
			return 0, err
		}
		o.buf = bytes.Buffer{}
	}
	return o.w.Write(p)
}

// finish sends what is held.
func (o *opOutput) finish() {
	if !o.streaming {
		_, _ = o.w.Write(o.buf.Bytes())
	}
}

// fail answers err, or aborts a response already under way.
func (o *opOutput) fail(err error) {
	if o.streaming {
		panic(http.ErrAbortHandler)
	}
	http.Error(o.w, err.Error(), http.StatusInternalServerError)
}
