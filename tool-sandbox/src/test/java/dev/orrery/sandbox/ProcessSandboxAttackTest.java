package dev.orrery.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.orrery.core.port.ToolInvocation;
import dev.orrery.core.port.ToolResult;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The python and shell tools attacked the way a hostile snippet would, against the real sandbox. After
 * every attack the node must be healthy: a normal call works and no process of the sandbox user is left.
 */
class ProcessSandboxAttackTest {
  private static final int SANDBOX_UID = 65534;
  private static ToolSandbox tools;

  @BeforeAll
  static void start() {
    tools = ToolSandbox.fromConfig(TestTools.config("orrery.tools.enabled = [python, shell]"));
  }

  @AfterAll
  static void stop() {
    if (tools != null) tools.close();
  }

  @BeforeEach
  void onlyWhereTheMachineCanSandbox() {
    assumeTrue(tools.processSandboxSupported(), "no process sandbox here: " + tools.processSandboxReason());
  }

  @AfterEach
  void nodeStaysHealthy() {
    if (!tools.processSandboxSupported()) return;
    TestTools.await("no process of the sandbox user is left", Duration.ofSeconds(5),
        () -> sandboxUserProcesses() == 0);
    ToolResult normal = python("print(6 * 7)");
    assertFalse(normal.error(), normal.message());
    assertEquals("42\n", normal.output());
  }

  private static ToolResult python(String code) {
    return TestTools.call(tools.port(), "python", Map.of("code", code));
  }

  private static ToolResult shell(String script) {
    return TestTools.call(tools.port(), "shell", Map.of("script", script));
  }

  private static ToolResult python(String code, Duration timeout) throws Exception {
    return tools.port().call(new ToolInvocation(null, "tenant-a", "python", TestTools.args(Map.of("code", code)), timeout))
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** Processes on this machine running as the sandbox user. */
  private static long sandboxUserProcesses() {
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      return procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
          .filter(p -> {
            try {
              return Files.readAllLines(p.resolve("status")).stream()
                  .anyMatch(l -> l.startsWith("Uid:") && l.split("\\s+")[1].equals(String.valueOf(SANDBOX_UID)));
            } catch (IOException gone) {
              return false;
            }
          }).count();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void theMachineSaysItSupportsTheSandbox() {
    assertTrue(tools.processSandboxReason().contains("namespaces"), tools.processSandboxReason());
  }

  @Test
  void connectingToALoopbackServerOfTheNodeFails() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      int port = server.getLocalPort();
      ToolResult result = python("""
          import socket
          s = socket.socket()
          s.settimeout(2)
          try:
              s.connect(("127.0.0.1", %d))
              print("connected")
          except OSError as e:
              print("blocked", e.errno)
          """.formatted(port));
      assertFalse(result.error(), result.message());
      assertTrue(result.output().startsWith("blocked"), result.output());
      server.setSoTimeout(200);
      try (Socket intruder = server.accept()) {
        throw new AssertionError("the sandbox reached the server from " + intruder.getRemoteSocketAddress());
      } catch (SocketTimeoutException nobodyCame) {
        // expected: no connection arrived
      }
      // the server was reachable from outside the sandbox, so the refusal above is the sandbox's doing
      try (Socket fromNode = new Socket(InetAddress.getLoopbackAddress(), port)) {
        assertTrue(fromNode.isConnected());
      }
    }
  }

  @Test
  void resolvingANameFailsAndOnlyADownLoopbackExists() {
    ToolResult result = python("""
        import socket
        try:
            print("resolved", socket.getaddrinfo("example.com", 443))
        except OSError as e:
            print("no dns")
        print(sorted(name for _, name in socket.if_nameindex()))
        """);
    assertFalse(result.error(), result.message());
    assertTrue(result.output().startsWith("no dns\n['lo']\n"), result.output());
  }

  @Test
  void aForkBombIsContained() throws Exception {
    long started = System.nanoTime();
    // every process forks for ever, retrying when the limit refuses it
    var running = tools.port().call(new ToolInvocation(null, "tenant-a", "python",
        TestTools.args(Map.of("code", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n")),
        Duration.ofSeconds(3))).toCompletableFuture();
    TestTools.await("the bomb forks", Duration.ofSeconds(3), () -> sandboxUserProcesses() >= 10);
    for (int i = 0; i < 5; i++) {
      // while it rages: never more processes than the limit, and the machine can still start one
      long count = sandboxUserProcesses();
      assertTrue(count <= 32, count + " processes of the sandbox user");
      Process p = new ProcessBuilder("/bin/true").start();
      assertTrue(p.waitFor(5, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue());
    }
    ToolResult result = running.get(30, TimeUnit.SECONDS);
    long ms = (System.nanoTime() - started) / 1_000_000;
    assertEquals(ToolErrors.TIMEOUT, result.errorCode());
    assertTrue(ms < 8_000, "took " + ms + " ms");
  }

  @Test
  void theClassicShellForkBombBurnsOutAtTheProcessLimit() {
    long started = System.nanoTime();
    shell(":(){ :|:& };:\nwait\n");
    long ms = (System.nanoTime() - started) / 1_000_000;
    assertTrue(ms < 8_000, "took " + ms + " ms"); // and no process is left (checked after each test)
  }

  @Test
  void anInfiniteLoopIsKilledOnTime() throws Exception {
    long started = System.nanoTime();
    ToolResult result = python("while True:\n    pass\n", Duration.ofSeconds(1));
    long ms = (System.nanoTime() - started) / 1_000_000;
    assertEquals(ToolErrors.TIMEOUT, result.errorCode());
    assertTrue(ms < 3_000, "killed after " + ms + " ms");
  }

  @Test
  void aSleepingProgramAndItsBackgroundChildrenAreKilledAtTheWallClockLimit() {
    long started = System.nanoTime();
    ToolResult result = TestTools.call(tools.port(), "shell",
        Map.of("script", "(while :; do :; done) &\n(trap '' TERM HUP; sleep 1000) &\nsleep 1000\n"));
    long ms = (System.nanoTime() - started) / 1_000_000;
    assertEquals(ToolErrors.TIMEOUT, result.errorCode());
    assertTrue(ms < 6_000, "killed after " + ms + " ms");
  }

  @Test
  void cpuSecondsAreLimited() {
    try (ToolSandbox strict = ToolSandbox.fromConfig(TestTools.config(
        "orrery.tools { enabled = [python], process.max-cpu-seconds = 1, process.timeout = 8s }"))) {
      long started = System.nanoTime();
      ToolResult result = TestTools.call(strict.port(), "python", Map.of("code", "while True:\n    pass\n"));
      long ms = (System.nanoTime() - started) / 1_000_000;
      assertEquals(ToolErrors.EXIT_CODE, result.errorCode(), result.message());
      assertTrue(ms < 5_000, "killed after " + ms + " ms");
    }
  }

  @Test
  void aGigabyteAllocationFails() {
    ToolResult result = python("b = bytearray(1 << 30)\nprint('allocated', len(b))\n");
    assertTrue(result.error());
    assertEquals(ToolErrors.EXIT_CODE, result.errorCode());
    assertTrue(result.message().contains("MemoryError"), result.message());
    assertFalse(result.output().contains("allocated"));
  }

  @Test
  void hundredMegabytesOfOutputAreTruncatedWithTheMarker() {
    ToolResult result = python("""
        import sys
        chunk = "x" * (1 << 20)
        for _ in range(100):
            sys.stdout.write(chunk)
        """);
    assertFalse(result.error(), result.message());
    assertTrue(result.truncated());
    assertTrue(result.output().length() < 64 * 1024 + 200, "kept " + result.output().length());
    assertTrue(result.output().contains(CappedOutput.TRUNCATION_MARKER + ": kept 65536 of 104857600 bytes]"),
        result.output().substring(result.output().length() - 100));
  }

  @Test
  void writingOutsideTheWorkingDirectoryFails() {
    String escape = "/tmp/orrery-escape-" + UUID.randomUUID();
    ToolResult result = python("""
        import os
        for path in ["%s", "/etc/passwd", "/root/x", "/var/tmp/x", "/dev/shm/x", "/usr/local/bin/x"]:
            try:
                with open(path, "a") as f:
                    f.write("pwned")
                print("wrote", path)
            except OSError as e:
                print("denied", path, e.errno)
        with open("mine.txt", "w") as f:
            f.write("ok")
        print("own dir", open("mine.txt").read(), os.stat(".").st_uid)
        """.formatted(escape));
    assertFalse(result.error(), result.message());
    assertFalse(result.output().contains("wrote"), result.output());
    assertEquals(6, result.output().lines().filter(l -> l.startsWith("denied")).count(), result.output());
    assertTrue(result.output().contains("own dir ok " + SANDBOX_UID), result.output());
    assertFalse(Files.exists(Path.of(escape)));
    ToolResult sh = shell("echo pwned >> /etc/passwd && echo wrote");
    assertTrue(sh.error());
    assertFalse(sh.output().contains("wrote"));
  }

  @Test
  void theEnvironmentHoldsOnlyTheAllowedVariablesAndNoOtherProcessIsVisible() {
    ToolResult result = python("""
        import os
        print(sorted(os.environ))
        print(os.environ["HOME"] == os.getcwd(), os.getuid(), os.getgid(), os.getgroups())
        print(len([p for p in os.listdir("/proc") if p.isdigit()]))
        """);
    assertFalse(result.error(), result.message());
    List<String> lines = result.output().lines().toList();
    assertEquals("['HOME', 'LANG', 'PATH', 'TMPDIR']", lines.get(0));
    assertEquals("True " + SANDBOX_UID + " " + SANDBOX_UID + " []", lines.get(1));
    assertEquals("1", lines.get(2), "only the snippet itself is visible in /proc");
  }

  @Test
  void aFileOnlyRootMayReadCannotBeRead() throws Exception {
    Path dir = Files.createTempDirectory("orrery-secret-");
    try {
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      Path secret = dir.resolve("node.conf");
      Files.writeString(secret, "db-password=hunter2\n");
      Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
      ToolResult result = python("""
          for path in ["%s", "/root/.bashrc", "/etc/shadow", "/proc/1/root/etc/shadow"]:
              try:
                  print("read", path, open(path).read())
              except OSError as e:
                  print("denied", path, e.errno)
          """.formatted(secret));
      assertFalse(result.error(), result.message());
      assertFalse(result.output().contains("hunter2"), result.output());
      assertFalse(result.output().contains("read "), result.output());
      ToolResult sh = shell("cat " + secret);
      assertTrue(sh.error());
      assertFalse(sh.output().contains("hunter2"));
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void theWorkingDirectoryIsFreshAndDeletedAfterwards(@TempDir Path base) throws Exception {
    try (ToolSandbox own = ToolSandbox.fromConfig(TestTools.config(
        "orrery.tools { enabled = [python], process.work-dir-base = \"" + base + "\" }"))) {
      ToolResult first = TestTools.call(own.port(), "python",
          Map.of("code", "import os\nopen('left.txt', 'w').write('x')\nprint(os.getcwd(), os.stat('.').st_uid)\n"));
      assertEquals(ProcessSandbox.INNER_WORK_DIR + " " + SANDBOX_UID + "\n", first.output());
      ToolResult second = TestTools.call(own.port(), "python", Map.of("code", "import os\nprint(sorted(os.listdir('.')))\n"));
      assertEquals("['main.py']\n", second.output());
      try (Stream<Path> left = Files.walk(base)) {
        List<Path> runs = left.filter(p -> p.getFileName().toString().startsWith("run-")).toList();
        assertEquals(List.of(), runs, "working directories left behind");
      }
    }
  }

  @Test
  void theNodesTemporaryFilesAndUnixSocketsAreOutOfReach() throws Exception {
    Path dir = Files.createTempDirectory("orrery-socket-");
    Path socket = dir.resolve("db.sock");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(socket));
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rwxrwxrwx"));
      try (SocketChannel fromNode = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
        assertTrue(fromNode.isConnected(), "the socket is open to anyone outside the sandbox");
      }
      ToolResult result = python("""
          import os, socket
          s = socket.socket(socket.AF_UNIX)
          try:
              s.connect("%s")
              print("connected")
          except OSError as e:
              print("blocked", e.errno)
          print(sorted(os.listdir("/tmp")), os.listdir("/run"), os.listdir("/dev/shm"))
          """.formatted(socket));
      assertFalse(result.error(), result.message());
      List<String> lines = result.output().lines().toList();
      assertTrue(lines.get(0).startsWith("blocked"), result.output());
      assertTrue(lines.get(1).startsWith("['work'] "), result.output());
    } finally {
      Files.deleteIfExists(socket);
      Files.deleteIfExists(dir);
    }
  }

  @Test
  void aMachineThatCannotSandboxRefusesToRunCode() {
    try (ToolSandbox broken = ToolSandbox.fromConfig(TestTools.config(
        "orrery.tools { enabled = [python, shell], process.work-dir-base = \"/proc/orrery-cannot-write-here\" }"))) {
      assertFalse(broken.processSandboxSupported());
      assertFalse(broken.processSandboxReason().isBlank());
      ToolResult result = TestTools.call(broken.port(), "python", Map.of("code", "print('ran')"));
      assertEquals(ToolErrors.SANDBOX_UNAVAILABLE, result.errorCode());
      assertFalse(result.output().contains("ran"));
      assertTrue(result.message().contains("not run"), result.message());
    }
  }
}
