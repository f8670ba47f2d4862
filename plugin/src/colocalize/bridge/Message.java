package colocalize.bridge;

import java.nio.ByteBuffer;

/**
 * One protocol message: a JSON object (as text) plus the binary buffers its arrays refer to
 * ({@code {"buffer": i, "dtype": "<u2", "shape": [..]}} points at {@code buffers()[i]}).
 * Immutable apart from the buffers' contents.
 */
public final class Message {
    private final String json;
    private final ByteBuffer[] buffers;

    /**
     * @param json    a JSON object
     * @param buffers the buffers its arrays index (none for a message without arrays)
     */
    public Message(String json, ByteBuffer... buffers) {
        if (json == null) {
            throw new IllegalArgumentException("Message json is null");
        }
        this.json = json;
        this.buffers = buffers == null ? new ByteBuffer[0] : buffers.clone();
    }

    /** The JSON object, as text. */
    public String json() {
        return json;
    }

    /** The buffers (a copy of the array; the buffers themselves are shared). */
    public ByteBuffer[] buffers() {
        return buffers.clone();
    }

    /** How many buffers this message carries. */
    public int bufferCount() {
        return buffers.length;
    }

    /** Buffer {@code i}. */
    public ByteBuffer buffer(int i) {
        return buffers[i];
    }
}
