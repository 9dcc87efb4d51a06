package dev.orrery.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import dev.orrery.core.port.ToolPort;
import dev.orrery.core.port.ToolSpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The tool sandbox of a node, built from {@code orrery.tools}: the registry with the built-in tools
 * that are switched on, and the sandboxes and threads behind it. A node builds it once with
 * {@link #fromConfig} and closes it at shutdown.
 */
public final class ToolSandbox implements AutoCloseable {
  /** The names of the built-in tools. */
  public static final Set<String> BUILT_IN = Set.of("calculator", "python", "shell", "http_fetch");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ToolSettings settings;
  private final ThreadPoolExecutor executor;
  private final WasmSandbox wasm;
  private final ProcessSandbox process;
  private final ToolRegistry registry;

  private ToolSandbox(ToolSettings settings, Clock clock) {
    for (String name : settings.enabled()) {
      if (!BUILT_IN.contains(name)) {
        throw new IllegalArgumentException("orrery.tools.enabled names an unknown tool '" + name + "'; the built-in tools are "
            + String.join(", ", BUILT_IN.stream().sorted().toList()));
      }
    }
    this.settings = settings;
    AtomicInteger n = new AtomicInteger();
    this.executor = new ThreadPoolExecutor(settings.maxConcurrent(), settings.maxConcurrent(), 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(settings.maxConcurrent()), r -> {
          Thread t = new Thread(r, "orrery-tool-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    this.wasm = new WasmSandbox(settings.wasm());
    boolean processTools = settings.enabled().contains("python") || settings.enabled().contains("shell");
    this.process = processTools ? new ProcessSandbox(settings.process()) : null;
    var tools = new ArrayList<Tool>();
    if (settings.enabled().contains("calculator")) tools.add(calculator(wasm));
    if (settings.enabled().contains("python")) tools.add(ProcessTool.python(process));
    if (settings.enabled().contains("shell")) tools.add(ProcessTool.shell(process));
    if (settings.enabled().contains("http_fetch")) tools.add(new HttpFetchTool(settings.httpFetch()));
    this.registry = new ToolRegistry(tools, executor, clock, settings.idempotencyEntries(), settings.idempotencyTtl());
  }

  /** Builds the sandbox from {@code orrery.tools} of {@code config} (which has this module's reference.conf). */
  public static ToolSandbox fromConfig(Config config) {
    return create(ToolSettings.fromConfig(config), Clock.systemUTC());
  }

  public static ToolSandbox create(ToolSettings settings, Clock clock) {
    return new ToolSandbox(settings, clock);
  }

  /** The port steps and agents call. */
  public ToolPort port() {
    return registry;
  }

  public ToolRegistry registry() {
    return registry;
  }

  public ToolSettings settings() {
    return settings;
  }

  /** Whether python and shell can run here (false also when both are switched off). */
  public boolean processSandboxSupported() {
    return process != null && process.supported();
  }

  /** Why python and shell cannot run here, or what isolates them. */
  public String processSandboxReason() {
    return process == null ? "python and shell are switched off" : process.reason();
  }

  /** The {@code calculator} tool: the WASM module built from {@code src/main/wat/calculator.wat}. */
  static WasmTool calculator(WasmSandbox wasm) {
    ObjectNode schema = JSON.createObjectNode();
    schema.put("type", "object");
    ObjectNode expression = schema.putObject("properties").putObject("expression");
    expression.put("type", "string");
    expression.put("description", "An arithmetic expression: numbers (e.g. 12 or 3.25), + - * /, parentheses.");
    expression.put("minLength", 1);
    expression.put("maxLength", 1000);
    expression.put("pattern", "^[0-9+\\-*/(). ]+$");
    schema.putArray("required").add("expression");
    schema.put("additionalProperties", false);
    return WasmTool.fromClasspath(new ToolSpec("calculator",
        "Evaluates an arithmetic expression exactly as written (+, -, *, /, parentheses, decimals) and "
            + "returns the number, with up to 9 decimals.", (JsonNode) schema), "wasm/calculator.wasm", wasm);
  }

  @Override
  public void close() {
    executor.shutdownNow();
    wasm.close();
    if (process != null) process.close();
  }
}
