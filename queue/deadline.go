package queue

import (
	"errors"
	"net"
	"os"
	"strings"
	"time"
)

// StageTimeouts bound each stage of an SMTP transaction as a whole (RFC
// 5321 §4.5.3.2): a server that sends or takes a byte now and then cannot
// stretch a stage past its timeout, as it could if every read and write
// had its own.
type StageTimeouts struct {
	Greeting  time.Duration // the 220 greeting; 5m
	Mail      time.Duration // MAIL, and EHLO, STARTTLS, RSET, QUIT; 5m
	Rcpt      time.Duration // each RCPT; 5m
	DataInit  time.Duration // the 354 after DATA; 2m
	DataBlock time.Duration // sending the message, plus Size/MinTransferRate; 3m
	DataTerm  time.Duration // the reply after the message; 10m
}

// setDefaults fills the zero stages with def, or RFC 5321's values.
func (t *StageTimeouts) setDefaults(def time.Duration) {
	for _, s := range []struct {
		v   *time.Duration
		rfc time.Duration
	}{
		{&t.Greeting, 5 * time.Minute}, {&t.Mail, 5 * time.Minute}, {&t.Rcpt, 5 * time.Minute},
		{&t.DataInit, 2 * time.Minute}, {&t.DataBlock, 3 * time.Minute}, {&t.DataTerm, 10 * time.Minute},
	} {
		if *s.v <= 0 {
			*s.v = s.rfc
			if def > 0 {
				*s.v = def
			}
		}
	}
}

// forVerb is the stage timeout for the reply to a command.
func (t StageTimeouts) forVerb(verb string) time.Duration {
	switch verb {
	case "RCPT":
		return t.Rcpt
	case "DATA":
		return t.DataInit
	case "BDAT", ".":
		return t.DataTerm
	default:
		return t.Mail
	}
}

// transferTime is how long sending size bytes may take: a data block's
// timeout plus the time at the minimum rate.
func transferTime(t StageTimeouts, size, minRate int64) time.Duration {
	if minRate <= 0 {
		return t.DataBlock
	}
	return t.DataBlock + time.Duration(size)*time.Second/time.Duration(minRate)
}

// stage starts a stage of the dialogue: every read and write until the
// next stage must be done by d from now, and in any case by the
// transaction's deadline.
func (s *session) stage(name string, d time.Duration) {
	end := time.Now().Add(d)
	s.stageName = name
	if !s.deadline.IsZero() && s.deadline.Before(end) {
		end = s.deadline
		s.stageName = name + " (transaction deadline)"
	}
	s.conn.SetDeadline(end)
}

// expect starts the stage of the reply to the command line.
func (s *session) expect(line string) {
	verb, _, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	s.stage(verb, s.t.forVerb(verb))
}

// errStageTimeout marks a stage that ran out of time.
var errStageTimeout = errors.New("timed out")

// timeoutError says which stage timed out, without the socket addresses
// the net error carries.
type timeoutError struct{ stage string }

func (e *timeoutError) Error() string { return "timed out waiting in " + e.stage }
func (e *timeoutError) Unwrap() error { return errStageTimeout }

// named turns a deadline error into a timeoutError for the current stage.
func (s *session) named(err error) error {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &timeoutError{stage: s.stageName}
	}
	return err
}
