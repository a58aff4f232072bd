package smtpd

import (
	"errors"
	"io"

	"dmarcgate/queue"
)

// storageLow refuses a transaction when the queue has no room for it
// (free space under the floor, or spool files in flight at their bound):
// 452 4.3.1 at MAIL, before the client sends anything big.
func (s *session) storageLow() error {
	if s.srv.Queue == nil {
		return nil
	}
	if err := s.srv.Queue.StorageLow(); err != nil {
		messagesTotal.WithLabelValues("no_storage").Inc()
		s.srv.Logger.Warn("transaction refused", "client", s.ip, "err", err)
		return replyNoStorage
	}
	return nil
}

// storageGuard passes the message to the body until the body has no room
// (queue.ErrStorageFull); then it swallows the rest, so that the message
// is read to its end and the refusal keeps the dialogue in step.
type storageGuard struct {
	w    io.Writer
	full bool
}

func (g *storageGuard) Write(p []byte) (int, error) {
	if g.full {
		return len(p), nil
	}
	n, err := g.w.Write(p)
	if errors.Is(err, queue.ErrStorageFull) {
		g.full = true
		return len(p), nil
	}
	return n, err
}
