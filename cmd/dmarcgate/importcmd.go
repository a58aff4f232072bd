package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dmarcgate/inbound"
)

// maxImportFile bounds what one imported file may hold (an mbox of many
// reports); one report inside is bounded by dmarcreport.
const maxImportFile = 1 << 30

// cmdReportsImport files report files: the paths go to a running serve
// as absolute names (it reads them), or are read here without one.
func cmdReportsImport(ctx context.Context, path string, files []string, stdout io.Writer) error {
	if len(files) == 0 {
		return usageError{"usage: dmarcgate reports import FILE... [--config FILE]"}
	}
	abs := make([]string, len(files))
	for i, f := range files {
		a, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		abs[i] = a
	}
	arg, _ := json.Marshal(abs)
	return runOp(ctx, path, "reports-import", string(arg), stdout)
}

func opReportsImport(ctx context.Context, a *app, w io.Writer, arg string) error {
	var files []string
	if err := json.Unmarshal([]byte(arg), &files); err != nil {
		return fmt.Errorf("reports import: bad arguments: %v", err)
	}
	totals := map[inbound.Outcome]int{}
	failed := 0
	for _, f := range files {
		if err := importFile(ctx, a.inbound, f, w, totals); err != nil {
			if errors.Is(err, errStore) {
				return err
			}
			fmt.Fprintf(w, "%s: %v\n", f, err)
			failed++
		}
	}
	fmt.Fprintf(w, "kept %d, duplicate %d, foreign domain %d, unreadable %d\n",
		totals[inbound.Kept], totals[inbound.Duplicate], totals[inbound.Foreign], totals[inbound.Unreadable])
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be read", failed, len(files))
	}
	return nil
}

var errStore = errors.New("storing reports")

func importFile(ctx context.Context, st *inbound.Store, path string, w io.Writer, totals map[inbound.Outcome]int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxImportFile+1))
	f.Close()
	if err != nil {
		return err
	}
	if len(data) > maxImportFile {
		return fmt.Errorf("larger than %d bytes", maxImportFile)
	}
	items := inbound.SplitMbox(data)
	results, err := st.IngestAll(ctx, items, time.Now())
	if err != nil {
		return fmt.Errorf("%w: %v", errStore, err)
	}
	for i, res := range results {
		name := path
		if len(items) > 1 {
			name = fmt.Sprintf("%s[%d]", path, i+1)
		}
		fmt.Fprintf(w, "%s: %s\n", name, describe(res))
		for _, o := range res.Outcomes {
			totals[o]++
		}
	}
	return nil
}

// describe says in one line what a file gave.
func describe(res inbound.Result) string {
	if res.Err != nil {
		return res.Kind + " report unreadable, nothing kept: " + oneLine(res.Err.Error())
	}
	parts := make([]string, len(res.Outcomes))
	for i, o := range res.Outcomes {
		parts[i] = fmt.Sprintf("%s %s", res.Domains[i], strings.ReplaceAll(string(o), "_", " "))
	}
	return res.Kind + ": " + strings.Join(parts, ", ")
}
