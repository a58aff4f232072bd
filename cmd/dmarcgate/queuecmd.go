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

func opQueueList(_ context.Context, a *app, w io.Writer, _ string) error {
	msgs, err := a.queue.List()
	if err != nil {
		return err
	}
	printMessages(w, msgs, false)
	return nil
}

// opQueueFlush makes every deferred message due now and attempts each
// once before returning: without a running serve no worker would; under
// serve, RunOnce shares the work with the workers (each entry is claimed
// by one of them).
func opQueueFlush(ctx context.Context, a *app, w io.Writer, _ string) error {
	n := a.queue.Flush()
	if err := a.queue.RunOnce(ctx); err != nil {
		return err
	}
	left, err := a.queue.List()
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

// opDelete removes an entry, queued or held, without delivering it and
// without a DSN (queue delete, quarantine delete).
func opDelete(_ context.Context, a *app, w io.Writer, id string) error {
	if err := a.queue.Delete(id); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s deleted (not delivered, no DSN sent)\n", id)
	return nil
}

func opQuarantineList(_ context.Context, a *app, w io.Writer, _ string) error {
	msgs, err := a.queue.ListHeld()
	if err != nil {
		return err
	}
	printMessages(w, msgs, true)
	return nil
}

func opQuarantineRelease(_ context.Context, a *app, w io.Writer, id string) error {
	if err := a.queue.Release(id); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s released for delivery\n", id)
	return nil
}

func printMessages(w io.Writer, msgs []queue.Message, held bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if held {
		fmt.Fprintln(tw, "ID\tAGE\tSIZE\tFROM\tTO\tREASON")
	} else {
		fmt.Fprintln(tw, "ID\tKIND\tAGE\tSIZE\tFROM\tTO\tATTEMPTS\tNEXT\tLAST ERROR")
	}
	now := time.Now()
	for _, m := range msgs {
		from := m.From
		if from == "" {
			from = "<>"
		}
		age := now.Sub(m.Received).Truncate(time.Second)
		to := strings.Join(m.To, ",")
		if held {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", m.ID, age, m.Size, from, to, m.HoldReason)
			continue
		}
		next := "now"
		if d := m.NextAttempt.Sub(now); d > 0 {
			next = "in " + d.Truncate(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.Kind, age, m.Size, from, to, m.Attempts, next, m.LastError)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d message(s)\n", len(msgs))
}
