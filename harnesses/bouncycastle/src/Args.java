import java.io.File;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The argv of one call: a verb, then `--name value` options (some repeatable) and flags.
 * Relative file names are taken from the request's cwd, as a command line would. */
final class Args {
    /** A usage error: unknown verb or option, a missing value. */
    static final class Bad extends Exception {
        private static final long serialVersionUID = 1L;

        Bad(String message) {
            super(message);
        }
    }

    private static final Set<String> VALUED = Set.of(
            "--cert", "--key", "--in", "--out", "--digest", "--recip", "--trust", "--crl",
            "--chain", "--signer", "--cipher", "--key-transport", "--attr", "--certs", "--time");
    private static final Set<String> FLAGS = Set.of("--pss", "--opaque", "--no-attrs", "--ski");

    final String verb;
    final File cwd;
    private final Map<String, List<String>> values = new HashMap<>();
    private final Set<String> flags = new HashSet<>();

    Args(String[] argv, File cwd) throws Bad {
        this.verb = argv[0];
        this.cwd = cwd;
        for (int i = 1; i < argv.length; i++) {
            String a = argv[i];
            if (FLAGS.contains(a)) {
                flags.add(a);
            } else if (VALUED.contains(a)) {
                if (i + 1 >= argv.length) {
                    throw new Bad(verb + ": " + a + " needs a value");
                }
                values.computeIfAbsent(a, k -> new ArrayList<>()).add(argv[++i]);
            } else {
                throw new Bad(verb + ": unknown option " + a);
            }
        }
    }

    boolean flag(String name) {
        return flags.contains(name);
    }

    List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    String opt(String name, String fallback) {
        List<String> v = all(name);
        return v.isEmpty() ? fallback : v.get(v.size() - 1);
    }

    String need(String name) throws Bad {
        String v = opt(name, null);
        if (v == null) {
            throw new Bad(verb + ": " + name + " is required");
        }
        return v;
    }

    File file(String name) throws Bad {
        return resolve(need(name));
    }

    List<File> files(String name) {
        List<File> out = new ArrayList<>();
        for (String v : all(name)) {
            out.add(resolve(v));
        }
        return out;
    }

    File resolve(String path) {
        File f = new File(path);
        return f.isAbsolute() ? f : new File(cwd, path);
    }
}
