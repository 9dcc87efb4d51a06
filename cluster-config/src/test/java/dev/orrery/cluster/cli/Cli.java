package dev.orrery.cluster.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.Main;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.edge.cli.EnvironmentDefaults;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * The {@code orrery} command run in-process as a user types it, with an environment of the test's choosing
 * (tests cannot set the JVM's), its stdout and stderr captured.
 */
final class Cli {
  private static final Pattern RUN_ID = Pattern.compile("^run (\\S+)", Pattern.MULTILINE);

  /** What a user sees: the exit code, stdout and stderr. */
  record Result(int exit, String out, String err) {
    JsonNode json() {
      try {
        return ApiClient.json().readTree(out);
      } catch (JsonProcessingException e) {
        throw new UncheckedIOException("stdout is not one JSON document: " + out, e);
      }
    }

    /** The id in the first {@code run <id> …} line of stdout. */
    String runId() {
      Matcher m = RUN_ID.matcher(out);
      if (!m.find()) throw new AssertionError("no 'run <id>' line in: " + out);
      return m.group(1);
    }

    @Override
    public String toString() {
      return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  private final Map<String, String> env;

  private Cli(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  /** A user whose environment points at the node with this key ({@code ORRERY_URL}, {@code ORRERY_API_KEY}). */
  static Cli of(ApiClient api) {
    Map<String, String> env = new HashMap<>();
    env.put(EnvironmentDefaults.URL_VARIABLE, api.baseUrl());
    if (api.bearer() != null) env.put(EnvironmentDefaults.KEY_VARIABLE, api.bearer());
    return new Cli(env);
  }

  static Cli withEnvironment(Map<String, String> env) {
    return new Cli(env);
  }

  Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine orrery = new CommandLine(new Main());
    orrery.setOut(new PrintWriter(out, true));
    orrery.setErr(new PrintWriter(err, true));
    orrery.setDefaultValueProvider(new EnvironmentDefaults(env));
    int exit = orrery.execute(args);
    return new Result(exit, out.toString(), err.toString());
  }
}
