import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.Security;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.bouncycastle.jce.provider.BouncyCastleProvider;

/** osm-bc-harness: the suite's BouncyCastle engine, one program with two modes.
 *
 * Run with an argv (`sign ...`, `encrypt ...`, `decrypt ...`, `verify ...`, `version`)
 * it does one call and exits with its code: the command line an auditor replays.
 * Run with `--serve` it speaks osm-harness/1 (JSON lines on stdin/stdout) and answers
 * the same argv without a JVM start per call. Both modes go through {@link #call}. */
public final class OsmBcHarness {
    static final String PROTOCOL = "osm-harness/1";

    private OsmBcHarness() {
    }

    public static void main(String[] args) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        SmimeOps.init();
        if (args.length == 1 && args[0].equals("--serve")) {
            System.exit(serve());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = call(args, new byte[0], new File("."), out, err);
        System.out.write(out.toByteArray());
        System.out.flush();
        System.err.write(err.toByteArray());
        System.err.flush();
        System.exit(code);
    }

    /** One call: what the command line with `argv` does, its words in out and err. */
    static int call(String[] argv, byte[] stdin, File cwd, ByteArrayOutputStream out,
            ByteArrayOutputStream err) {
        PrintStream errs = new PrintStream(err, true, StandardCharsets.UTF_8);
        try {
            if (argv.length == 0) {
                errs.println("osm-bc: usage: osm-bc-harness sign|encrypt|decrypt|verify|version ...");
                return SmimeOps.EXIT_USAGE;
            }
            Args a = new Args(argv, cwd);
            return SmimeOps.run(a, out, errs);
        } catch (Args.Bad e) {
            errs.println("osm-bc: " + e.getMessage());
            return SmimeOps.EXIT_USAGE;
        } catch (Exception | StackOverflowError | OutOfMemoryError e) {
            // Anything the engine threw that the operation did not classify: its words kept.
            errs.println("osm-bc: " + argv[0] + ": unexpected " + SmimeOps.describe(e));
            return SmimeOps.EXIT_INTERNAL;
        }
    }

    /** The osm-harness/1 loop. Anything the library prints is sent to stderr, since
     * stdout carries the protocol. */
    static int serve() throws Exception {
        PrintStream protocol = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false,
                StandardCharsets.UTF_8);
        System.setOut(System.err);
        protocol.print("{\"protocol\":" + Json.quote(PROTOCOL) + ",\"implementation\":\"bouncycastle\","
                + "\"version\":" + Json.quote(SmimeOps.version()) + "}\n");
        protocol.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        Base64.Encoder b64 = Base64.getEncoder();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            Object id = null;
            String[] argv;
            byte[] stdin;
            File cwd;
            try {
                Object parsed = Json.parse(line);
                if (!(parsed instanceof Map)) {
                    throw new IllegalArgumentException("a request is a JSON object");
                }
                Map<?, ?> req = (Map<?, ?>) parsed;
                id = req.get("id");
                if (!(id instanceof Long)) {
                    id = null;
                    throw new IllegalArgumentException("the request has no integer id");
                }
                Object av = req.get("argv");
                if (!(av instanceof List)) {
                    throw new IllegalArgumentException("argv is not a list");
                }
                List<String> words = new ArrayList<>();
                for (Object w : (List<?>) av) {
                    if (!(w instanceof String)) {
                        throw new IllegalArgumentException("argv holds a non-string");
                    }
                    words.add((String) w);
                }
                argv = words.toArray(new String[0]);
                Object si = req.get("stdin");
                stdin = si instanceof String ? Base64.getDecoder().decode((String) si) : new byte[0];
                Object cw = req.get("cwd");
                cwd = cw instanceof String ? new File((String) cw) : new File(".");
            } catch (IllegalArgumentException e) {
                String message = "osm-bc: bad request: " + e.getMessage() + "\n";
                protocol.print("{\"id\":" + (id == null ? "null" : id) + ",\"exit\":2,\"stdout\":\"\",\"stderr\":"
                        + Json.quote(b64.encodeToString(message.getBytes(StandardCharsets.UTF_8))) + "}\n");
                protocol.flush();
                continue;
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = call(argv, stdin, cwd, out, err);
            protocol.print("{\"id\":" + id + ",\"exit\":" + code + ",\"stdout\":"
                    + Json.quote(b64.encodeToString(out.toByteArray())) + ",\"stderr\":"
                    + Json.quote(b64.encodeToString(err.toByteArray())) + "}\n");
            protocol.flush();
        }
        return 0;
    }

    static void write(File file, byte[] data) throws java.io.IOException {
        try (OutputStream os = new FileOutputStream(file)) {
            os.write(data);
        }
    }
}
