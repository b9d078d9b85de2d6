package oracle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.record.internal.BaseRecords;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;

/** One connection speaking Kafka's own generated message classes, so encodings are Kafka's. */
final class Wire implements AutoCloseable {
    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private int correlationId;

    Wire(String bootstrap) throws IOException {
        int colon = bootstrap.lastIndexOf(':');
        socket = new Socket();
        socket.connect(new InetSocketAddress(bootstrap.substring(0, colon),
                Integer.parseInt(bootstrap.substring(colon + 1))), 10_000);
        socket.setSoTimeout(60_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /** Sends `request` at `version` and reads its response (never use acks=0 here). */
    ApiMessage send(ApiKeys key, short version, ApiMessage request) throws IOException {
        RequestHeaderData header = new RequestHeaderData()
                .setRequestApiKey(key.id)
                .setRequestApiVersion(version)
                .setCorrelationId(++correlationId)
                .setClientId("wren-oracle");
        short headerVersion = key.requestHeaderVersion(version);
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = header.size(cache, headerVersion) + request.size(cache, version);
        ByteBuffer frame = ByteBuffer.allocate(4 + size);
        frame.putInt(size);
        ByteBufferAccessor writer = new ByteBufferAccessor(frame);
        header.write(writer, cache, headerVersion);
        request.write(writer, cache, version);
        out.write(frame.array());
        out.flush();

        byte[] body = new byte[in.readInt()];
        in.readFully(body);
        ByteBufferAccessor reader = new ByteBufferAccessor(ByteBuffer.wrap(body));
        ResponseHeaderData responseHeader = new ResponseHeaderData(reader, key.responseHeaderVersion(version));
        if (responseHeader.correlationId() != correlationId) {
            throw new IOException("correlation id " + responseHeader.correlationId() + " != " + correlationId);
        }
        ApiMessage response = ApiMessageType.fromApiKey(key.id).newResponse();
        response.read(reader, version);
        return response;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /** The message as Kafka's generated JSON converter writes it (the names of the schema). */
    static JsonNode json(ApiMessage message, short version) {
        try {
            Class<?> converter = Class.forName(message.getClass().getName() + "JsonConverter");
            return (JsonNode) converter.getMethod("write", message.getClass(), short.class)
                    .invoke(null, message, version);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("no JSON converter for " + message.getClass(), e);
        }
    }

    /** Record batches decoded field by field (the JSON converter writes only their size). */
    static ArrayNode batches(BaseRecords records) {
        ArrayNode list = JsonNodeFactory.instance.arrayNode();
        if (!(records instanceof MemoryRecords memory)) {
            return list;
        }
        for (RecordBatch batch : memory.batches()) {
            ObjectNode b = list.addObject();
            b.put("baseOffset", batch.baseOffset());
            b.put("lastOffset", batch.lastOffset());
            b.put("magic", batch.magic());
            b.put("producerId", batch.producerId());
            b.put("producerEpoch", batch.producerEpoch());
            b.put("baseSequence", batch.baseSequence());
            b.put("isTransactional", batch.isTransactional());
            b.put("isControlBatch", batch.isControlBatch());
            b.put("timestampType", batch.timestampType().toString());
            b.put("maxTimestamp", batch.maxTimestamp());
            b.put("compression", batch.compressionType().name);
            ArrayNode recs = b.putArray("records");
            for (Record record : batch) {
                ObjectNode r = recs.addObject();
                r.put("offset", record.offset());
                r.put("timestamp", record.timestamp());
                r.put("key", text(record.key()));
                r.put("value", text(record.value()));
                ArrayNode headers = r.putArray("headers");
                for (Header h : record.headers()) {
                    headers.addObject().put("key", h.key()).put("value", h.value() == null ? null
                            : new String(h.value(), StandardCharsets.UTF_8));
                }
            }
        }
        return list;
    }

    private static String text(ByteBuffer buffer) {
        if (buffer == null) {
            return null;
        }
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }
}
