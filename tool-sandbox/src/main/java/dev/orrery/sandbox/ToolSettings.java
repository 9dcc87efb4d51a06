package dev.orrery.sandbox;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * The settings of {@code orrery.tools}, read once and validated, naming the bad value.
 *
 * @param enabled the built-in tools switched on
 * @param maxConcurrent how many calls run at once; more wait in a queue of the same size, then are refused
 * @param idempotencyEntries how many results are remembered by idempotency key
 * @param idempotencyTtl how long a result is remembered
 */
public record ToolSettings(
    Set<String> enabled,
    int maxConcurrent,
    int idempotencyEntries,
    Duration idempotencyTtl,
    Wasm wasm,
    Process process,
    HttpFetch httpFetch) {

  public ToolSettings {
    enabled = Set.copyOf(enabled);
    if (maxConcurrent <= 0) throw new IllegalArgumentException("max-concurrent must be > 0, was " + maxConcurrent);
    if (idempotencyEntries < 0) {
      throw new IllegalArgumentException("idempotency.max-entries must be >= 0, was " + idempotencyEntries);
    }
    positive("idempotency.ttl", idempotencyTtl);
  }

  /** @param maxMemoryPages the most 64 KiB pages a module's memory may have */
  public record Wasm(Duration timeout, int maxMemoryPages, int maxOutputBytes) {
    public Wasm {
      positive("wasm.timeout", timeout);
      if (maxMemoryPages <= 0 || maxMemoryPages > 65536) {
        throw new IllegalArgumentException("wasm.max-memory-pages must be in 1..65536, was " + maxMemoryPages);
      }
      if (maxOutputBytes <= 0) throw new IllegalArgumentException("wasm.max-output-bytes must be > 0, was " + maxOutputBytes);
    }
  }

  /**
   * @param workDirBase where the per-call working directories are made (null: the JVM's temp directory)
   * @param uid the unprivileged user the code runs as
   * @param hiddenPaths directories covered by an empty file system in the sandbox (/tmp always is)
   */
  public record Process(
      Duration timeout,
      int maxOutputBytes,
      long maxAddressSpaceBytes,
      int maxCpuSeconds,
      int maxProcesses,
      long maxFileSizeBytes,
      int maxOpenFiles,
      int uid,
      int gid,
      Path workDirBase,
      List<String> hiddenPaths,
      String python,
      String shell,
      String path) {
    public Process {
      positive("process.timeout", timeout);
      if (maxOutputBytes <= 0) throw new IllegalArgumentException("process.max-output-bytes must be > 0, was " + maxOutputBytes);
      if (maxAddressSpaceBytes < 16L << 20) {
        throw new IllegalArgumentException("process.max-address-space must be >= 16MiB, was " + maxAddressSpaceBytes);
      }
      if (maxCpuSeconds <= 0) throw new IllegalArgumentException("process.max-cpu-seconds must be > 0, was " + maxCpuSeconds);
      if (maxProcesses <= 0) throw new IllegalArgumentException("process.max-processes must be > 0, was " + maxProcesses);
      if (maxFileSizeBytes <= 0) throw new IllegalArgumentException("process.max-file-size must be > 0, was " + maxFileSizeBytes);
      if (maxOpenFiles < 8) throw new IllegalArgumentException("process.max-open-files must be >= 8, was " + maxOpenFiles);
      if (uid <= 0) throw new IllegalArgumentException("process.uid must be an unprivileged user (> 0), was " + uid);
      if (gid <= 0) throw new IllegalArgumentException("process.gid must be an unprivileged group (> 0), was " + gid);
      hiddenPaths = List.copyOf(hiddenPaths);
      for (String hidden : hiddenPaths) {
        if (!hidden.matches("/[A-Za-z0-9._/-]+") || hidden.contains("..") || hidden.equals("/")) {
          throw new IllegalArgumentException("process.hidden-paths must be absolute directories other than /, was " + hidden);
        }
      }
      absolute("process.python", python);
      absolute("process.shell", shell);
      if (path == null || path.isBlank()) throw new IllegalArgumentException("process.path must be set, was " + path);
    }
  }

  /** @param allowedHosts host names (lower case) a fetch may reach; empty: none */
  public record HttpFetch(List<String> allowedHosts, Duration timeout, int maxBytes) {
    public HttpFetch {
      allowedHosts = allowedHosts.stream().map(h -> h.trim().toLowerCase(java.util.Locale.ROOT)).toList();
      positive("http-fetch.timeout", timeout);
      if (maxBytes <= 0) throw new IllegalArgumentException("http-fetch.max-bytes must be > 0, was " + maxBytes);
    }
  }

  /** Reads {@code orrery.tools} from a config that has this module's reference.conf as fallback. */
  public static ToolSettings fromConfig(Config root) {
    Config c = root.getConfig("orrery.tools");
    Config w = c.getConfig("wasm");
    Config p = c.getConfig("process");
    Config h = c.getConfig("http-fetch");
    String base = p.getString("work-dir-base");
    return new ToolSettings(
        Set.copyOf(c.getStringList("enabled")),
        c.getInt("max-concurrent"),
        c.getInt("idempotency.max-entries"),
        c.getDuration("idempotency.ttl"),
        new Wasm(w.getDuration("timeout"), w.getInt("max-memory-pages"), bytesAsInt(w, "max-output-bytes")),
        new Process(
            p.getDuration("timeout"),
            bytesAsInt(p, "max-output-bytes"),
            p.getBytes("max-address-space"),
            p.getInt("max-cpu-seconds"),
            p.getInt("max-processes"),
            p.getBytes("max-file-size"),
            p.getInt("max-open-files"),
            p.getInt("uid"),
            p.getInt("gid"),
            base.isBlank() ? null : Path.of(base),
            p.getStringList("hidden-paths"),
            p.getString("python"),
            p.getString("shell"),
            p.getString("path")),
        new HttpFetch(h.getStringList("allowed-hosts"), h.getDuration("timeout"), bytesAsInt(h, "max-bytes")));
  }

  private static int bytesAsInt(Config c, String key) {
    long v = c.getBytes(key);
    if (v > Integer.MAX_VALUE) throw new IllegalArgumentException(key + " must be < 2GiB, was " + v);
    return (int) v;
  }

  private static void positive(String key, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) throw new IllegalArgumentException(key + " must be > 0, was " + d);
  }

  private static void absolute(String key, String program) {
    if (program == null || !program.startsWith("/")) {
      throw new IllegalArgumentException(key + " must be an absolute path, was " + program);
    }
  }
}
