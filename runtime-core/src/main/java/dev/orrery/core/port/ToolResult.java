package dev.orrery.core.port;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;

/**
 * What a tool call produced. On success {@code output} is the tool's answer (for a program, its standard
 * output) and {@code error} is false. On failure {@code error} is true, {@code errorCode} says why in a
 * word a program can act on ({@code INVALID_ARGUMENTS}, {@code UNKNOWN_TOOL}, {@code TIMEOUT},
 * {@code EXIT_CODE}, {@code SANDBOX_UNAVAILABLE}, {@code FORBIDDEN} …) and {@code message} in words a
 * person can; {@code output} may still hold what the tool printed before it failed. {@code truncated}
 * says the output was cut at the size limit. {@code exitCode} is a program's exit code (the
 * {@code python} and {@code shell} tools), null for tools that are not programs.
 */
public record ToolResult(
    @JsonProperty("tool") String tool,
    @JsonProperty("output") String output,
    @JsonProperty("error") boolean error,
    @JsonProperty("error_code") String errorCode,
    @JsonProperty("message") String message,
    @JsonProperty("truncated") boolean truncated,
    @JsonProperty("duration_ms") long durationMs,
    @JsonProperty("exit_code") Integer exitCode) implements JsonSerializable {

  public ToolResult(String tool, String output, boolean error, String errorCode, String message, boolean truncated,
      long durationMs) {
    this(tool, output, error, errorCode, message, truncated, durationMs, null);
  }

  public ToolResult {
    output = output == null ? "" : output;
    if (error && (errorCode == null || errorCode.isBlank())) {
      throw new IllegalArgumentException("a failed tool result needs an error code");
    }
  }

  public static ToolResult ok(String tool, String output, boolean truncated, long durationMs) {
    return new ToolResult(tool, output, false, null, null, truncated, durationMs);
  }

  public static ToolResult failed(String tool, String errorCode, String message, long durationMs) {
    return new ToolResult(tool, "", true, errorCode, message, false, durationMs);
  }

  /** The same result with a program's exit code. */
  public ToolResult withExitCode(int code) {
    return new ToolResult(tool, output, error, errorCode, message, truncated, durationMs, code);
  }

  /** The same result, marked as taking {@code ms} milliseconds. */
  public ToolResult withDurationMs(long ms) {
    return new ToolResult(tool, output, error, errorCode, message, truncated, ms, exitCode);
  }
}
