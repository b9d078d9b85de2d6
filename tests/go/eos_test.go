package wrentest

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Consume-transform-produce with franz-go's GroupTransactSession: the group's offsets commit in
// the same transaction as the output (TxnOffsetCommit). One transaction, after every partition
// has a commit, is aborted: the session rewinds to the committed offsets, so that input is read
// again and its first output never seen. At the end read_committed holds every input record's
// output exactly once and the group's offsets are at the input's end. (The abort waits for a
// commit on every partition because the session rewinds only partitions that have one.)
func TestGroupTransactSessionCopiesEveryRecordOnce(t *testing.T) {
	const in, out, group, partitions, rounds, perRound = "go-eos-in", "go-eos-out", "go-eos-g", 2, 10, 10
	const perPartition = rounds * perRound
	w := startWren(t)
	w.createTopic(t, in, partitions)
	w.createTopic(t, out, 1)
	ctx := testCtx(t, 120*time.Second)
	producer := w.client(t, kgo.DefaultProduceTopic(in), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for round := 0; round < rounds; round++ { // a batch per round and partition
		var rs []*kgo.Record
		for i := 0; i < perRound; i++ {
			for p := int32(0); p < partitions; p++ {
				rs = append(rs, &kgo.Record{Partition: p, Value: value(round*perRound + i)})
			}
		}
		if err := producer.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	sess, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(w.addr),
		kgo.TransactionalID("go-eos-copier"), kgo.ConsumerGroup(group), kgo.ConsumeTopics(in),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DefaultProduceTopic(out),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxBytes(1), kgo.FetchMaxPartitionBytes(1)) // a batch or so per poll
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	aborted, copied, committedParts := false, map[string]bool{}, map[int32]bool{}
	for len(copied) < partitions*perPartition {
		fetches := sess.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("copied %d of %d: %v", len(copied), partitions*perPartition, ctx.Err())
		}
		for _, fe := range fetches.Errors() {
			t.Fatalf("fetch %s[%d]: %v", fe.Topic, fe.Partition, fe.Err)
		}
		if fetches.NumRecords() == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			t.Fatal(err)
		}
		var batch []string
		parts := map[int32]bool{}
		fetches.EachRecord(func(r *kgo.Record) {
			key := copyKey(r)
			batch, parts[r.Partition] = append(batch, key), true
			sess.Produce(ctx, &kgo.Record{Value: []byte(key)}, func(_ *kgo.Record, err error) {
				if err != nil && !errors.Is(err, kgo.ErrAborting) {
					t.Errorf("produce %s: %v", key, err)
				}
			})
		})
		end := kgo.TryCommit
		if !aborted && len(committedParts) == partitions {
			end, aborted = kgo.TryAbort, true
		}
		committed, err := sess.End(ctx, end)
		if err != nil {
			t.Fatalf("end transaction: %v", err)
		}
		if end == kgo.TryCommit && committed {
			for _, k := range batch {
				copied[k] = true
			}
			for p := range parts {
				committedParts[p] = true
			}
		}
	}

	if !aborted {
		t.Fatal("no transaction was aborted: every batch came in before all partitions had a commit")
	}
	var got []string
	for _, r := range consumeAll(ctx, t, w, out, partitions*perPartition, nil,
		kgo.FetchIsolationLevel(kgo.ReadCommitted())) {
		got = append(got, string(r.Value))
	}
	sort.Strings(got)
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("output %s appears twice", got[i])
		}
	}
	for _, k := range got {
		if !copied[k] {
			t.Fatalf("output %s was not committed by the copier (an aborted write is visible)", k)
		}
	}
	committedOffsets(ctx, t, w, group, in, partitions, perPartition)
}

func copyKey(r *kgo.Record) string {
	return string(rune('a'+r.Partition)) + "-" + string(r.Value)
}

// committedOffsets checks the group's committed offset of every partition of topic.
func committedOffsets(ctx context.Context, t *testing.T, w *wren, group, topic string, partitions int32, want int64) {
	t.Helper()
	offsets, err := w.admin(t).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < partitions; p++ {
		if o, ok := offsets.Lookup(topic, p); !ok || o.Err != nil || o.At != want {
			t.Fatalf("group %s offset of %s[%d]: %+v (present %v), want %d", group, topic, p, o, ok, want)
		}
	}
}
