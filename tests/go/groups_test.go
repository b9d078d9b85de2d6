package wrentest

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// member is one group consumer polling in the background and committing what it polled.
type member struct {
	cl   *kgo.Client
	mu   sync.Mutex
	seen map[int32][]int64 // offsets polled, per partition
	err  error
	done chan struct{}
}

func joinGroup(ctx context.Context, t *testing.T, w *wren, group, topic string) *member {
	m := &member{seen: map[int32][]int64{}, done: make(chan struct{})}
	m.cl = w.client(t, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	go func() {
		defer close(m.done)
		for {
			fetches := m.cl.PollFetches(ctx)
			if fetches.IsClientClosed() || ctx.Err() != nil {
				return
			}
			var records []*kgo.Record
			fetches.EachRecord(func(r *kgo.Record) { records = append(records, r) })
			m.mu.Lock()
			for _, fe := range fetches.Errors() {
				m.err = fe.Err
			}
			for _, r := range records {
				m.seen[r.Partition] = append(m.seen[r.Partition], r.Offset)
			}
			m.mu.Unlock()
			if err := m.cl.CommitRecords(ctx, records...); err != nil && ctx.Err() == nil {
				m.mu.Lock()
				m.err = err
				m.mu.Unlock()
			}
		}
	}()
	return m
}

// leave closes the client (leaving the group) and waits for its poll loop.
func (m *member) leave() {
	m.cl.Close()
	<-m.done
}

func (m *member) polled() (map[int32][]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int32][]int64{}
	for p, offs := range m.seen {
		out[p] = append([]int64(nil), offs...)
	}
	return out, m.err
}

// waitFor polls cond every 100 ms until it holds or ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// assignment describes group and returns each member's assigned partitions of topic, once the
// group is stable with `members` members.
func assignment(ctx context.Context, adm *kadm.Client, group, topic string, members int) map[string][]int32 {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return nil
	}
	g := described[group]
	if g.Err != nil || g.State != "Stable" || len(g.Members) != members {
		return nil
	}
	out := map[string][]int32{}
	for _, mem := range g.Members {
		a, ok := mem.Assigned.AsConsumer()
		if !ok {
			return nil
		}
		for _, tp := range a.Topics {
			if tp.Topic == topic {
				out[mem.MemberID] = append(out[mem.MemberID], tp.Partitions...)
			}
		}
	}
	return out
}

func produceN(ctx context.Context, t *testing.T, w *wren, topic string, partitions int32, perPartition int) {
	t.Helper()
	cl := w.client(t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var rs []*kgo.Record
	for i := 0; i < perPartition; i++ {
		for p := int32(0); p < partitions; p++ {
			rs = append(rs, &kgo.Record{Partition: p, Value: value(i)})
		}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// Two members of one group split the partitions between them (disjoint, covering all), each
// consumes only its own partitions and commits; after both leave, a new member resumes from
// the committed offsets and reads only what was produced since.
func TestGroupMembersSharePartitionsAndResumeFromCommits(t *testing.T) {
	const topic, group, partitions, perPartition = "go-group", "go-group-g", 4, 50
	w := startWren(t)
	w.createTopic(t, topic, partitions)
	ctx := testCtx(t, 120*time.Second)
	adm := w.admin(t)

	a := joinGroup(ctx, t, w, group, topic)
	b := joinGroup(ctx, t, w, group, topic)
	var split map[string][]int32
	waitFor(ctx, t, "two members with two partitions each", func() bool {
		split = assignment(ctx, adm, group, topic, 2)
		if len(split) != 2 {
			return false
		}
		for _, ps := range split {
			if len(ps) != partitions/2 {
				return false
			}
		}
		return true
	})
	var all []int32
	for _, ps := range split {
		all = append(all, ps...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	for i, p := range all {
		if p != int32(i) {
			t.Fatalf("the members' partitions %v do not cover 0..%d once each", split, partitions-1)
		}
	}

	produceN(ctx, t, w, topic, partitions, perPartition)
	waitFor(ctx, t, "every record polled and committed", func() bool {
		committed, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return false
		}
		for p := int32(0); p < partitions; p++ {
			if o, ok := committed.Lookup(topic, p); !ok || o.At != perPartition {
				return false
			}
		}
		return true
	})
	seenA, errA := a.polled()
	seenB, errB := b.polled()
	if errA != nil || errB != nil {
		t.Fatalf("member errors: %v, %v", errA, errB)
	}
	if len(seenA) != partitions/2 || len(seenB) != partitions/2 {
		t.Fatalf("members polled partitions %v and %v, want two each", keys(seenA), keys(seenB))
	}
	for p := int32(0); p < partitions; p++ {
		offs, inA := seenA[p]
		if _, inB := seenB[p]; inA == inB {
			t.Fatalf("partition %d polled by both members or by neither", p)
		}
		if !inA {
			offs = seenB[p]
		}
		for i, o := range offs {
			if o != int64(i) || len(offs) != perPartition {
				t.Fatalf("partition %d polled offsets %v, want 0..%d once each", p, offs, perPartition-1)
			}
		}
	}
	a.leave()
	b.leave()

	produceN(ctx, t, w, topic, partitions, perPartition)
	c := joinGroup(ctx, t, w, group, topic)
	waitFor(ctx, t, "the new member to poll the second batch", func() bool {
		seen, _ := c.polled()
		n := 0
		for _, offs := range seen {
			n += len(offs)
		}
		return n >= partitions*perPartition
	})
	seenC, errC := c.polled()
	if errC != nil {
		t.Fatal(errC)
	}
	for p := int32(0); p < partitions; p++ {
		offs := seenC[p]
		if len(offs) != perPartition || offs[0] != perPartition {
			t.Fatalf("resumed member polled %v from partition %d, want offsets %d..%d",
				offs, p, perPartition, 2*perPartition-1)
		}
	}
}

func keys(m map[int32][]int64) []int32 {
	var ks []int32
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}
