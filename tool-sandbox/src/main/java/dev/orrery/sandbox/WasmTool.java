package dev.orrery.sandbox;

import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.port.ToolResult;
import dev.orrery.core.port.ToolSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A tool that is a WASI command module: the arguments go to its stdin as JSON, its stdout is the
 * output, and a non-zero exit code is an error whose message is its stderr.
 */
public final class WasmTool implements Tool {
  private final ToolSpec spec;
  private final WasmModule module;
  private final WasmSandbox sandbox;

  public WasmTool(ToolSpec spec, WasmModule module, WasmSandbox sandbox) {
    this.spec = spec;
    this.module = module;
    this.sandbox = sandbox;
  }

  /** A tool whose module is the classpath resource {@code resource} (e.g. {@code wasm/calculator.wasm}). */
  public static WasmTool fromClasspath(ToolSpec spec, String resource, WasmSandbox sandbox) {
    try (InputStream in = WasmTool.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) throw new IllegalArgumentException("no WASM module on the classpath at " + resource);
      return new WasmTool(spec, Parser.parse(in.readAllBytes()), sandbox);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource, e);
    }
  }

  @Override
  public ToolSpec spec() {
    return spec;
  }

  @Override
  public Duration maxTimeout() {
    return sandbox.settings().timeout();
  }

  @Override
  public ToolResult run(JsonNode arguments, Duration timeout) {
    SandboxOutcome out = sandbox.run(module, arguments.toString().getBytes(StandardCharsets.UTF_8), timeout);
    return ProcessTool.toResult(name(), out, timeout);
  }
}
