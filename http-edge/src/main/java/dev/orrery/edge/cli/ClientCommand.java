package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * What every {@code orrery runs} command shares: the client from {@code --url}/{@code --key}, stdout and
 * stderr of its {@code CommandLine}, and turning a failed request into its exit code with the server's
 * error code and message on stderr.
 */
abstract class ClientCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  ClientOptions options;

  /** A file or value of the command that is not usable: exit 2 with the message, like a bad flag. */
  static final class UsageError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageError(String message) {
      super(message);
    }
  }

  /** Does the command's work; answers its exit code. */
  abstract int run(OrreryClient client);

  @Override
  public final Integer call() {
    OrreryClient client;
    try {
      client = new OrreryClient(options.url, options.key);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--url: " + e.getMessage());
    }
    try {
      return run(client);
    } catch (ApiException e) {
      report(e);
      return e.exitCode();
    } catch (UsageError e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    } finally {
      out().flush();
      err().flush();
    }
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  boolean json() {
    return options.json();
  }

  /** A single JSON document on stdout, as the server answered it. */
  void printJson(JsonNode answer) {
    out().println(OrreryClient.pretty(answer));
    out().flush();
  }

  /** {@code error: CODE: message (HTTP 4xx)} and any problems the envelope lists; the envelope on stdout for json. */
  private void report(ApiException e) {
    if (json() && e.envelope() != null) printJson(e.envelope());
    PrintWriter err = err();
    err.println("error: " + e.code() + ": " + e.getMessage() + (e.status() > 0 ? " (HTTP " + e.status() + ")" : ""));
    JsonNode details = e.envelope() == null ? null : e.envelope().path("error").path("details");
    if (details != null) {
      for (JsonNode problem : details.path("problems")) {
        err.println("  " + problem.path("path").asText("") + ": " + problem.path("message").asText(""));
      }
      if (details.hasNonNull("retry_after")) err.println("  retry after " + details.get("retry_after").asText() + "s");
    }
    err.flush();
  }
}
