package wrentest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// An idempotent producer whose Produce answers get lost still writes every record once, in
// order: Wren drops the answer to two Produce requests (after handling them), the client
// reconnects and resends the same batches, and the broker recognises the sequence numbers.
func TestIdempotentProducerWritesEveryRecordOnceInOrder(t *testing.T) {
	const topic, partitions, n = "go-idempotent", 3, 3000
	fault := fmt.Sprintf(`{"api":"Produce","topic":%q,"action":"drop_response","after":2,"count":2}`, topic)
	w := startWren(t, "--fault", fault, "--control", "0")
	w.createTopic(t, topic, partitions)
	ctx := testCtx(t, 90*time.Second)

	producer := w.client(t, kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(2*time.Millisecond),
		kgo.MaxBufferedRecords(200), // many small batches, so the dropped answers hit mid-stream
		// After a broken connection the client resends once metadata is refreshed, which it
		// does at most every MetadataMinAge (5 s by default).
		kgo.MetadataMinAge(100*time.Millisecond))
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		r := &kgo.Record{Partition: int32(i % partitions), Value: value(i)}
		producer.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				errs <- err
			}
		})
	}
	if err := producer.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Fatalf("produce: %v", err)
	}
	id, epoch, err := producer.ProducerID(ctx)
	if err != nil || id < 0 || epoch < 0 {
		t.Fatalf("the producer has no producer id: id %d epoch %d err %v", id, epoch, err)
	}

	if fired := w.faultsFired(t); len(fired) != 1 || fired[0] != 2 {
		t.Fatalf("the drop_response rule fired %v times, want [2]", fired)
	}

	got := consumeAll(ctx, t, w, topic, n, nil)
	// Wait briefly for anything beyond n: a duplicate would show up as an extra record.
	extraCtx := testCtx(t, 2*time.Second)
	extra := w.client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	total := 0
	for extraCtx.Err() == nil && total <= n {
		extra.PollFetches(extraCtx).EachRecord(func(*kgo.Record) { total++ })
	}
	if total != n {
		t.Fatalf("the topic holds %d records, want %d (duplicates or losses)", total, n)
	}
	next := make([]int, partitions) // the next index expected per partition
	for p := range next {
		next[p] = p
	}
	for _, r := range got {
		p := r.Partition
		if want := value(next[p]); !bytes.Equal(r.Value, want) {
			t.Fatalf("partition %d offset %d: value %s, want %s", p, r.Offset, r.Value, want)
		}
		if r.ProducerID != id {
			t.Fatalf("record %s: producer id %d, want %d", r.Value, r.ProducerID, id)
		}
		next[p] += partitions
	}
	for p, nx := range next {
		if nx < n {
			t.Errorf("partition %d ends before index %d", p, nx)
		}
	}
}
