package wrentest

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kadm: create topics (and the error for one that exists), list them, list start and end
// offsets, and describe a group with a committed offset.
func TestAdminCreatesTopicsListsOffsetsDescribesGroups(t *testing.T) {
	w := startWren(t)
	ctx := testCtx(t, 60*time.Second)
	adm := w.admin(t)

	retention := "3600000"
	created, err := adm.CreateTopics(ctx, 3, 1, map[string]*string{"retention.ms": &retention},
		"go-admin-a", "go-admin-b")
	if err != nil || created.Error() != nil {
		t.Fatalf("create topics: %v %v", err, created.Error())
	}
	for _, name := range []string{"go-admin-a", "go-admin-b"} {
		if c := created[name]; c.NumPartitions != 3 || c.ReplicationFactor != 1 || c.ID == (kadm.TopicID{}) {
			t.Fatalf("created %s: %+v", name, c)
		}
	}
	again, err := adm.CreateTopics(ctx, 3, 1, nil, "go-admin-a")
	if err != nil || !errors.Is(again["go-admin-a"].Err, kerr.TopicAlreadyExists) {
		t.Fatalf("creating an existing topic: %v %+v, want TOPIC_ALREADY_EXISTS", err, again)
	}
	bad, err := adm.CreateTopics(ctx, 1, 1, nil, "bad/name")
	if err != nil || !errors.Is(bad["bad/name"].Err, kerr.InvalidTopicException) {
		t.Fatalf("creating bad/name: %v %+v, want INVALID_TOPIC_EXCEPTION", err, bad)
	}

	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"go-admin-a", "go-admin-b"} {
		d, ok := topics[name]
		if !ok || d.Err != nil || len(d.Partitions) != 3 {
			t.Fatalf("listed %s: %+v (present %v)", name, d, ok)
		}
		for _, p := range d.Partitions {
			if p.Err != nil || len(p.Replicas) != 1 || p.Leader != p.Replicas[0] {
				t.Fatalf("%s[%d]: %+v", name, p.Partition, p)
			}
		}
	}
	configs, err := adm.DescribeTopicConfigs(ctx, "go-admin-a")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := configs.On("go-admin-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range rc.Configs {
		if c.Key == "retention.ms" {
			found = c.MaybeValue() == retention
		}
	}
	if !found {
		t.Fatalf("retention.ms of go-admin-a is not %s: %+v", retention, rc.Configs)
	}

	produceN(ctx, t, w, "go-admin-a", 3, 7)
	start, err := adm.ListStartOffsets(ctx, "go-admin-a")
	if err != nil {
		t.Fatal(err)
	}
	end, err := adm.ListEndOffsets(ctx, "go-admin-a")
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 3; p++ {
		s, _ := start.Lookup("go-admin-a", p)
		e, _ := end.Lookup("go-admin-a", p)
		if s.Err != nil || e.Err != nil || s.Offset != 0 || e.Offset != 7 {
			t.Fatalf("partition %d: start %+v end %+v, want 0 and 7", p, s, e)
		}
	}

	// A group member commits offset 5 of partition 1, then stays in the group to be described.
	const group = "go-admin-g"
	consumer := w.client(t, kgo.ConsumerGroup(group), kgo.ConsumeTopics("go-admin-a"),
		kgo.DisableAutoCommit(), kgo.ClientID("go-admin-consumer"))
	waitFor(ctx, t, "a stable group", func() bool {
		consumer.PollFetches(testCtx(t, 200*time.Millisecond))
		d, err := adm.DescribeGroups(ctx, group)
		return err == nil && d[group].State == "Stable"
	})
	var commitErr error
	consumer.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{
		"go-admin-a": {1: {Epoch: -1, Offset: 5}}},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			commitErr = err
			if resp == nil {
				return
			}
			for _, tp := range resp.Topics {
				for _, p := range tp.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						commitErr = err
					}
				}
			}
		})
	if commitErr != nil {
		t.Fatalf("commit: %v", commitErr)
	}

	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	g := described[group]
	if g.Err != nil || g.State != "Stable" || g.ProtocolType != "consumer" || len(g.Members) != 1 {
		t.Fatalf("described group: %+v", g)
	}
	if m := g.Members[0]; m.ClientID != "go-admin-consumer" || m.ClientHost == "" {
		t.Fatalf("member: %+v", m)
	}
	if a, ok := g.Members[0].Assigned.AsConsumer(); !ok || len(a.Topics) != 1 || len(a.Topics[0].Partitions) != 3 {
		t.Fatalf("member assignment: %+v", a)
	}
	offsets, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offsets.Lookup("go-admin-a", 1); !ok || o.Err != nil || o.At != 5 {
		t.Fatalf("committed offset of partition 1: %+v (present %v), want 5", o, ok)
	}
	lag, err := adm.Lag(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := lag[group].Lag.Lookup("go-admin-a", 1); !ok || l.Lag != 2 {
		t.Fatalf("lag of partition 1: %+v, want 2", l)
	}
	listed, err := adm.ListGroups(ctx)
	if err != nil || len(listed.Groups()) != 1 || listed.Groups()[0] != group {
		t.Fatalf("listed groups: %v %v", listed.Groups(), err)
	}

	deleted, err := adm.DeleteTopics(ctx, "go-admin-b")
	if err != nil || deleted.Error() != nil {
		t.Fatalf("delete topic: %v %v", err, deleted.Error())
	}
	// A new client: kgo keeps the metadata of admin requests up to MetadataMinAge (5 s).
	topics, err = w.admin(t).ListTopics(ctx)
	if err != nil || topics.Has("go-admin-b") || !topics.Has("go-admin-a") {
		t.Fatalf("topics after the deletion: %v %v", topics.Names(), err)
	}
}
