package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

func init() {
	ops["reports-send"] = opReportsSend
	ops["reports-preview"] = opReportsPreview
}

// opReportsSend closes the open period and sends every due report, the
// failure reports still pending too (a destination whose check failed
// temporarily), then delivers what is due before returning: without a
// running serve no queue worker would; under serve, RunOnce shares the
// work with the workers (each entry is claimed by one of them), so the
// command ends once its reports were attempted.
func opReportsSend(ctx context.Context, a *app, w io.Writer, _ string) error {
	if a.reports == nil {
		return errors.New("aggregate reporting is not set up")
	}
	if !a.reports.Enabled() { // as serve has it now, reloads included
		return errors.New("aggregate reporting is disabled (reporting.enabled = false)")
	}
	if a.cluster != nil {
		return clusterReportsSend(ctx, a, w)
	}
	sum, err := a.reports.Send(ctx, true)
	fmt.Fprintf(w, "closed %d, generated %d, queued %d report messages to %d destinations, skipped %d, waiting %d, dropped %d\n",
		sum.Closed, sum.Generated, sum.Enqueued, sum.Recipients, sum.Skipped, sum.Deferred, sum.Dropped)
	if err != nil {
		return err
	}
	if a.failures != nil && a.failures.Enabled() {
		if err := a.failures.SendPending(ctx); err != nil {
			return err
		}
	}
	return a.queue.RunOnce(ctx)
}

// opReportsPreview prints the XML of the open period; arg is the domain.
// One document (--domain, one period) is printed alone, as XML; several
// each follow a line naming their policy domain; nothing recorded is said
// in words.
func opReportsPreview(_ context.Context, a *app, w io.Writer, domain string) error {
	if a.reports == nil {
		return errors.New("aggregate reporting is not set up")
	}
	docs, err := a.reports.Previews(domain)
	if err != nil {
		return err
	}
	if domain != "" && len(docs) == 1 {
		_, err := w.Write(docs[0].XML)
		return err
	}
	if len(docs) == 0 {
		_, err := fmt.Fprintln(w, "nothing recorded in the open period: no aggregate report would be sent")
		return err
	}
	for i, d := range docs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "==> report %d of %d: policy domain %s <==\n", i+1, len(docs), d.Domain)
		if _, err := w.Write(d.XML); err != nil {
			return err
		}
	}
	return nil
}
