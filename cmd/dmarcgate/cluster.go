package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"dmarcgate/cluster"
	"dmarcgate/config"
	"dmarcgate/queue"
	"dmarcgate/reporting"
)

// Several instances on one PostgreSQL (cluster.postgres): the wiring of
// package cluster to this instance's reporter, queue and quarantine.

// openCluster prepares the shared database when one is configured (nil
// otherwise); it does not connect yet.
func openCluster(cfg *config.Config, log *slog.Logger) (*cluster.Cluster, error) {
	if !cfg.Cluster.Enabled() {
		return nil, nil
	}
	return cluster.Open(cluster.Config{
		DSN: cfg.Cluster.Postgres, Instance: cfg.Cluster.Instance, Version: buildVersion(),
		ShipGrace: cfg.Cluster.ShipGrace.Duration, Logger: log,
	})
}

// runCluster keeps this instance in step with the others until ctx ends.
func runCluster(ctx context.Context, a *app) {
	if a.cluster == nil {
		return
	}
	a.cluster.Run(ctx, cluster.Local{
		Reports: clusterReports{a.reports, a.queue}, Held: clusterHeld{a}, Inbound: a.inbound,
		Interval: a.cfg.Reporting.Interval.Duration,
	})
}

// clusterReports is the reporter with the question only the queue answers.
type clusterReports struct {
	*reporting.Reporter
	q *queue.Queue
}

func (c clusterReports) ReportQueued(id string) (bool, error) {
	msgs, err := c.q.List()
	if err != nil {
		return false, err
	}
	for _, m := range msgs {
		if m.Kind == queue.KindReport && m.Meta["report_id"] == id {
			return true, nil
		}
	}
	return false, nil
}

// clusterHeld is this instance's quarantine as the cluster sees it.
type clusterHeld struct{ a *app }

func (h clusterHeld) ListHeld() ([]cluster.HeldMessage, error) {
	msgs, err := h.a.queue.ListHeld()
	if err != nil {
		return nil, err
	}
	out := make([]cluster.HeldMessage, len(msgs))
	for i, m := range msgs {
		s := summarise(h.a.queue, m.ID)
		out[i] = cluster.HeldMessage{ID: m.ID, MailFrom: envelopeFrom(m.From), From: s.from, Subject: s.subject,
			Received: m.Received, Size: m.Size}
	}
	return out, nil
}

func (h clusterHeld) ActOnHeld(ctx context.Context, id, action, by string) (string, error) {
	var out strings.Builder
	ctx = withRequester(ctx, "instance "+by)
	var err error
	switch action {
	case "release":
		err = opQuarantineRelease(ctx, h.a, &out, id)
	case "delete":
		err = opQuarantineDelete(ctx, h.a, &out, id)
	default:
		err = fmt.Errorf("unknown action %q", action)
	}
	return strings.TrimSpace(out.String()), err
}

// clusterQuarantineList lists the held messages of every instance.
func clusterQuarantineList(ctx context.Context, a *app, w io.Writer) error {
	msgs, err := a.cluster.ListHeld(ctx)
	if err != nil {
		return fmt.Errorf("the shared quarantine index is unreachable (%v); this instance's own: dmarcgate quarantine list on it", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tINSTANCE\tAGE\tSIZE\tMAIL FROM\tFROM\tSUBJECT")
	now := time.Now()
	for _, m := range msgs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", m.ID, m.Instance, now.Sub(m.Received).Truncate(time.Second), m.Size,
			m.MailFrom, orDash(m.From), orDash(m.Subject))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d message(s) on all instances\n", len(msgs))
	return nil
}

// askHeldElsewhere carries out a release or delete of a message another
// instance holds.
func askHeldElsewhere(ctx context.Context, a *app, w io.Writer, id, action string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := a.cluster.AskHeld(ctx, id, action)
	if errors.Is(err, cluster.ErrNoHeld) {
		return fmt.Errorf("no held message %s", id)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, res)
	return err
}

// clusterReportsSend closes the period on every instance and waits (at
// most ship_grace and a little) for the reports to be built.
func clusterReportsSend(ctx context.Context, a *app, w io.Writer) error {
	cut, err := a.cluster.RequestCut(ctx)
	if err != nil {
		return fmt.Errorf("cluster: asking the instances to close the period: %w", err)
	}
	wait := a.cfg.Cluster.ShipGrace.Duration + 30*time.Second
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		built, err := a.cluster.CutBuilt(ctx, cut)
		if err == nil && built {
			fmt.Fprintf(w, "period closed on every instance at %s; the reports are built and being sent by the elected sender\n",
				time.Unix(cut, 0).UTC().Format(time.RFC3339))
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(w, "period closed at %s; the reports are not built yet (waiting for instances or the sender); see dmarcgate cluster status\n",
				time.Unix(cut, 0).UTC().Format(time.RFC3339))
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// cmdCluster is `dmarcgate cluster status`: it asks PostgreSQL directly.
func cmdCluster(ctx context.Context, args []string, w io.Writer) error {
	fs, path := newFlags("cluster")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "status" {
		return usageError{"usage: dmarcgate cluster status [--config FILE]"}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if !cfg.Cluster.Enabled() {
		return errors.New("cluster.postgres is not set: this instance stands alone")
	}
	c, err := openCluster(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		return fmt.Errorf("cluster: reading the shared state: %w", err)
	}
	printClusterStatus(w, st)
	return nil
}

func printClusterStatus(w io.Writer, st *cluster.Status) {
	fmt.Fprintf(w, "schema version %d (this build: %d)\n", st.Schema, cluster.SchemaVersion())
	if st.Sender != "" {
		fmt.Fprintf(w, "sender: %s (lease until %s)\n", st.Sender, st.SenderUntil.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintln(w, "sender: none elected (no instance running?)")
	}
	fmt.Fprintf(w, "period ends waiting for reports: %d; reports not yet delivered: %d\n", st.UnbuiltCuts, st.UnsentReport)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tSTATE\tLAST SEEN\tLAST SHIP\tSHIPPED THROUGH\tHELD\tSENDING\tVERSION")
	for _, in := range st.Instances {
		state, ship := "down", "never"
		if in.Live {
			state = "live"
		}
		if in.LastShip != nil {
			ship = in.SinceLastShip.Truncate(time.Second).String() + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s ago\t%s\t%s\t%d\t%d\t%s\n", in.Name, state, time.Since(in.Seen).Truncate(time.Second),
			ship, time.Unix(in.ClosedThrough, 0).UTC().Format(time.RFC3339), in.HeldMessages, in.PendingReports, in.Version)
	}
	tw.Flush()
}

// withRequester names who asked, for the log lines of the change.
func withRequester(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, peerKey{}, peerInfo{desc: who})
}
