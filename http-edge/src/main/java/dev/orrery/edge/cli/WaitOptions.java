package dev.orrery.edge.cli;

import java.time.Duration;
import picocli.CommandLine.Option;

/** {@code --wait}, {@code --follow} and {@code --timeout} of the commands that start a run. */
final class WaitOptions {
  @Option(names = "--wait", description = "Wait until the run finishes, showing progress on stderr; "
      + "exit 0 if it SUCCEEDED, 1 if it FAILED or was CANCELLED.")
  boolean waitForRun;

  @Option(names = "--follow", description = "Show the run live (nodes starting and finishing, token output, "
      + "cost) until it finishes; exits like --wait.")
  boolean follow;

  @Option(names = "--timeout", paramLabel = "DURATION", converter = TimeArguments.Timeout.class,
      description = "With --wait/--follow: give up after this long (30s, 5m, 1h) and exit 5. Default: no limit.")
  Duration timeout;

  @Option(names = "--poll-interval", paramLabel = "DURATION", converter = TimeArguments.Timeout.class, hidden = true,
      description = "How often --wait reads the run.")
  Duration pollInterval = Duration.ofMillis(500);

  @Option(names = "--progress-every", paramLabel = "DURATION", converter = TimeArguments.Timeout.class, hidden = true,
      description = "How often --wait writes a progress line.")
  Duration progressEvery = Duration.ofSeconds(5);

  boolean any() {
    return waitForRun || follow;
  }
}
