package oracle;

import java.io.IOException;
import java.util.List;
import org.apache.kafka.common.message.CreatePartitionsRequestData;
import org.apache.kafka.common.message.CreatePartitionsRequestData.CreatePartitionsTopic;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.DescribeClusterRequestData;
import org.apache.kafka.common.message.DescribeProducersRequestData;
import org.apache.kafka.common.message.DescribeTransactionsRequestData;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterConfigsResource;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterableConfig;
import org.apache.kafka.common.message.ListGroupsRequestData;
import org.apache.kafka.common.message.ListTransactionsRequestData;
import org.apache.kafka.common.protocol.ApiKeys;

/** Admin APIs: partitions, config changes, cluster, groups and transactions listings. */
final class Admin {
    static void run(Session s) throws IOException {
        if (s.supports(ApiKeys.CREATE_PARTITIONS)) {
            createPartitions(s, "create-partitions", Scenario.B, 2, false);
            createPartitions(s, "create-partitions-fewer", Scenario.B, 1, false);
            createPartitions(s, "create-partitions-same", Scenario.B, 2, false);
            createPartitions(s, "create-partitions-unknown-topic", "oracle-nope", 3, false);
            createPartitions(s, "create-partitions-validate-only", Scenario.B, 5, true);
            Scenario.waitForTopics(s, Scenario.B);
        }
        if (s.supports(ApiKeys.INCREMENTAL_ALTER_CONFIGS)) {
            alterConfigs(s, "incremental-alter-configs", Scenario.B, "retention.ms", (byte) 0, "7200000");
            alterConfigs(s, "incremental-alter-configs-delete", Scenario.B, "max.message.bytes", (byte) 1, null);
            alterConfigs(s, "incremental-alter-configs-bad-value", Scenario.B, "retention.ms", (byte) 0, "later");
            alterConfigs(s, "incremental-alter-configs-unknown-key", Scenario.B, "no.such.config", (byte) 0, "1");
            alterConfigs(s, "incremental-alter-configs-unknown-topic", "oracle-nope", "retention.ms", (byte) 0, "1");
        }
        if (s.supports(ApiKeys.DESCRIBE_CLUSTER)) {
            s.call("describe-cluster", ApiKeys.DESCRIBE_CLUSTER, new DescribeClusterRequestData());
        }
        if (s.supports(ApiKeys.LIST_GROUPS)) {
            s.call("list-groups", ApiKeys.LIST_GROUPS, new ListGroupsRequestData());
        }
        if (s.supports(ApiKeys.DESCRIBE_PRODUCERS)) {
            DescribeProducersRequestData request = new DescribeProducersRequestData();
            request.topics().add(new DescribeProducersRequestData.TopicRequest().setName(Scenario.TXN)
                    .setPartitionIndexes(List.of(0, 1, 7)));
            request.topics().add(new DescribeProducersRequestData.TopicRequest().setName("oracle-nope")
                    .setPartitionIndexes(List.of(0)));
            s.call("describe-producers", ApiKeys.DESCRIBE_PRODUCERS, request);
        }
        if (s.supports(ApiKeys.LIST_TRANSACTIONS)) {
            s.call("list-transactions", ApiKeys.LIST_TRANSACTIONS, new ListTransactionsRequestData());
        }
        if (s.supports(ApiKeys.DESCRIBE_TRANSACTIONS)) {
            s.call("describe-transactions", ApiKeys.DESCRIBE_TRANSACTIONS, new DescribeTransactionsRequestData()
                    .setTransactionalIds(List.of(Producers.TXN_ID, "oracle-no-txn")));
        }
    }

    /** After the group protocol steps: the group is empty, another one never existed. */
    static void deleteGroups(Session s) throws IOException {
        if (s.supports(ApiKeys.DELETE_GROUPS)) {
            s.call("delete-groups", ApiKeys.DELETE_GROUPS, new DeleteGroupsRequestData()
                    .setGroupsNames(List.of("oracle-no-group")));
        }
    }

    static void createPartitions(Session s, String step, String topic, int count, boolean validateOnly)
            throws IOException {
        CreatePartitionsRequestData request = new CreatePartitionsRequestData().setTimeoutMs(30_000)
                .setValidateOnly(validateOnly);
        request.topics().add(new CreatePartitionsTopic().setName(topic).setCount(count).setAssignments(null));
        s.call(step, ApiKeys.CREATE_PARTITIONS, request);
    }

    static void alterConfigs(Session s, String step, String topic, String key, byte operation, String value)
            throws IOException {
        IncrementalAlterConfigsRequestData request = new IncrementalAlterConfigsRequestData();
        AlterConfigsResource resource = new AlterConfigsResource().setResourceType((byte) 2).setResourceName(topic);
        resource.configs().add(new AlterableConfig().setName(key).setConfigOperation(operation).setValue(value));
        request.resources().add(resource);
        s.call(step, ApiKeys.INCREMENTAL_ALTER_CONFIGS, request);
    }

    private Admin() {}
}
