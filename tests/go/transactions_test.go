package wrentest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const sentinel = "sentinel"

// transact produces values in one transaction and commits or aborts it.
func transact(ctx context.Context, t *testing.T, cl *kgo.Client, commit kgo.TransactionEndTry, values ...string) {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("produce %s: %v", v, err)
		}
	}
	if err := cl.EndTransaction(ctx, commit); err != nil {
		t.Fatalf("end transaction (commit %v): %v", commit, err)
	}
}

func values(prefix string, n int) []string {
	vs := make([]string, n)
	for i := range vs {
		vs[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return vs
}

// read_committed sees the committed transactions and none of the aborted one; the last
// committed transaction holds a sentinel, so reading up to it proves everything before it was
// decided (no waiting for a timeout). read_uncommitted sees the aborted records too, so they
// did reach the log.
func TestTransactionsReadCommittedSeesOnlyCommitted(t *testing.T) {
	const topic = "go-transactions"
	w := startWren(t)
	w.createTopic(t, topic, 1)
	ctx := testCtx(t, 90*time.Second)

	producer := w.client(t, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("go-txn"),
		kgo.TransactionTimeout(30*time.Second))
	first, aborted, second := values("committed-a", 20), values("aborted", 20), values("committed-b", 20)
	transact(ctx, t, producer, kgo.TryCommit, first...)
	transact(ctx, t, producer, kgo.TryAbort, aborted...)
	transact(ctx, t, producer, kgo.TryCommit, append(second, sentinel)...)

	isSentinel := func(r *kgo.Record) bool { return string(r.Value) == sentinel }
	var got []string
	for _, r := range consumeAll(ctx, t, w, topic, -1, isSentinel,
		kgo.FetchIsolationLevel(kgo.ReadCommitted())) {
		got = append(got, string(r.Value))
	}
	want := append(append(append([]string{}, first...), second...), sentinel)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("read_committed saw\n%v\nwant\n%v", got, want)
	}

	uncommitted := 0
	for _, r := range consumeAll(ctx, t, w, topic, -1, isSentinel,
		kgo.FetchIsolationLevel(kgo.ReadUncommitted())) {
		if strings.HasPrefix(string(r.Value), "aborted-") {
			uncommitted++
		}
	}
	if uncommitted != len(aborted) {
		t.Fatalf("read_uncommitted saw %d aborted records, want %d", uncommitted, len(aborted))
	}
}

// An open transaction holds read_committed back (the last stable offset) while later
// non-transactional records are already visible to read_uncommitted; its commit releases both.
func TestOpenTransactionHoldsReadCommittedBack(t *testing.T) {
	const topic = "go-lso"
	w := startWren(t)
	w.createTopic(t, topic, 1)
	ctx := testCtx(t, 90*time.Second)

	txn := w.client(t, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("go-open"))
	plain := w.client(t, kgo.DefaultProduceTopic(topic))
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(ctx, &kgo.Record{Value: []byte("in-txn")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := plain.ProduceSync(ctx, &kgo.Record{Value: []byte("plain")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// read_uncommitted reaches "plain" (offset 1) while the transaction is open.
	seen := consumeAll(ctx, t, w, topic, 2, nil, kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	if string(seen[1].Value) != "plain" {
		t.Fatalf("read_uncommitted: %s at offset 1, want plain", seen[1].Value)
	}
	// read_committed stops at the open transaction's first offset: its end offset is 0.
	lso, err := w.admin(t).ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := lso.Lookup(topic, 0); o.Err != nil || o.Offset != 0 {
		t.Fatalf("read_committed end offset with an open transaction: %+v, want 0", o)
	}
	if err := txn.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range consumeAll(ctx, t, w, topic, 2, nil, kgo.FetchIsolationLevel(kgo.ReadCommitted())) {
		got = append(got, string(r.Value))
	}
	if strings.Join(got, ",") != "in-txn,plain" {
		t.Fatalf("read_committed after the commit: %v, want [in-txn plain]", got)
	}
}
