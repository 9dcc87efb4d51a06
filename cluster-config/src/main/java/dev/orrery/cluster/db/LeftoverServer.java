package dev.orrery.cluster.db;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds and stops a PostgreSQL server still running on a data directory whose owner died without stopping
 * it (the node's JVM was {@code kill -9}ed: pg_ctl daemonises the postmaster, so it outlives the JVM and
 * keeps the directory). Callers must hold the node's data-directory lock first: that lock is what proves
 * no live node is using the server we are about to stop.
 *
 * <p>The server is stopped the way an operator would: SIGINT (PostgreSQL's "fast" shutdown: roll back open
 * transactions, write a checkpoint, exit), escalating to SIGQUIT ("immediate": exit now, crash recovery on
 * the next start) and finally SIGKILL only if it does not exit in time. None of these loses a committed
 * transaction: with fsync and synchronous_commit on, a commit is in the WAL before it is acknowledged, and
 * the next start replays the WAL.
 */
final class LeftoverServer {

  private static final Logger LOG = LoggerFactory.getLogger(LeftoverServer.class);

  /** How long each step of the escalation may take before the next one. */
  record Timeouts(Duration fastShutdown, Duration immediateShutdown, Duration kill) {
    /** A fast shutdown writes a checkpoint of all dirty buffers (at most shared_buffers, 128 MB here). */
    static final Timeouts DEFAULT = new Timeouts(Duration.ofSeconds(60), Duration.ofSeconds(15), Duration.ofSeconds(15));
  }

  private static final Path PROC = Path.of("/proc");

  private LeftoverServer() {}

  /** The first lines of {@code postmaster.pid}: PostgreSQL writes the pid on line 1 and the port on line 4. */
  record PidFile(Path path, long pid, String dataDirectory, int port, String content) {

    static Optional<PidFile> read(Path pgDir) {
      Path path = pgDir.resolve("postmaster.pid");
      String content;
      try {
        content = Files.readString(path, StandardCharsets.UTF_8);
      } catch (NoSuchFileException e) {
        return Optional.empty();
      } catch (IOException e) {
        throw new IllegalStateException("cannot read " + path + ": " + e.getMessage(), e);
      }
      List<String> lines = content.lines().collect(Collectors.toList());
      try {
        long pid = Long.parseLong(lines.get(0).trim());
        String dir = lines.size() > 1 ? lines.get(1).trim() : "";
        int port = lines.size() > 3 && !lines.get(3).isBlank() ? Integer.parseInt(lines.get(3).trim()) : -1;
        return Optional.of(new PidFile(path, pid, dir, port, content));
      } catch (IndexOutOfBoundsException | NumberFormatException e) {
        // A postmaster writes the file in one go right after creating it, so a garbled file means a
        // crash at that exact moment. PostgreSQL itself knows best what to do with it.
        LOG.warn("Ignoring unreadable {} (PostgreSQL will judge it itself): {}", path, content.strip());
        return Optional.empty();
      }
    }

    void delete() {
      try {
        Files.deleteIfExists(path);
      } catch (IOException e) {
        throw new IllegalStateException("cannot delete stale " + path + ": " + e.getMessage(), e);
      }
    }
  }

  /**
   * Stops whatever PostgreSQL is still running on {@code pgDir}; returns without doing anything when
   * nothing is. Throws {@link IllegalStateException} when a server cannot be stopped.
   *
   * @param situation why the caller looks and why a server found there is not in use, for the log
   * @return whether a running server was found and stopped
   */
  static boolean stop(Path pgDir, String situation) {
    return stop(pgDir, situation, Timeouts.DEFAULT);
  }

  static boolean stop(Path pgDir, String situation, Timeouts timeouts) {
    if (!Files.isDirectory(pgDir)) {
      return false;
    }
    Path dir = realPath(pgDir);
    Optional<PidFile> pidFile = PidFile.read(dir);
    Optional<ProcessHandle> postmaster = pidFile.flatMap(f -> postmasterOf(f, dir));
    List<ProcessHandle> strays = strayBackends(dir, postmaster);

    if (postmaster.isEmpty() && strays.isEmpty()) {
      pidFile.ifPresent(f -> clearIfBlocking(f));
      return false;
    }

    long startNanos = System.nanoTime();
    List<ProcessHandle> all = new ArrayList<>(strays);
    if (postmaster.isPresent()) {
      ProcessHandle pm = postmaster.get();
      PidFile f = pidFile.orElseThrow();
      LOG.warn("{}: found PostgreSQL postmaster pid {} (port {}) still running on {}; stopping it with a fast "
          + "shutdown (SIGINT), committed data is kept", situation, pm.pid(), f.port() > 0 ? f.port() : "?", dir);
      // Snapshot the children now: after an escalation to SIGKILL they would be re-parented and invisible,
      // yet still attached to the old shared memory, and PostgreSQL refuses to start until they are gone.
      pm.descendants().filter(LeftoverServer::running).forEach(all::add);
      all.add(0, pm);
      signal(pm, "INT");
      strays.forEach(p -> signal(p, "QUIT"));
    } else {
      LOG.warn("{}: found {} PostgreSQL process(es) {} still working in {} without their postmaster. "
          + "Stopping them (SIGQUIT) so a new server can start.", situation, strays.size(), pids(strays), dir);
      strays.forEach(p -> signal(p, "QUIT"));
    }

    if (!awaitExit(all, postmaster.isPresent() ? timeouts.fastShutdown() : timeouts.immediateShutdown())) {
      LOG.warn("{}: PostgreSQL processes {} on {} did not exit in time; sending SIGQUIT (immediate shutdown, "
          + "the next start replays the WAL)", situation, pids(alive(all)), dir);
      alive(all).forEach(p -> signal(p, "QUIT"));
      if (!awaitExit(all, timeouts.immediateShutdown())) {
        LOG.warn("{}: PostgreSQL processes {} on {} ignored SIGQUIT; sending SIGKILL", situation, pids(alive(all)), dir);
        alive(all).forEach(ProcessHandle::destroyForcibly);
        if (!awaitExit(all, timeouts.kill())) {
          throw new IllegalStateException("PostgreSQL processes " + pids(alive(all)) + " on " + dir
              + " survived SIGINT, SIGQUIT and SIGKILL; cannot start a server there");
        }
      }
    }
    // A fast or immediate shutdown removes postmaster.pid; after SIGKILL it stays behind, naming a dead pid.
    PidFile.read(dir).ifPresent(LeftoverServer::clearIfBlocking);
    LOG.info("{}: stopped the leftover PostgreSQL on {} in {} ms", situation, dir,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
    return true;
  }

  /** The process the pid file names, if it is a running postgres working in {@code dir}. */
  private static Optional<ProcessHandle> postmasterOf(PidFile f, Path dir) {
    Optional<ProcessHandle> handle = ProcessHandle.of(f.pid()).filter(LeftoverServer::running);
    if (handle.isEmpty()) {
      return Optional.empty();
    }
    ProcessHandle h = handle.get();
    Optional<Boolean> postgres = isPostgres(h);
    if (postgres.isEmpty()) {
      // We can read the program of every process we may signal, so this one belongs to another user; no
      // signal from us could stop it and PostgreSQL will not start beside it. Say so instead of failing later.
      throw new IllegalStateException(f.path() + " names running process " + f.pid()
          + " whose program cannot be read (it probably runs as another user); stop it as that user or start "
          + "the node as the user owning " + dir);
    }
    if (!postgres.get() || Boolean.FALSE.equals(worksIn(h, dir).orElse(true))) {
      return Optional.empty(); // the pid was reused by an unrelated process; clearIfBlocking deals with the file
    }
    return handle;
  }

  /**
   * Backends whose postmaster is gone (it was SIGKILLed) still hold the old shared memory for a moment.
   * Only found where /proc shows each process's working directory (a postgres process always works in its
   * data directory); elsewhere PostgreSQL's own shared-memory interlock reports them at start-up.
   */
  private static List<ProcessHandle> strayBackends(Path dir, Optional<ProcessHandle> postmaster) {
    if (!Files.isDirectory(PROC.resolve("self"))) {
      return List.of();
    }
    long pmPid = postmaster.map(ProcessHandle::pid).orElse(-1L);
    return ProcessHandle.allProcesses()
        .filter(p -> p.pid() != pmPid && p.pid() != ProcessHandle.current().pid())
        .filter(LeftoverServer::running)
        .filter(p -> isPostgres(p).orElse(false))
        .filter(p -> worksIn(p, dir).orElse(false))
        .filter(p -> postmaster.isEmpty() || p.parent().map(pp -> pp.pid() != pmPid).orElse(true))
        .collect(Collectors.toList());
  }

  /**
   * The pid file names no running postmaster of ours. PostgreSQL treats such a file as stale and replaces
   * it, with one exception: it refuses to start while the pid exists at all (a zombie, or a reused pid), as
   * it cannot tell that process from a live postmaster. Only then do we delete the file; a dead pid's file
   * stays, because PostgreSQL reads its shared-memory key to check no old backend is still attached.
   */
  private static void clearIfBlocking(PidFile f) {
    Optional<ProcessHandle> named = ProcessHandle.of(f.pid()).filter(ProcessHandle::isAlive);
    if (named.isEmpty()) {
      LOG.info("{} names pid {}, which has exited: the previous server stopped without cleaning up "
          + "(crash or SIGKILL); PostgreSQL will replay its WAL on start", f.path(), f.pid());
      return;
    }
    String what = running(named.get())
        ? "now an unrelated process (" + named.get().info().command().orElse("?") + ")"
        : "a zombie of the old postmaster, not yet reaped by its parent";
    LOG.warn("Deleting stale {}: it names pid {}, {}, and PostgreSQL would refuse to start beside it. It read: {}",
        f.path(), f.pid(), what, f.content().strip().replace('\n', '|'));
    f.delete();
  }

  /** True while a process runs. A zombie has exited and only waits to be reaped, but ProcessHandle says alive. */
  static boolean running(ProcessHandle p) {
    if (!p.isAlive()) {
      return false;
    }
    if (!Files.isDirectory(PROC.resolve("self"))) {
      return true; // no procfs (macOS): isAlive is all we have
    }
    try {
      String s = Files.readString(PROC.resolve(Long.toString(p.pid())).resolve("stat"), StandardCharsets.US_ASCII);
      // Format: "pid (comm) S ...": the command may contain spaces and parentheses, so find the last ')'.
      char state = s.charAt(s.lastIndexOf(')') + 2);
      return state != 'Z' && state != 'X';
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException | IndexOutOfBoundsException e) {
      return true;
    }
  }

  /** Whether the process runs a PostgreSQL server binary; empty when its program cannot be read. */
  private static Optional<Boolean> isPostgres(ProcessHandle p) {
    return p.info().command().map(command -> {
      // The binaries live in a temp directory that cleaners may delete under a running server.
      String c = command.endsWith(" (deleted)") ? command.substring(0, command.length() - 10) : command;
      String name = Path.of(c).getFileName().toString();
      return name.equals("postgres") || name.equals("postgres.exe") || name.equals("postmaster");
    });
  }

  /** Whether the process's working directory is {@code dir}; PostgreSQL processes chdir to their data directory. */
  private static Optional<Boolean> worksIn(ProcessHandle p, Path dir) {
    try {
      return Optional.of(Files.readSymbolicLink(PROC.resolve(Long.toString(p.pid())).resolve("cwd")).equals(dir));
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return Optional.empty();
    }
  }

  /** Sends a signal with kill(1): the JDK can only send SIGTERM and SIGKILL, and PostgreSQL wants SIGINT. */
  private static void signal(ProcessHandle p, String signal) {
    try {
      Process kill = new ProcessBuilder("kill", "-s", signal, Long.toString(p.pid()))
          .redirectErrorStream(true)
          .start();
      String output = new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!kill.waitFor(10, TimeUnit.SECONDS)) {
        kill.destroyForcibly();
        throw new IllegalStateException("kill -s " + signal + " " + p.pid() + " did not return within 10 s");
      }
      if (kill.exitValue() != 0 && running(p)) {
        throw new IllegalStateException("kill -s " + signal + " " + p.pid() + " failed: " + output);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run kill -s " + signal + " " + p.pid() + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while signalling PostgreSQL process " + p.pid(), e);
    }
  }

  /**
   * Waits until every process has exited. These are not our children, so there is no exit notification to
   * wait on (the JDK's own onExit() polls for them too, and never completes for a zombie): poll briefly.
   */
  static boolean awaitExit(List<ProcessHandle> processes, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!alive(processes).isEmpty()) {
      if (System.nanoTime() - deadline >= 0) {
        return false;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for PostgreSQL to stop", e);
      }
    }
    return true;
  }

  private static List<ProcessHandle> alive(List<ProcessHandle> processes) {
    return processes.stream().filter(LeftoverServer::running).collect(Collectors.toList());
  }

  private static List<Long> pids(List<ProcessHandle> processes) {
    return processes.stream().map(ProcessHandle::pid).collect(Collectors.toList());
  }

  private static Path realPath(Path p) {
    try {
      return p.toRealPath();
    } catch (IOException e) {
      throw new IllegalStateException("cannot resolve " + p + ": " + e.getMessage(), e);
    }
  }
}
