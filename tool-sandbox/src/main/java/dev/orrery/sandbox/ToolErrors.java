package dev.orrery.sandbox;

/** The {@code error_code} values of a failed {@link dev.orrery.core.port.ToolResult}. */
public final class ToolErrors {
  /** The arguments do not match the tool's schema; nothing ran. */
  public static final String INVALID_ARGUMENTS = "INVALID_ARGUMENTS";
  /** No tool of that name is registered (or it is switched off). */
  public static final String UNKNOWN_TOOL = "UNKNOWN_TOOL";
  /** The tool ran past its wall-clock limit and was stopped. */
  public static final String TIMEOUT = "TIMEOUT";
  /** The program ended with a non-zero exit code (its stderr is in the message). */
  public static final String EXIT_CODE = "EXIT_CODE";
  /** The WASM module broke a rule of the sandbox (a trap, a memory request over the limit). */
  public static final String TRAP = "TRAP";
  /** The module asks for more memory than the sandbox grants. */
  public static final String MEMORY_LIMIT = "MEMORY_LIMIT";
  /** The machine cannot sandbox processes, so the call was refused rather than run unsandboxed. */
  public static final String SANDBOX_UNAVAILABLE = "SANDBOX_UNAVAILABLE";
  /** The request is not allowed (a host off the allowlist, another scheme). */
  public static final String FORBIDDEN = "FORBIDDEN";
  /** A fetch failed (connection refused, a status of 400 or more). */
  public static final String FETCH_FAILED = "FETCH_FAILED";
  /** Too many calls are running; try again later. */
  public static final String BUSY = "BUSY";
  /** The sandbox itself failed; a bug or a broken machine, not the tool's fault. */
  public static final String INTERNAL = "INTERNAL";

  private ToolErrors() {}
}
