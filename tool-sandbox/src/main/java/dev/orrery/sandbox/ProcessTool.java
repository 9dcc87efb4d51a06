package dev.orrery.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.orrery.core.port.ToolResult;
import dev.orrery.core.port.ToolSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A snippet of code run in the {@link ProcessSandbox}: {@code python} (Python 3, isolated mode) or
 * {@code shell} (POSIX sh). The snippet is written to a file in the fresh working directory; its stdout
 * is the output; a non-zero exit is an error whose message carries the stderr.
 */
public final class ProcessTool implements Tool {
  static final int MAX_CODE_CHARS = 100_000;
  private static final int MAX_MESSAGE_CHARS = 4_000;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ToolSpec spec;
  private final String field;
  private final String fileName;
  private final List<String> program;
  private final ProcessSandbox sandbox;

  private ProcessTool(ToolSpec spec, String field, String fileName, List<String> program, ProcessSandbox sandbox) {
    this.spec = spec;
    this.field = field;
    this.fileName = fileName;
    this.program = List.copyOf(program);
    this.sandbox = sandbox;
  }

  /** {@code python}: {"code": "..."} run by Python 3 in isolated mode. */
  public static ProcessTool python(ProcessSandbox sandbox) {
    ToolSpec spec = new ToolSpec("python",
        "Runs a Python 3 snippet in a sandbox (no network, read-only file system except its working "
            + "directory, limited memory, CPU time and processes) and returns what it prints on stdout.",
        schema("code", "The Python 3 program to run."));
    return new ProcessTool(spec, "code", "main.py", List.of(sandbox.settings().python(), "-I", "-B", "main.py"), sandbox);
  }

  /** {@code shell}: {"script": "..."} run by POSIX sh. */
  public static ProcessTool shell(ProcessSandbox sandbox) {
    ToolSpec spec = new ToolSpec("shell",
        "Runs a POSIX shell script in a sandbox (no network, read-only file system except its working "
            + "directory, limited memory, CPU time and processes) and returns what it prints on stdout.",
        schema("script", "The shell script to run."));
    return new ProcessTool(spec, "script", "main.sh", List.of(sandbox.settings().shell(), "main.sh"), sandbox);
  }

  private static JsonNode schema(String field, String description) {
    ObjectNode s = JSON.createObjectNode();
    s.put("type", "object");
    ObjectNode property = s.putObject("properties").putObject(field);
    property.put("type", "string");
    property.put("description", description);
    property.put("minLength", 1);
    property.put("maxLength", MAX_CODE_CHARS);
    s.putArray("required").add(field);
    s.put("additionalProperties", false);
    return s;
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
    return toResult(name(), sandbox.run(new ArrayList<>(program), fileName, arguments.get(field).asText(), timeout), timeout);
  }

  /** The result a tool reports for how its sandboxed program ended. */
  static ToolResult toResult(String tool, SandboxOutcome out, Duration timeout) {
    if (out.timedOut()) {
      return new ToolResult(tool, out.stdout(), true, ToolErrors.TIMEOUT,
          "stopped at the wall-clock limit of " + timeout.toMillis() + " ms", out.truncated(), 0);
    }
    if (out.failed()) {
      return new ToolResult(tool, out.stdout(), true, out.failureCode(), out.failure(), out.truncated(), 0);
    }
    if (out.exitCode() != 0) {
      String err = out.stderr().strip();
      if (err.length() > MAX_MESSAGE_CHARS) err = "…" + err.substring(err.length() - MAX_MESSAGE_CHARS);
      return new ToolResult(tool, out.stdout(), true, ToolErrors.EXIT_CODE,
          "exit code " + out.exitCode() + (err.isEmpty() ? "" : ": " + err), out.truncated(), 0, out.exitCode());
    }
    return ToolResult.ok(tool, out.stdout(), out.truncated(), 0).withExitCode(0);
  }
}
