package dev.orrery.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import dev.orrery.core.port.ToolResult;
import java.io.InputStream;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The WASM sandbox against hostile modules, and the calculator it ships. */
class WasmSandboxTest {
  private static ToolSandbox tools;
  private static WasmSandbox wasm;

  @BeforeAll
  static void start() {
    tools = ToolSandbox.fromConfig(TestTools.config("orrery.tools.enabled = [calculator]"));
    wasm = new WasmSandbox(new ToolSettings.Wasm(Duration.ofSeconds(2), 256, 64 * 1024));
  }

  @AfterAll
  static void stop() {
    tools.close();
    wasm.close();
  }

  private static WasmModule module(String name) throws Exception {
    try (InputStream in = WasmSandboxTest.class.getResourceAsStream("/wasm/" + name + ".wasm")) {
      return Parser.parse(in.readAllBytes());
    }
  }

  private static ToolResult calc(String expression) {
    return TestTools.call(tools.port(), "calculator", Map.of("expression", expression));
  }

  private static void assertHealthy() {
    assertEquals("42\n", calc("6 * 7").output());
  }

  @Test
  void calculatorAnswers() {
    assertEquals("7\n", calc("1 + 2 * 3").output());
    assertEquals("-10.5\n", calc("(1.5 + 2) * -3").output());
    assertEquals("0.3\n", calc("0.1 + 0.2").output());
    assertEquals("2.5\n", calc("10 / 4").output());
    assertEquals("0.333333333\n", calc("1/3").output());
    assertEquals("3\n", calc("((((1+2))))").output());
    assertEquals("-1\n", calc("2 - 3").output());
    assertEquals("123456789012\n", calc("123456789012").output());
  }

  @Test
  void calculatorErrorsAreReported() {
    ToolResult zero = calc("1 / (2 - 2)");
    assertTrue(zero.error());
    assertEquals(ToolErrors.EXIT_CODE, zero.errorCode());
    assertTrue(zero.message().contains("division by zero"), zero.message());
    assertTrue(calc("2 * (3").message().contains("expected ')'"));
    assertTrue(calc("7 7").message().contains("unexpected character"));
    assertTrue(calc("99999999999 * 999999999").message().contains("out of range"));
    assertTrue(calc("(".repeat(150) + "1" + ")".repeat(150)).message().contains("nested too deeply"));
  }

  @Test
  void calculatorRefusesArgumentsOutsideItsSchemaWithoutRunning() {
    ToolResult letters = calc("__import__('os')");
    assertEquals(ToolErrors.INVALID_ARGUMENTS, letters.errorCode());
    ToolResult wrongType = TestTools.call(tools.port(), "calculator", Map.of("expression", 7));
    assertEquals(ToolErrors.INVALID_ARGUMENTS, wrongType.errorCode());
    assertEquals(0, wrongType.durationMs());
  }

  @Test
  void anInfiniteLoopIsStoppedOnTime() throws Exception {
    long started = System.nanoTime();
    SandboxOutcome out = wasm.run(module("spin"), new byte[0], Duration.ofMillis(500));
    long ms = (System.nanoTime() - started) / 1_000_000;
    assertTrue(out.timedOut());
    assertTrue(ms < 1500, "stopped after " + ms + " ms");
    // the interrupted thread really stopped: another run gets a thread and finishes
    TestTools.await("the spinning thread ends", Duration.ofSeconds(5),
        () -> Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("orrery-wasm-")
            && t.getState() == Thread.State.RUNNABLE));
    assertHealthy();
  }

  @Test
  void aModuleAskingForAGigabyteAtStartIsRefused() throws Exception {
    SandboxOutcome out = wasm.run(module("huge_memory"), new byte[0], Duration.ofSeconds(2));
    assertEquals(ToolErrors.MEMORY_LIMIT, out.failureCode());
    assertTrue(out.failure().contains("16384"), out.failure());
    assertHealthy();
  }

  @Test
  void aModuleImportingAnythingButWasiDoesNotRun() throws Exception {
    SandboxOutcome out = wasm.run(module("imports_host"), new byte[0], Duration.ofSeconds(2));
    assertEquals(ToolErrors.TRAP, out.failureCode());
    assertTrue(out.failure().contains("open_socket"), out.failure());
    assertHealthy();
  }

  @Test
  void growingMemoryByAGigabyteIsRefused() throws Exception {
    SandboxOutcome out = wasm.run(module("grow_memory"), new byte[0], Duration.ofSeconds(2));
    assertEquals(3, out.exitCode());
    assertEquals("grow refused\n", out.stdout());
    assertHealthy();
  }

  @Test
  void hundredMegabytesOfOutputAreTruncatedWithTheMarker() throws Exception {
    SandboxOutcome out = wasm.run(module("flood"), new byte[0], Duration.ofSeconds(10));
    assertEquals(0, out.exitCode());
    assertTrue(out.truncated());
    assertTrue(out.stdout().length() < 64 * 1024 + 200, "kept " + out.stdout().length());
    assertTrue(out.stdout().contains(CappedOutput.TRUNCATION_MARKER), "no marker");
    assertTrue(out.stdout().contains("of 104857600 bytes"), out.stdout().substring(out.stdout().length() - 80));
    assertFalse(out.timedOut());
    assertHealthy();
  }
}
