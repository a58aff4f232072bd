package cluster

import (
	"context"
	"time"
)

// Run keeps this instance in step with the cluster until ctx ends: a
// heartbeat, the cuts, shipping closed periods, and, on the elected
// sender, building reports and handing them over. Every step is retried
// at the next tick when PostgreSQL is away; nothing here blocks mail.
func (c *Cluster) Run(ctx context.Context, local Local) {
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	down := false
	for {
		err := c.step(ctx, local)
		switch {
		case err != nil && ctx.Err() == nil && !down:
			c.log.Warn("cluster: PostgreSQL unavailable; mail is still taken, reports wait", "err", err)
			down = true
		case err == nil && down:
			c.log.Info("cluster: PostgreSQL reachable again; shipping the backlog")
			down = false
		}
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			c.resign(rctx)
			cancel()
			return
		case <-t.C:
		}
	}
}

// Local is this instance as the cluster sees it.
type Local struct {
	Reports  Reports
	Held     Held    // nil: the quarantine is not shared
	Inbound  Inbound // nil: no inbound reports
	Interval time.Duration
}

// step is one tick's work.
func (c *Cluster) step(ctx context.Context, local Local) error {
	rep, held, interval := local.Reports, local.Held, local.Interval
	ctx, cancel := context.WithTimeout(ctx, max(10*time.Second, 5*c.cfg.Tick))
	defer cancel()
	if err := c.ready(ctx); err != nil {
		return err
	}
	if err := c.heartbeat(ctx); err != nil {
		return err
	}
	if err := c.followCuts(ctx, rep, interval); err != nil {
		return err
	}
	if err := c.shipAll(ctx, rep); err != nil {
		return err
	}
	if held != nil {
		if err := c.syncHeld(ctx, held); err != nil {
			return err
		}
	}
	if local.Inbound != nil {
		if err := c.syncInbound(ctx, local.Inbound); err != nil {
			return err
		}
	}
	leader, err := c.lead(ctx)
	if err != nil {
		return err
	}
	if leader {
		if err := c.addCut(ctx, alignedStart(time.Now(), interval)); err != nil {
			return err
		}
		if err := c.buildDue(ctx, rep); err != nil {
			return err
		}
		if err := c.handOff(ctx, rep); err != nil {
			return err
		}
	}
	return c.markDone(ctx, rep)
}

// heartbeat says this instance is alive.
func (c *Cluster) heartbeat(ctx context.Context) error {
	_, err := c.pool.Exec(ctx, `INSERT INTO dg_instances (name, version) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET seen_at = now(), version = EXCLUDED.version`, c.cfg.Instance, c.cfg.Version)
	return err
}

// followCuts closes the local open period at the newest cut, and at each
// aligned boundary on its own (so a lost database does not hold periods
// open).
func (c *Cluster) followCuts(ctx context.Context, rep Reports, interval time.Duration) error {
	cut, err := c.latestCut(ctx)
	if err != nil {
		return err
	}
	cut = max(cut, alignedStart(time.Now(), interval))
	if cut > rep.OpenFrom() {
		if _, err := rep.CloseAt(ctx, cut); err != nil {
			return err
		}
	}
	return nil
}

// alignedStart is the period boundary at or before t (periods are
// multiples of interval since the epoch, as in reporting).
func alignedStart(t time.Time, interval time.Duration) int64 {
	sec := int64(interval / time.Second)
	if sec <= 0 {
		sec = 86400
	}
	u := t.Unix()
	return u - u%sec
}
