package dev.orrery.cluster.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.orrery.cluster.testing.BuildDirectory;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The official OpenAI SDK for Node.js (npm {@code openai}, pinned in test resources) against a real node:
 * a completion, a stream, an error, and a wrong API key refused as the SDK expects. Runs where {@code node} and {@code npm} are installed (CI machines
 * have them) and is skipped, visibly, elsewhere.
 */
@ExtendWith(SharedPostgres.class)
class OfficialOpenAiClientTest {

  @Test
  void theOfficialNodeClientGetsACompletionAndAStream(SharedPostgres.TestDatabase db) throws Exception {
    assumeTrue(onPath("node") && onPath("npm"), "node and npm are not installed: the SDK check is skipped");
    Path dir = BuildDirectory.newTempDirectory("openai-client");
    for (String file : List.of("package.json", "check.mjs")) {
      try (InputStream in = getClass().getResourceAsStream("/openai-client/" + file)) {
        Files.copy(in, dir.resolve(file));
      }
    }
    Result install = run(dir, 300, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error");
    assertEquals(0, install.exit, "npm install: " + install.output);

    try (TestNode node = TestNode.start(db, Map.of())) {
      Result check = run(dir, 120, "node", "check.mjs", node.node().baseUrl() + "/v1", node.api().bearer());
      assertEquals(0, check.exit, check.output);
      assertTrue(check.output.contains("ALL OK"), check.output);
    }
  }

  private record Result(int exit, String output) {}

  private static Result run(Path dir, int timeoutSeconds, String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  private static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, tool))) return true;
    }
    return false;
  }
}
