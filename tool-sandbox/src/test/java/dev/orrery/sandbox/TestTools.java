package dev.orrery.sandbox;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.orrery.core.port.ToolInvocation;
import dev.orrery.core.port.ToolPort;
import dev.orrery.core.port.ToolResult;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Settings with short limits for the tests, and a blocking call helper. */
final class TestTools {
  static final ObjectMapper JSON = new ObjectMapper();

  private TestTools() {}

  static Config config(String overrides) {
    return ConfigFactory.parseString(overrides)
        .withFallback(ConfigFactory.parseString("""
            orrery.tools {
              wasm.timeout = 2s
              process.timeout = 4s
              process.max-cpu-seconds = 3
              process.max-address-space = 256MiB
              process.max-processes = 32
              http-fetch.timeout = 3s
            }"""))
        .withFallback(ConfigFactory.defaultReference())
        .resolve();
  }

  static ToolSettings settings(String overrides) {
    return ToolSettings.fromConfig(config(overrides));
  }

  static JsonNode args(Map<String, ?> arguments) {
    return JSON.valueToTree(arguments);
  }

  static ToolResult call(ToolPort port, String tool, Map<String, ?> arguments) {
    return call(port, null, tool, arguments);
  }

  static ToolResult call(ToolPort port, String key, String tool, Map<String, ?> arguments) {
    try {
      return port.call(new ToolInvocation(key, "tenant-a", tool, args(arguments), null))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("the call of " + tool + " did not complete", e);
    }
  }

  /** Polls {@code condition} until it holds or {@code within} passes (an awaitAssert for plain JUnit). */
  static void await(String what, Duration within, BooleanSupplier condition) {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "not true within " + within + ": " + what);
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
  }
}
