package session

import (
	"context"
	"errors"

	streamlog "github.com/sqld/sqld/connectors/log"
	"github.com/sqld/sqld/connectors/widecol"
)

// txnState holds the writes of an open transaction block. Table writes go
// to an indexed batch, so later statements of the block read them; stream
// appends go to a log transaction. Both commit at COMMIT and vanish at
// ROLLBACK. A block that writes holds the engine's write lock until it
// ends, so key checks stay true until the commit.
type txnState struct {
	batch   *widecol.Batch
	log     *streamlog.Txn
	locked  bool
	changed map[string]bool
}

// inBlock reports whether statements run inside a transaction block.
func (s *Session) inBlock() bool { return s.tx == 'T' || s.implicit }

// lockWrites takes the engine's write lock for one statement, or for the
// rest of the transaction block. The returned function releases it at the
// end of the statement when it is not held by the block.
func (s *Session) lockWrites() func() {
	if s.inBlock() {
		if s.txn == nil {
			s.txn = &txnState{changed: map[string]bool{}}
		}
		if !s.txn.locked {
			s.eng.writeMu.Lock()
			s.txn.locked = true
		}
		return func() {}
	}
	s.eng.writeMu.Lock()
	return s.eng.writeMu.Unlock
}

// writeBatch returns the batch a statement writes tables through: the
// block's, or a new one that the statement commits. done releases a
// statement's own batch.
func (s *Session) writeBatch() (b *widecol.Batch, done func()) {
	if s.inBlock() {
		if s.txn == nil {
			s.txn = &txnState{changed: map[string]bool{}}
		}
		if s.txn.batch == nil {
			s.txn.batch = s.eng.store.NewIndexedBatch()
		}
		return s.txn.batch, func() {}
	}
	b = s.eng.store.NewBatch()
	return b, b.Close
}

// commitWrite commits a statement's table writes, or, in a block, leaves
// them for COMMIT.
func (s *Session) commitWrite(ctx context.Context, b *widecol.Batch, table string) error {
	if s.inBlock() {
		s.txn.changed[table] = true
		return nil
	}
	return s.eng.commitTable(ctx, b, table)
}

// rowExists checks a key against committed rows and the block's writes.
func (s *Session) rowExists(ctx context.Context, t *widecol.Table, key []any) (bool, error) {
	if s.txn == nil || s.txn.batch == nil {
		return s.eng.rowExists(ctx, t, key)
	}
	_, err := s.txn.batch.GetRow(ctx, t, key)
	if errors.Is(err, widecol.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// logTxn returns the log transaction a stream append joins in a block, or
// nil outside one.
func (s *Session) logTxn() (*streamlog.Txn, error) {
	if !s.inBlock() {
		return nil, nil
	}
	if s.txn == nil {
		s.txn = &txnState{changed: map[string]bool{}}
	}
	if s.txn.log == nil {
		t, err := s.eng.log_.BeginTxn()
		if err != nil {
			return nil, err
		}
		s.txn.log = t
	}
	return s.txn.log, nil
}

// reader returns what the statements of the session read tables through:
// the block's batch, or nil for a fresh snapshot.
func (s *Session) blockReader() tableReader {
	if s.txn != nil && s.txn.batch != nil {
		return s.txn.batch
	}
	return nil
}

// endBlock commits (commit true) or discards the block's writes.
func (s *Session) endBlock(ctx context.Context, commit bool) error {
	t := s.txn
	s.txn = nil
	if t == nil {
		return nil
	}
	defer func() {
		if t.locked {
			s.eng.writeMu.Unlock()
		}
	}()
	if !commit {
		if t.batch != nil {
			t.batch.Close()
		}
		if t.log != nil {
			_ = t.log.Abort(context.Background())
		}
		return nil
	}
	var err error
	if t.batch != nil {
		if len(t.changed) > 0 {
			err = t.batch.Commit(ctx)
		}
		t.batch.Close()
		if err == nil {
			for name := range t.changed {
				s.eng.bumpVersion(name)
			}
		}
	}
	if t.log != nil {
		if err != nil {
			_ = t.log.Abort(context.Background())
		} else {
			err = t.log.Commit(ctx)
		}
	}
	s.eng.notifyChange()
	return err
}
