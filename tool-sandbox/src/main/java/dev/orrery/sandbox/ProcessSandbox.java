package dev.orrery.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a program (a Python or shell snippet) in a throw-away Linux sandbox:
 *
 * <ul>
 *   <li>new network, PID, mount, IPC and UTS namespaces ({@code unshare}): no interface but a loopback
 *       that is down, so no connection and no name lookup; the program is PID 1 of its own namespace,
 *       and when it (or the sandbox) dies, every process it started dies with it;
 *   <li>inside the mount namespace /tmp and the hidden directories ({@code /run}, {@code /home} …) are
 *       covered by empty file systems, and every mount is remounted read-only, except the working
 *       directory, which appears at {@value #INNER_WORK_DIR};
 *   <li>an unprivileged user ({@code setpriv}: uid/gid {@code nobody}, no supplementary groups, no
 *       capabilities, no new privileges), which cannot read files only root may read;
 *   <li>{@code prlimit}: address space, CPU seconds, processes, size of a written file, open files,
 *       no core dumps;
 *   <li>a fresh working directory owned by that user (its home), deleted afterwards;
 *   <li>an empty environment but {@code PATH}, {@code HOME}, {@code LANG} and {@code TMPDIR};
 *   <li>a wall-clock limit: the sandbox runs in its own session, and at the deadline its process, its
 *       process group and its PID namespace are killed;
 *   <li>stdout and stderr read concurrently, each kept up to a limit (then a marker), the rest drained.
 * </ul>
 *
 * <p>Whether the machine can do all this is checked once, at construction, by running an empty program
 * in the sandbox; {@link #supported()} and {@link #reason()} say the result, and a call on a machine that
 * cannot is refused: code never runs unsandboxed.
 */
public final class ProcessSandbox implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProcessSandbox.class);

  /** Where the working directory appears inside the sandbox (its home and current directory). */
  static final String INNER_WORK_DIR = "/tmp/work";

  /**
   * Runs as root inside the new namespaces, before the program. Arguments: the working directory on the
   * host, the directories to hide, {@code --}, then the rest of the command line. It covers /tmp and the
   * hidden directories with empty file systems of this namespace (the node's temporary files and any Unix
   * socket in them, such as a database's, become unreachable), mounts the working directory at
   * {@value #INNER_WORK_DIR} (through a descriptor opened before /tmp was covered), makes every other
   * mount read-only (remounting a bind changes only this namespace's view), then hands over.
   */
  private static final String SETUP = String.join("\n",
      "set -e",
      "w=\"$1\"; shift",
      "exec 3<\"$w\"",
      "mount -t tmpfs -o size=64k,mode=755,nosuid,nodev,noexec orrery-empty /tmp",
      "while [ \"$1\" != -- ]; do",
      "  if [ -d \"$1\" ] && [ ! -L \"$1\" ]; then",
      "    mount -t tmpfs -o size=64k,mode=755,nosuid,nodev,noexec orrery-empty \"$1\"",
      "  fi",
      "  shift",
      "done",
      "shift",
      "mkdir " + INNER_WORK_DIR,
      "mount --bind /proc/self/fd/3 " + INNER_WORK_DIR,
      "exec 3<&-",
      "while read -r dev mnt rest; do",
      "  case \"$mnt\" in " + INNER_WORK_DIR + "|/proc) continue;; esac",
      "  mount -o remount,bind,ro \"$mnt\" || { echo \"sandbox: cannot make $mnt read-only\" >&2; exit 125; }",
      "done < /proc/self/mounts",
      "mount -o remount,bind,ro,nosuid,nodev,noexec /proc",
      "cd " + INNER_WORK_DIR,
      "exec \"$@\"");
  private static final List<String> NEEDED = List.of("/usr/bin/setsid", "/usr/bin/unshare", "/usr/bin/setpriv",
      "/usr/bin/prlimit", "/usr/bin/env", "/bin/mount", "/bin/sh");

  private final ToolSettings.Process settings;
  private final Path base;
  private final ExecutorService pumps;
  private final boolean supported;
  private final String reason;

  public ProcessSandbox(ToolSettings.Process settings) {
    this.settings = settings;
    AtomicInteger n = new AtomicInteger();
    this.pumps = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "orrery-sandbox-io-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    Path made = null;
    String why;
    try {
      made = makeBase(settings.workDirBase());
      why = probe(made);
    } catch (IOException | UncheckedIOException e) {
      why = "cannot prepare a working directory: " + e.getMessage();
    }
    this.base = made;
    this.supported = why == null;
    this.reason = why == null
        ? "namespaces (net, pid, mount, ipc, uts), read-only mounts, hidden /tmp " + String.join(" ", settings.hiddenPaths())
            + ", uid " + settings.uid() + ", prlimit"
        : why;
    if (supported) {
      log.info("Process sandbox is supported: {}; python and shell tools are on", reason);
    } else {
      log.warn("Process sandbox is NOT supported on this machine ({}); python and shell calls will be refused", reason);
    }
  }

  /** Whether this machine can run code in the sandbox; when false every call is refused. */
  public boolean supported() {
    return supported;
  }

  /** What the sandbox isolates with, or why it cannot run here. */
  public String reason() {
    return reason;
  }

  public ToolSettings.Process settings() {
    return settings;
  }

  /**
   * Runs {@code program} (an absolute path, then its arguments) in a fresh working directory holding
   * {@code fileName} with {@code fileText}; the program's arguments may name that file relative to it.
   */
  public SandboxOutcome run(List<String> program, String fileName, String fileText, Duration timeout) {
    if (!supported) {
      return SandboxOutcome.refused(ToolErrors.SANDBOX_UNAVAILABLE,
          "this machine cannot sandbox processes (" + reason + "); the code was not run");
    }
    Path work = null;
    try {
      work = Files.createTempDirectory(base, "run-");
      Path file = work.resolve(fileName);
      Files.writeString(file, fileText, StandardCharsets.UTF_8);
      handOver(file, "rw-------");
      handOver(work, "rwx------");
      return execute(work, program, timeout);
    } catch (IOException e) {
      log.error("process sandbox failed", e);
      return SandboxOutcome.refused(ToolErrors.INTERNAL, "the sandbox could not start: " + e.getMessage());
    } finally {
      if (work != null) deleteQuietly(work);
    }
  }

  private SandboxOutcome execute(Path work, List<String> program, Duration timeout) throws IOException {
    Process process = start(command(work, program));
    process.getOutputStream().close(); // no stdin
    var stdout = new CappedOutput(settings.maxOutputBytes());
    var stderr = new CappedOutput(settings.maxOutputBytes());
    Future<?> out = pumps.submit(() -> drain(process.getInputStream(), stdout));
    Future<?> err = pumps.submit(() -> drain(process.getErrorStream(), stderr));
    boolean timedOut = false;
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        timedOut = true;
        kill(process);
      }
      process.waitFor(5, TimeUnit.SECONDS);
      // Every process of the namespace died with it, so the pipes are closed and the pumps end.
      awaitQuietly(out);
      awaitQuietly(err);
    } catch (InterruptedException stopped) {
      kill(process);
      Thread.currentThread().interrupt();
      timedOut = true;
    }
    int exit = process.isAlive() ? -1 : process.exitValue();
    return new SandboxOutcome(timedOut ? -1 : exit, stdout.textWithMarker(), stderr.textWithMarker(),
        stdout.truncated() || stderr.truncated(), timedOut, null, null);
  }

  private List<String> command(Path work, List<String> program) {
    var c = new ArrayList<String>(List.of(
        "/usr/bin/setsid",
        "/usr/bin/unshare", "--net", "--pid", "--mount", "--ipc", "--uts", "--fork", "--mount-proc",
        "--kill-child=SIGKILL",
        "/bin/sh", "-c", SETUP, "sandbox-setup", work.toString()));
    c.addAll(settings.hiddenPaths());
    c.addAll(List.of("--",
        "/usr/bin/setpriv", "--reuid=" + settings.uid(), "--regid=" + settings.gid(), "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
        "/usr/bin/prlimit",
        "--as=" + settings.maxAddressSpaceBytes(),
        "--cpu=" + settings.maxCpuSeconds(),
        "--nproc=" + settings.maxProcesses(),
        "--fsize=" + settings.maxFileSizeBytes(),
        "--nofile=" + settings.maxOpenFiles(),
        "--core=0",
        "--",
        "/usr/bin/env", "-i",
        "PATH=" + settings.path(),
        "HOME=" + INNER_WORK_DIR,
        "TMPDIR=" + INNER_WORK_DIR,
        "LANG=C.UTF-8"));
    c.addAll(program);
    return c;
  }

  private static Process start(List<String> command) throws IOException {
    var builder = new ProcessBuilder(command);
    builder.environment().clear(); // nothing of the node's environment reaches the sandbox, even its setup
    builder.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    return builder.start();
  }

  /**
   * Kills the sandbox: its namespace (killing {@code unshare} kills the namespace's first process, which
   * takes every other one with it), its process group, and any descendant still visible.
   */
  private void kill(Process process) {
    long pid = process.pid();
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      Process group = new ProcessBuilder("/bin/kill", "-KILL", "--", "-" + pid)
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      group.waitFor(2, TimeUnit.SECONDS);
    } catch (IOException e) {
      log.warn("could not kill process group {}: {}", pid, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void drain(InputStream in, OutputStream sink) {
    byte[] buffer = new byte[16384];
    try (in) {
      int n;
      while ((n = in.read(buffer)) >= 0) sink.write(buffer, 0, n);
    } catch (IOException closed) {
      // the process is gone; what was read is kept
    }
  }

  private static void awaitQuietly(Future<?> pump) throws InterruptedException {
    try {
      pump.get(5, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      pump.cancel(true);
    }
  }

  private Path makeBase(Path configured) throws IOException {
    Path parent = configured != null ? configured : Path.of(System.getProperty("java.io.tmpdir"));
    Files.createDirectories(parent);
    Path dir = Files.createTempDirectory(parent, "orrery-tools-");
    // Only root enters: the sandbox reaches its own directory through a descriptor its setup opened.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    dir.toFile().deleteOnExit();
    return dir;
  }

  private void handOver(Path path, String mode) throws IOException {
    Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(mode));
    Files.setAttribute(path, "unix:uid", settings.uid());
    Files.setAttribute(path, "unix:gid", settings.gid());
  }

  /** Null when an empty program runs in the sandbox as the unprivileged user; otherwise why not. */
  private String probe(Path base) {
    if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
      return "not Linux (" + System.getProperty("os.name") + ")";
    }
    for (String tool : NEEDED) {
      if (!Files.isExecutable(Path.of(tool))) return tool + " is missing";
    }
    Path work = null;
    try {
      work = Files.createTempDirectory(base, "probe-");
      handOver(work, "rwx------");
      SandboxOutcome out = execute(work, List.of("/bin/sh", "-c",
          "test \"$(id -u)\" = " + settings.uid() + " && test \"$(pwd)\" = " + INNER_WORK_DIR
              + " && ! touch /tmp/probe 2>/dev/null && echo ok"), Duration.ofSeconds(10));
      if (out.exitCode() == 0 && out.stdout().trim().equals("ok")) return null;
      String detail = out.stderr().isBlank() ? "exit code " + out.exitCode() : out.stderr().trim();
      return "a test program could not run in the sandbox: " + detail;
    } catch (IOException e) {
      return "a test program could not start: " + e.getMessage();
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      return "cannot hand a directory to uid " + settings.uid() + ": " + e.getMessage();
    } finally {
      if (work != null) deleteQuietly(work);
    }
  }

  private static void deleteQuietly(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      log.warn("could not delete {}: {}", dir, e.getMessage());
    }
  }

  @Override
  public void close() {
    pumps.shutdownNow();
    if (base != null) deleteQuietly(base);
  }
}
