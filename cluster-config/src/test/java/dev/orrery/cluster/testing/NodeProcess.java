package dev.orrery.cluster.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@code orrery serve} (or another {@code orrery} command) in a JVM of its own, from the test classpath: the
 * way an operator runs nodes, so that {@code kill -9}, SIGTERM and SIGSTOP reach a real process. Its output
 * goes to {@code target/node-logs/<name>.log}; the lines are also kept for {@link #awaitLine}.
 */
public final class NodeProcess {
  private final String name;
  private final Process process;
  private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private final List<String> seen = new CopyOnWriteArrayList<>();

  /** The loopback ports of one node. */
  public record Ports(int http, int cluster, int management) {
    public static Ports free() {
      return new Ports(freePort(), freePort(), freePort());
    }

    public String clusterAddress() {
      return "127.0.0.1:" + cluster;
    }

    public String httpUrl() {
      return "http://127.0.0.1:" + http;
    }

    public String managementUrl() {
      return "http://127.0.0.1:" + management;
    }
  }

  private NodeProcess(String name, Process process, Path log) throws IOException {
    this.name = name;
    this.process = process;
    PrintWriter out = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8), true);
    Thread reader = new Thread(() -> {
      try (var in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          out.println(line);
          lines.add(line);
        }
      } catch (IOException ignored) {
        // the process died: that is what these tests do to it
      } finally {
        out.close();
      }
    }, "node-output-" + name);
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Starts {@code orrery <args>} with {@code env} added to this JVM's environment and returns once it has
   * printed {@code upLine}.
   *
   * @param jvmOptions e.g. {@code -Dpekko.loglevel=DEBUG}
   */
  public static NodeProcess start(String name, List<String> args, Map<String, String> env, List<String> jvmOptions,
      String upLine, Duration timeout) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>(List.of(java, "-Xmx384m", "-XX:+UseSerialGC",
        "-Djava.util.concurrent.ForkJoinPool.common.parallelism=2"));
    command.addAll(jvmOptions);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.orrery.cluster.Main"));
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(env);
    Path logs = BuildDirectory.path().resolve("node-logs");
    Files.createDirectories(logs);
    var node = new NodeProcess(name, builder.start(), logs.resolve(name + ".log"));
    node.awaitLine(upLine, timeout);
    return node;
  }

  /** {@code orrery serve} on the given ports, configured by {@code env} (ORRERY_DB_URL, ORRERY_SEED_NODES …). */
  public static NodeProcess serve(String name, Ports ports, Map<String, String> env, List<String> jvmOptions)
      throws Exception {
    Map<String, String> all = new HashMap<>(env);
    all.put("ORRERY_HTTP_PORT", String.valueOf(ports.http()));
    all.put("ORRERY_CLUSTER_PORT", String.valueOf(ports.cluster()));
    all.put("ORRERY_MANAGEMENT_PORT", String.valueOf(ports.management()));
    return start(name, List.of("serve"), all, jvmOptions, "Orrery is up", Duration.ofSeconds(120));
  }

  public String name() {
    return name;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public void awaitLine(String text, Duration max) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    while (System.nanoTime() < deadline) {
      String line = lines.poll(200, TimeUnit.MILLISECONDS);
      if (line != null) seen.add(line);
      if (line != null && line.contains(text)) return;
      if (line == null && !process.isAlive()) {
        throw new AssertionError(name + " exited with " + process.exitValue() + " before '" + text + "'; its last lines:\n"
            + String.join("\n", lastLines(40)));
      }
    }
    process.destroyForcibly();
    throw new AssertionError(name + " did not print '" + text + "' within " + max);
  }

  /** The last {@code n} lines the node printed, for a failure's message (the whole log is in node-logs). */
  private List<String> lastLines(int n) {
    lines.drainTo(seen);
    return seen.subList(Math.max(0, seen.size() - n), seen.size());
  }

  /** Whether the node has printed a line containing {@code text} by now (it does not wait). */
  public boolean printed(String text) {
    for (String line = lines.poll(); line != null; line = lines.poll()) seen.add(line);
    return seen.stream().anyMatch(line -> line.contains(text));
  }

  /** The rest of a line printed before the node was up that starts with {@code prefix}. */
  public String seen(String prefix) {
    String rest = seenOrNull(prefix);
    if (rest == null) throw new AssertionError(name + " did not print '" + prefix + "': " + seen);
    return rest;
  }

  public String seenOrNull(String prefix) {
    for (String line : seen) {
      if (line.startsWith(prefix)) return line.substring(prefix.length()).strip();
    }
    return null;
  }

  /** SIGKILL: no shutdown hook, no hand-off; what a crashed machine looks like to the others. */
  public void kill9() throws Exception {
    process.destroyForcibly();
    process.onExit().get(30, TimeUnit.SECONDS);
  }

  /** SIGTERM, then waits for the coordinated shutdown to finish and the JVM to exit. */
  public void terminate() throws Exception {
    sigterm();
    awaitExit(Duration.ofSeconds(90));
  }

  public void sigterm() {
    process.destroy();
  }

  public void awaitExit(Duration max) throws Exception {
    if (!process.waitFor(max.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new AssertionError(name + " did not stop within " + max + " of SIGTERM");
    }
  }

  /** SIGSTOP: the process freezes (as in a long GC pause or a hung VM), its sockets stay open. */
  public void freeze() throws Exception {
    signal("STOP");
  }

  /** SIGCONT after {@link #freeze}. */
  public void thaw() throws Exception {
    signal("CONT");
  }

  private void signal(String signal) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid())).inheritIO().start();
    if (kill.waitFor() != 0) throw new AssertionError("kill -" + signal + " " + process.pid() + " failed");
  }

  /** Kills what is left (a test's cleanup). */
  public void destroy() {
    process.destroyForcibly();
  }

  /**
   * A free loopback port below Linux's ephemeral range (32768 and up), never handed out twice by this JVM.
   * A node binds its ports seconds after they are chosen; a port the kernel handed out from the ephemeral
   * range could be taken in between as the local end of one of the many connections the nodes open (a
   * node then exits on its bind), and a port from here cannot.
   */
  public static int freePort() {
    for (int attempt = 0; attempt < 1000; attempt++) {
      int port = 20_000 + ThreadLocalRandom.current().nextInt(12_000);
      if (!HANDED_OUT.add(port)) continue;
      try (var socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return socket.getLocalPort();
      } catch (IOException taken) {
        // another process listens there: try another
      }
    }
    throw new UncheckedIOException(new IOException("no free port between 20000 and 32000"));
  }

  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();
}
