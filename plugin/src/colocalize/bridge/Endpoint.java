package colocalize.bridge;

/**
 * The Python side of the bridge, as seen from Java. In-process (JVM hosted by Python) it is a JPype
 * proxy registered with {@link Registry#setEndpoint}; otherwise {@link Worker} speaks to a Python
 * process.
 */
public interface Endpoint {
    /**
     * Handles one request (DESCRIBE or EXECUTE) and returns its final response (COMPLETION,
     * FAILURE or CANCELATION), reporting progress to {@code listener} on the way.
     *
     * @param request  the request message
     * @param listener progress sink and cancel flag; never null
     * @return the final response message
     * @throws Exception when the Python side cannot be reached or dies
     */
    Message call(Message request, Listener listener) throws Exception;
}
