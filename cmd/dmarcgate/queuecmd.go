package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"dmarcgate/queue"
)

func cmdQueue(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := newFlags("queue")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 1 && (pos[0] == "list" || pos[0] == "flush"):
		return runOp(ctx, *path, "queue-"+pos[0], "", stdout)
	case len(pos) == 2 && (pos[0] == "show" || pos[0] == "delete"):
		return runOp(ctx, *path, "queue-"+pos[0], pos[1], stdout)
	}
	return usageError{"usage: dmarcgate queue list | flush | show ID | delete ID [--config FILE]"}
}

func cmdQuarantine(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := newFlags("quarantine")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 1 && pos[0] == "list":
		return runOp(ctx, *path, "quarantine-list", "", stdout)
	case len(pos) == 2 && (pos[0] == "release" || pos[0] == "delete"):
		return runOp(ctx, *path, "quarantine-"+pos[0], pos[1], stdout)
	}
	return usageError{"usage: dmarcgate quarantine list | release ID | delete ID [--config FILE]"}
}

// opQueueList lists what waits for delivery; held quarantine is not
// queue (quarantine list shows it).
// It streams: a batch of rows at a time (columns aligned per batch), so
// listing a queue of any size holds one batch in memory.
func opQueueList(_ context.Context, a *app, w io.Writer, _ string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tAGE\tSIZE\tFROM\tTO\tATTEMPTS\tNEXT\tLAST ERROR")
	now, n := time.Now(), 0
	err := a.queue.Walk(func(m *queue.Message) bool { return !m.Held }, func(m *queue.Message) error {
		printMessage(tw, m, now)
		if n++; n%listFlushRows == 0 {
			return tw.Flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%d message(s)\n", n)
	return err
}

// listFlushRows: queue list aligns and writes its rows in batches this size.
const listFlushRows = 500

func queued(q *queue.Queue) ([]queue.Message, error) {
	all, err := q.List()
	if err != nil {
		return nil, err
	}
	msgs := all[:0]
	for _, m := range all {
		if !m.Held {
			msgs = append(msgs, m)
		}
	}
	return msgs, nil
}

// opQueueFlush makes every deferred message due now and attempts each
// once before returning: without a running serve no worker would; under
// serve, the attempts are shared with the workers and the command waits
// for theirs too, so that what it reports left is what the attempts left.
func opQueueFlush(ctx context.Context, a *app, w io.Writer, _ string) error {
	n, err := a.queue.FlushAndWait(ctx)
	if err != nil {
		return err
	}
	left, err := queued(a.queue)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d deferred message(s) retried now; %d message(s) in the queue\n", n, len(left))
	return nil
}

// opQueueShow prints an entry's envelope and state, a blank line, then the
// message as it would be delivered (with the headers the gateway adds).
func opQueueShow(_ context.Context, a *app, w io.Writer, id string) error {
	m, err := a.queue.Get(id)
	if err != nil {
		return err
	}
	body, err := a.queue.Body(id)
	if err != nil {
		return err
	}
	defer body.Close()
	from := m.From
	if from == "" {
		from = "<>"
	}
	fmt.Fprintf(w, "ID: %s\nKind: %s\nFrom: %s\nTo: %s\nReceived: %s\nSize: %d\nAttempts: %d\n",
		m.ID, m.Kind, from, strings.Join(m.To, ", "), m.Received.UTC().Format(time.RFC3339), m.Size, m.Attempts)
	switch {
	case m.Held:
		fmt.Fprintf(w, "Held: %s\n", m.HoldReason)
	case m.Attempts > 0:
		fmt.Fprintf(w, "Next-Attempt: %s\nLast-Error: %s\n", m.NextAttempt.UTC().Format(time.RFC3339), m.LastError)
	}
	fmt.Fprintln(w)
	_, err = io.Copy(w, body)
	return err
}

// opDelete removes a queued entry without delivering it and without a DSN.
func opDelete(_ context.Context, a *app, w io.Writer, id string) error {
	if m, err := a.queue.Get(id); err == nil && m.Held {
		return fmt.Errorf("%s is held in quarantine, not queued: see dmarcgate quarantine delete", id)
	}
	if err := a.queue.Delete(id); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s deleted (not delivered, no DSN sent)\n", id)
	return nil
}

// printMessage writes one row of queue list.
func printMessage(tw io.Writer, m *queue.Message, now time.Time) {
	from := envelopeFrom(m.From)
	age := now.Sub(m.Received).Truncate(time.Second)
	to := strings.Join(m.To, ",")
	next := "now"
	if d := m.NextAttempt.Sub(now); d > 0 {
		next = "in " + d.Truncate(time.Second).String()
	}
	fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.Kind, age, m.Size, from, to, m.Attempts, next, m.LastError)
}
