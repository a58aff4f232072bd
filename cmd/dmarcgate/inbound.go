package main

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"dmarcgate/inbound"
	"dmarcgate/reporting"
)

// retentionEvery is how often old inbound reports are pruned.
const retentionEvery = 6 * time.Hour

// openInbound opens the store of the reports about our own domains and
// the intake that fills it from the queue.
func (a *app) openInbound() error {
	ir := a.cfg.InboundReports
	st, err := inbound.NewStore(context.Background(), a.db, inbound.Domains(ir.Domains))
	if err != nil {
		return err
	}
	a.inbound = st
	a.intake = inbound.NewIntake(st, a.queue, ir.Addresses, ir.Deliver, a.log)
	a.intake.Share = a.cfg.Cluster.Enabled()
	return nil
}

// runInbound runs the intake and the retention until ctx ends.
func (a *app) runInbound(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.inbound.RunRetention(ctx, a.cfg.InboundReports.Retention.Duration, retentionEvery, a.log)
	}()
	a.intake.Run(ctx)
	<-done
}

// intakeRecorder marks accepted report mail for the intake, in the
// message's own commit.
type intakeRecorder struct{ in *inbound.Intake }

func (r intakeRecorder) Record(ev *reporting.Event) func(tx *bolt.Tx) error {
	return r.in.Record(ev.QueueID, ev.EnvelopeTo)
}
