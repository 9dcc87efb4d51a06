package dev.orrery.sandbox;

import static dev.orrery.sandbox.TestTools.JSON;
import static dev.orrery.sandbox.TestTools.args;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.port.ToolInvocation;
import dev.orrery.core.port.ToolResult;
import dev.orrery.core.port.ToolSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ToolRegistryTest {

  /** A tool that counts its runs and echoes its "text" argument. */
  private static class Echo implements Tool {
    final AtomicInteger runs = new AtomicInteger();

    @Override
    public ToolSpec spec() {
      try {
        return new ToolSpec("echo", "Echoes text.", JSON.readTree("""
            {"type": "object",
             "properties": {"text": {"type": "string", "maxLength": 10}, "times": {"type": "integer", "minimum": 1}},
             "required": ["text"], "additionalProperties": false}"""));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }

    @Override
    public Duration maxTimeout() {
      return Duration.ofSeconds(1);
    }

    @Override
    public ToolResult run(JsonNode arguments, Duration timeout) {
      runs.incrementAndGet();
      return ToolResult.ok("echo", arguments.get("text").asText(), false, 0);
    }
  }

  private static ToolRegistry registry(Echo echo, Clock clock) {
    return new ToolRegistry(List.of(echo), Runnable::run, clock, 2, Duration.ofMinutes(10));
  }

  @Test
  void invalidArgumentsAreRefusedNamingEveryProblemWithoutRunningTheTool() {
    var echo = new Echo();
    ToolResult result = TestTools.call(registry(echo, Clock.systemUTC()), "echo",
        Map.of("text", "far too long a text", "times", 0, "extra", true));
    assertTrue(result.error());
    assertEquals(ToolErrors.INVALID_ARGUMENTS, result.errorCode());
    assertTrue(result.message().contains("maxLength") || result.message().contains("10"), result.message());
    assertTrue(result.message().contains("times"), result.message());
    assertTrue(result.message().contains("extra"), result.message());
    assertEquals(0, echo.runs.get());
  }

  @Test
  void missingRequiredArgumentIsRefused() {
    var echo = new Echo();
    ToolResult result = TestTools.call(registry(echo, Clock.systemUTC()), "echo", Map.of());
    assertEquals(ToolErrors.INVALID_ARGUMENTS, result.errorCode());
    assertTrue(result.message().contains("text"), result.message());
    assertEquals(0, echo.runs.get());
  }

  @Test
  void unknownToolIsRefusedNamingTheToolsThereAre() {
    ToolResult result = TestTools.call(registry(new Echo(), Clock.systemUTC()), "rm_rf", Map.of());
    assertEquals(ToolErrors.UNKNOWN_TOOL, result.errorCode());
    assertTrue(result.message().contains("rm_rf") && result.message().contains("echo"), result.message());
  }

  @Test
  void aRepeatedIdempotencyKeyAnswersTheFirstResultWithoutRunningAgain() {
    var echo = new Echo();
    var registry = registry(echo, Clock.systemUTC());
    ToolResult first = TestTools.call(registry, "run-1/step/1", "echo", Map.of("text", "hello"));
    ToolResult again = TestTools.call(registry, "run-1/step/1", "echo", Map.of("text", "hello"));
    assertEquals("hello", first.output());
    assertEquals(first, again);
    assertEquals(1, echo.runs.get());
    TestTools.call(registry, "run-1/step/2", "echo", Map.of("text", "hello"));
    assertEquals(2, echo.runs.get());
  }

  @Test
  void aCallRepeatedWhileTheFirstStillRunsWaitsForItInsteadOfRunningAgain() throws Exception {
    var release = new java.util.concurrent.CountDownLatch(1);
    var slow = new Echo() {
      @Override
      public ToolResult run(JsonNode arguments, Duration timeout) {
        runs.incrementAndGet();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return ToolResult.ok("echo", "done", false, 0);
      }
    };
    var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      var registry = new ToolRegistry(List.of(slow), pool, Clock.systemUTC(), 10, Duration.ofMinutes(1));
      var call = new ToolInvocation("run-9/a/1", "t", "echo", args(Map.of("text", "x")), null);
      var first = registry.call(call).toCompletableFuture();
      var second = registry.call(call).toCompletableFuture();
      assertFalse(second.isDone());
      release.countDown();
      assertEquals("done", second.get(5, java.util.concurrent.TimeUnit.SECONDS).output());
      assertEquals(first.get(), second.get());
      assertEquals(1, slow.runs.get());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void theSameKeyOfAnotherTenantIsAnotherCall() throws Exception {
    var echo = new Echo();
    var registry = registry(echo, Clock.systemUTC());
    var mine = new ToolInvocation("run-1/a/1", "tenant-a", "echo", args(Map.of("text", "x")), null);
    var theirs = new ToolInvocation("run-1/a/1", "tenant-b", "echo", args(Map.of("text", "x")), null);
    registry.call(mine).toCompletableFuture().get();
    registry.call(theirs).toCompletableFuture().get();
    assertEquals(2, echo.runs.get());
  }

  @Test
  void aKeyReusedForOtherArgumentsIsRefused() {
    var echo = new Echo();
    var registry = registry(echo, Clock.systemUTC());
    TestTools.call(registry, "k", "echo", Map.of("text", "a"));
    ToolResult other = TestTools.call(registry, "k", "echo", Map.of("text", "b"));
    assertEquals(ToolErrors.INVALID_ARGUMENTS, other.errorCode());
    assertEquals(1, echo.runs.get());
  }

  @Test
  void rememberedResultsExpireAndTheCacheIsBounded() {
    var echo = new Echo();
    var clock = new MutableClock();
    var registry = registry(echo, clock);
    TestTools.call(registry, "a", "echo", Map.of("text", "x"));
    clock.now = clock.now.plus(Duration.ofMinutes(11));
    TestTools.call(registry, "a", "echo", Map.of("text", "x"));
    assertEquals(2, echo.runs.get());
    TestTools.call(registry, "b", "echo", Map.of("text", "x"));
    TestTools.call(registry, "c", "echo", Map.of("text", "x")); // the cache holds 2: "a" goes
    TestTools.call(registry, "a", "echo", Map.of("text", "x"));
    assertEquals(5, echo.runs.get());
  }

  @Test
  void toolsListsEverySpecWithItsSchema() {
    List<ToolSpec> specs = registry(new Echo(), Clock.systemUTC()).tools();
    assertEquals(1, specs.size());
    assertEquals("object", specs.get(0).parameters().get("type").asText());
  }

  @Test
  void invocationsAndResultsSerializeWithSnakeCase() throws Exception {
    var result = new ToolResult("calculator", "7", true, ToolErrors.EXIT_CODE, "exit code 1", true, 12);
    String json = JSON.writeValueAsString(result);
    assertTrue(json.contains("\"error_code\"") && json.contains("\"duration_ms\""), json);
    assertEquals(result, JSON.readValue(json, ToolResult.class));
    // Pekko's serializer registers the java.time module, as here
    var mapper = JSON.copy().registerModule(new com.fasterxml.jackson.datatype.jsr310.JavaTimeModule());
    var invocation = new ToolInvocation("r/n/1", "t", "calculator", args(Map.of("expression", "1+1")),
        Duration.ofSeconds(5));
    String text = mapper.writeValueAsString(invocation);
    assertTrue(text.contains("\"idempotency_key\"") && text.contains("\"tenant_id\""), text);
    assertEquals(invocation, mapper.readValue(text, ToolInvocation.class));
    assertFalse(ToolResult.ok("x", null, false, 0).error());
  }

  private static final class MutableClock extends Clock {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
