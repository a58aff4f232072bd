package main

import (
	"context"
	"io"
)

func cmdReports(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := newFlags("reports")
	domain := fs.String("domain", "", "only this policy domain (preview)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 && pos[0] == "import" {
		return cmdReportsImport(ctx, *path, pos[1:], stdout)
	}
	if len(pos) != 1 || (pos[0] != "send" && pos[0] != "preview") {
		return usageError{"usage: dmarcgate reports send | preview [--domain D] [--config FILE]"}
	}
	return runOp(ctx, *path, "reports-"+pos[0], *domain, stdout)
}
