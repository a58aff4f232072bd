package reporting

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"go.etcd.io/bbolt"
)

// A capped report's rows go in transactions of at most capDeleteBatch
// rows: a domain with many rows must not hold the database's one writer
// (and every message commit behind it) for long.
func TestCapReportDeletesRowsInBatches(t *testing.T) {
	e := newEnv(t, nil, nil)
	st := &aggState{Domain: "big.example", Begin: day0.Unix(), End: day0.Unix() + 86400, State: statePending}
	prefix := append(bytes.Clone(st.key()), 0)
	const rows = 2*capDeleteBatch + 10
	err := e.db.Commit(context.Background(), func(tx *bbolt.Tx) error {
		for i := 0; i < rows; i++ {
			if err := tx.Bucket(rowsBucket).Put(append(bytes.Clone(prefix), fmt.Sprintf("row%06d", i)...), []byte("x")); err != nil {
				return err
			}
		}
		return putState(tx, st)
	})
	if err != nil {
		t.Fatal(err)
	}
	before := e.db.Commits()
	if err := e.rep.capReport(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if n := e.db.Commits() - before; n < 3 {
		t.Errorf("%d rows deleted in %d commits, want batches of at most %d", rows, n, capDeleteBatch)
	}
	_ = e.db.View(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(rowsBucket).Cursor().Seek(prefix)
		if k != nil && bytes.HasPrefix(k, prefix) {
			t.Error("rows of the capped report left")
		}
		if got, _ := getState(tx, st.key()); got == nil || got.State != stateCapped {
			t.Errorf("state %+v, want capped", got)
		}
		return nil
	})
}
