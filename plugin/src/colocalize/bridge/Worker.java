package colocalize.bridge;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.RandomAccessFile;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Date;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The out-of-process transport: a persistent Python worker ({@code python -m
 * colocalize.imagej._worker}) spoken to in JSON lines over its stdin/stdout, with pixel buffers in
 * memory-mapped files of a per-session temporary folder (see docs/bridge-protocol.md).
 *
 * <p>The worker starts on the first call, is reused, restarts after it died, and stops when the JVM
 * exits (shutdown hook; it also exits when its stdin closes). Its stderr goes to a log file whose
 * path every error message names. Calls are serialised.
 */
public final class Worker implements Endpoint, Inputs.Allocator {
    private static final long READY_TIMEOUT_MS = 60000;
    private static final long CANCEL_GRACE_MS = 3000;
    private static final long POLL_MS = 50;
    private static final long POOL_BYTES = 512L << 20;
    private static final Object EOF = new Object();
    private static Worker shared;
    private static boolean hookInstalled;
    private static volatile boolean anyFailure;

    private final PythonFinder.Found python;
    private final File session;
    private final File log;
    private final Map<ByteBuffer, File> allocated = new IdentityHashMap<ByteBuffer, File>();
    private final List<MappedByteBuffer> idle = new ArrayList<MappedByteBuffer>();
    private volatile Process process;
    private Writer stdin;
    private BlockingQueue<Object> lines;
    private String workerPid = "";
    private int tasks;
    private int files;

    private Worker(PythonFinder.Found python) throws IOException {
        this.python = python;
        this.session = Files.createTempDirectory("colocalize-session-").toFile();
        this.log = new File(System.getProperty("java.io.tmpdir"),
                "colocalize-worker-" + jvmId() + ".log");
    }

    /**
     * The worker of this ImageJ session for the Python {@link PythonFinder} finds now (a new one
     * when that Python changed since the last call).
     */
    public static synchronized Worker shared() throws BridgeException {
        PythonFinder.Found found = PythonFinder.find();
        if (shared != null && !shared.python.equals(found)) {
            shared.stop();
            shared = null;
        }
        if (shared == null) {
            try {
                shared = new Worker(found);
            } catch (IOException e) {
                throw new BridgeException("Cannot create a temporary folder for the Python worker: "
                        + e.getMessage());
            }
            if (!hookInstalled) {
                Runtime.getRuntime().addShutdownHook(new Thread(Worker::shutdown, "colocalize-worker-stop"));
                hookInstalled = true;
            }
        }
        return shared;
    }

    /** Stops the session's worker (if any) and deletes its temporary files. */
    public static synchronized void stopShared() {
        if (shared != null) {
            shared.stop();
            shared = null;
        }
    }

    private static void shutdown() {
        File log = shared == null ? null : shared.log;
        stopShared();
        if (log != null && !anyFailure) {
            log.delete();
        }
    }

    /**
     * The process id of the session's running worker as text, "" when none runs (for macros:
     * {@code call("colocalize.bridge.Worker.pid")}).
     */
    public static synchronized String pid() {
        if (shared == null || shared.process == null || !shared.process.isAlive()) {
            return "";
        }
        return shared.workerPid;
    }

    /**
     * A buffer backed by a memory-mapped file in the session folder (a file of the same size kept
     * from an earlier call, or a new one), sent without a copy.
     */
    @Override
    public synchronized ByteBuffer allocate(long bytes) throws IOException {
        if (bytes > Integer.MAX_VALUE) {
            throw new IOException("an input of " + bytes + " bytes is over the 2 GiB buffer limit");
        }
        for (Iterator<MappedByteBuffer> it = idle.iterator(); it.hasNext();) {
            MappedByteBuffer buffer = it.next();
            if (buffer.capacity() == bytes) {
                it.remove();
                buffer.clear();
                return buffer;
            }
        }
        File file = new File(session, "q" + (++files) + ".bin");
        try (RandomAccessFile raf = new RandomAccessFile(file, "rw")) {
            raf.setLength(bytes);
            MappedByteBuffer buffer = raf.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, bytes);
            buffer.order(ByteOrder.LITTLE_ENDIAN);
            allocated.put(buffer, file);
            return buffer;
        }
    }

    /**
     * Sends a request to the worker (starting it if needed) and waits for its final response;
     * progress goes to {@code listener}; a cancel request is sent once {@code listener.cancelled()},
     * and the worker is killed (restarted by the next call) when it does not stop within 3 s.
     */
    @Override
    public synchronized Message call(Message request, Listener listener) throws Exception {
        List<ByteBuffer> sent = new ArrayList<ByteBuffer>();
        try {
            Map<String, Object> json = Json.parseObject(request.json());
            String task = String.valueOf(++tasks);
            json.put("task", task);
            List<Object> refs = new ArrayList<Object>();
            for (int i = 0; i < request.bufferCount(); i++) {
                ByteBuffer mapped = mapped(request.buffer(i));
                sent.add(mapped);
                refs.add(Json.obj("path", allocated.get(mapped).getPath(), "size", mapped.capacity()));
            }
            if (!refs.isEmpty()) {
                json.put("buffers", refs);
            }
            ensureRunning();
            send(Json.write(json));
            return await(task, listener);
        } finally {
            release(sent);
        }
    }

    /** {@code buffer} itself when it is one of this worker's files, else a file-backed copy. */
    private ByteBuffer mapped(ByteBuffer buffer) throws IOException {
        if (allocated.containsKey(buffer)) {
            return buffer;
        }
        ByteBuffer copy = allocate(buffer.remaining());
        copy.put(buffer.duplicate());
        return copy;
    }

    /** Keeps used files for reuse (no new pages next call) up to {@value #POOL_BYTES} bytes. */
    private void release(List<ByteBuffer> used) {
        long pooled = 0;
        for (MappedByteBuffer buffer : idle) {
            pooled += buffer.capacity();
        }
        for (ByteBuffer buffer : used) {
            if (pooled + buffer.capacity() <= POOL_BYTES) {
                idle.add((MappedByteBuffer) buffer);
                pooled += buffer.capacity();
            } else {
                allocated.remove(buffer).delete();
            }
        }
    }

    private Message await(String task, Listener listener) throws Exception {
        long cancelSent = -1;
        while (true) {
            if (cancelSent < 0 && listener.cancelled()) {
                send(Json.write(Json.obj("task", task, "requestType", "CANCEL")));
                cancelSent = System.currentTimeMillis();
            } else if (cancelSent >= 0 && System.currentTimeMillis() - cancelSent > CANCEL_GRACE_MS) {
                logLine("no CANCELATION within " + CANCEL_GRACE_MS + " ms: worker killed");
                kill();
                return new Message(Json.write(Json.obj("task", task, "responseType", "CANCELATION")));
            }
            Object line = lines.poll(POLL_MS, TimeUnit.MILLISECONDS);
            if (line == null) {
                continue;
            }
            if (line == EOF) {
                int code = exitCode();
                anyFailure = true;
                process = null;
                throw new BridgeException("The Python worker stopped during the command (exit code "
                        + code + "); the next run starts a new one. Details: " + log);
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> response = (Map<String, Object>) line;
            Object id = response.get("task");
            if (id != null && !task.equals(id.toString())) {
                continue; // a late answer to an earlier, abandoned call
            }
            if ("UPDATE".equals(response.get("responseType"))) {
                listener.update(Json.write(response));
                continue;
            }
            if ("FAILURE".equals(response.get("responseType"))) {
                anyFailure = true;
                String detail = Json.string(response, "detail", null);
                if (detail != null && !detail.isEmpty()) {
                    logLine("FAILURE of task " + task + ":\n" + detail);
                    String error = Json.string(response, "error", "");
                    if (error.startsWith("internal error")) {
                        response.put("error", error + " Details: " + log);
                    }
                }
            }
            return receive(response);
        }
    }

    private Message receive(Map<String, Object> response) throws IOException {
        List<Map<String, Object>> refs = Json.objects(response, "buffers");
        ByteBuffer[] buffers = new ByteBuffer[refs.size()];
        for (int i = 0; i < buffers.length; i++) {
            File file = new File(Json.string(refs.get(i), "path", ""));
            try (RandomAccessFile raf = new RandomAccessFile(file, "r")) {
                long size = (long) Json.number(refs.get(i), "size", raf.length());
                buffers[i] = raf.getChannel().map(FileChannel.MapMode.READ_ONLY, 0, size)
                        .order(ByteOrder.LITTLE_ENDIAN);
            }
            if (!file.delete()) {
                file.deleteOnExit();
            }
        }
        response.remove("buffers");
        return new Message(Json.write(response), buffers);
    }

    private void ensureRunning() throws BridgeException {
        if (process != null && process.isAlive()) {
            return;
        }
        List<String> command = new ArrayList<String>(python.command);
        command.add("--buffer-dir");
        command.add(session.getPath());
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("PYTHONIOENCODING", "utf-8");
        builder.environment().put("PYTHONUNBUFFERED", "1");
        builder.redirectError(ProcessBuilder.Redirect.appendTo(log));
        logLine("starting " + String.join(" ", command) + " (from " + python.source + ")");
        try {
            process = builder.start();
        } catch (IOException e) {
            anyFailure = true;
            throw new BridgeException(PythonFinder.installInstructions("Cannot run " + python.executable
                    + " (from " + python.source + "): " + e.getMessage() + "."));
        }
        stdin = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
        lines = new LinkedBlockingQueue<Object>();
        Thread reader = new Thread(new Reader(process, lines), "colocalize-worker-reader");
        reader.setDaemon(true);
        reader.start();
        handshake();
    }

    private void handshake() throws BridgeException {
        Object line;
        try {
            line = lines.poll(READY_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            line = null;
        }
        if (line == null) {
            kill();
            anyFailure = true;
            throw new BridgeException("The Python worker (" + python.executable + ") did not start within "
                    + READY_TIMEOUT_MS / 1000 + " s. Details: " + log);
        }
        if (line == EOF) {
            int code = exitCode();
            process = null;
            anyFailure = true;
            throw new BridgeException(startFailure(code));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> ready = (Map<String, Object>) line;
        if (!"READY".equals(ready.get("responseType"))) {
            kill();
            anyFailure = true;
            throw new BridgeException("The Python worker (" + python.executable
                    + ") did not answer READY but: " + Json.write(ready) + ". Details: " + log);
        }
        workerPid = Long.toString((long) Json.number(ready, "pid", -1));
        logLine("worker ready: colocalize " + Json.string(ready, "version", "?") + ", pid " + workerPid);
    }

    private String startFailure(int code) {
        String last = "";
        boolean noModule = false;
        try {
            List<String> text = Files.readAllLines(log.toPath(), StandardCharsets.UTF_8);
            for (int i = text.size() - 1; i >= 0 && i >= text.size() - 30; i--) {
                String s = text.get(i).trim();
                if (s.startsWith("[colocalize-bridge]")) {
                    break;
                }
                if (last.isEmpty() && !s.isEmpty()) {
                    last = s;
                }
                noModule |= s.contains("No module named") && s.contains("colocalize");
            }
        } catch (IOException e) {
            last = "(log unreadable: " + e.getMessage() + ")";
        }
        if (noModule) {
            return "The Python " + python.executable + " (from " + python.source
                    + ") does not have colocalize installed (" + last + "). Install it there:\n"
                    + "    " + python.executable + " -m pip install colocalize\n"
                    + "or choose another Python with Analyze > Colocalization > Coloc Setup...";
        }
        return "The Python worker (" + python.executable + ", from " + python.source
                + ") stopped while starting (exit code " + code + "): " + last + ". Details: " + log;
    }

    private void send(String line) throws BridgeException {
        try {
            stdin.write(line);
            stdin.write('\n');
            stdin.flush();
        } catch (IOException e) {
            int code = exitCode();
            process = null;
            anyFailure = true;
            throw new BridgeException("The Python worker stopped (exit code " + code
                    + "); the next run starts a new one. Details: " + log);
        }
    }

    private int exitCode() {
        Process running = process;
        if (running == null) {
            return -1;
        }
        try {
            return running.waitFor(2, TimeUnit.SECONDS) ? running.exitValue() : -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private void kill() {
        Process running = process;
        process = null;
        if (running != null) {
            running.destroyForcibly();
        }
    }

    /**
     * Ends the worker (closing its stdin, then killing it after 2 s) and deletes the session
     * folder. Not synchronized: it must not wait for a running call, which then fails.
     */
    private void stop() {
        Process running = process;
        if (running != null) {
            try {
                running.getOutputStream().close();
                if (!running.waitFor(2, TimeUnit.SECONDS)) {
                    running.destroyForcibly();
                }
            } catch (IOException | InterruptedException e) {
                running.destroyForcibly();
            }
            process = null;
        }
        File[] left = session.listFiles();
        if (left != null) {
            for (File file : left) {
                file.delete();
            }
        }
        session.delete();
    }

    private void logLine(String text) {
        try (Writer out = new OutputStreamWriter(new FileOutputStream(log, true), StandardCharsets.UTF_8)) {
            out.write("[colocalize-bridge] " + new Date() + ": " + text + "\n");
        } catch (IOException e) {
            // the log is best effort; the error messages themselves reach the user
        }
    }

    private static String jvmId() {
        String name = ManagementFactory.getRuntimeMXBean().getName();
        int at = name.indexOf('@');
        return at > 0 ? name.substring(0, at) : Long.toString(System.nanoTime());
    }

    /** Parses the worker's stdout lines into a queue of JSON objects; other lines go to the log. */
    private final class Reader implements Runnable {
        private final Process source;
        private final BlockingQueue<Object> sink;

        Reader(Process source, BlockingQueue<Object> sink) {
            this.source = source;
            this.sink = sink;
        }

        @Override
        public void run() {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(source.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    try {
                        sink.add(Json.parseObject(line));
                    } catch (IllegalArgumentException e) {
                        if (!line.trim().isEmpty()) {
                            logLine("worker stdout (not a message): " + line);
                        }
                    }
                }
            } catch (IOException e) {
                logLine("reading the worker failed: " + e);
            }
            sink.add(EOF);
        }
    }
}
