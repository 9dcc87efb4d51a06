package dev.orrery.edge.cli;

/**
 * What {@code orrery runs …} exits with, for scripts. Picocli's own usage errors already exit 2; the
 * lines below are shown in every command's help.
 */
public final class ExitCodes {
  /** Done; with --wait or --follow, the run SUCCEEDED. */
  public static final int OK = 0;
  /** The run finished FAILED or CANCELLED, or a replay was not deterministic. */
  public static final int RUN_FAILED = 1;
  /** A bad flag, argument or file (picocli's usage error). */
  public static final int USAGE = 2;
  /** The node refused the request (4xx): its error code and message are on stderr. */
  public static final int REFUSED = 3;
  /** The node failed (5xx) or could not be reached. */
  public static final int UNAVAILABLE = 4;
  /** --timeout passed before the run finished. */
  public static final int TIMED_OUT = 5;

  static final String HEADING = "%nExit codes:%n";
  static final String OK_LINE = "0:done; with --wait/--follow the run SUCCEEDED";
  static final String RUN_FAILED_LINE = "1:the run finished FAILED or CANCELLED (or a replay diverged)";
  static final String USAGE_LINE = "2:usage error: a bad flag, argument or file";
  static final String REFUSED_LINE = "3:the server refused the request (4xx); its error code is on stderr";
  static final String UNAVAILABLE_LINE = "4:server error (5xx) or the server cannot be reached";
  static final String TIMED_OUT_LINE = "5:--timeout passed before the run finished";

  private ExitCodes() {}
}
