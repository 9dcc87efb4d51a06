package dev.orrery.sandbox;

/**
 * How a sandboxed program ended: its exit code (-1 when it did not exit by itself), what it printed
 * (each stream capped, with a marker when cut), whether it was stopped at the wall-clock limit, and,
 * when the sandbox refused or stopped it for another reason (a trap, a memory request over the limit,
 * no sandbox on this machine), a {@code failureCode} from {@link ToolErrors} and a {@code failure}
 * message.
 */
public record SandboxOutcome(
    int exitCode, String stdout, String stderr, boolean truncated, boolean timedOut,
    String failureCode, String failure) {

  /** Nothing ran. */
  public static SandboxOutcome refused(String code, String why) {
    return new SandboxOutcome(-1, "", "", false, false, code, why);
  }

  public boolean failed() {
    return failureCode != null;
  }
}
