package dev.orrery.edge.cli;

import java.util.Map;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The defaults of {@code --url} and {@code --key} from the environment: {@code ORRERY_URL} (else
 * {@value #DEFAULT_URL}) and {@code ORRERY_API_KEY}. A flag given wins. Tests pass their own map with
 * {@code commandLine.setDefaultValueProvider(new EnvironmentDefaults(env))}.
 */
public final class EnvironmentDefaults implements IDefaultValueProvider {
  public static final String URL_VARIABLE = "ORRERY_URL";
  public static final String KEY_VARIABLE = "ORRERY_API_KEY";
  public static final String DEFAULT_URL = "http://127.0.0.1:8080";

  private final Map<String, String> env;

  /** The process's environment (picocli builds it this way from the commands' annotations). */
  public EnvironmentDefaults() {
    this(System.getenv());
  }

  public EnvironmentDefaults(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  @Override
  public String defaultValue(ArgSpec arg) {
    if (!(arg instanceof OptionSpec option)) return null;
    switch (option.longestName()) {
      case "--url":
        return nonBlank(env.get(URL_VARIABLE), DEFAULT_URL);
      case "--key":
        return nonBlank(env.get(KEY_VARIABLE), null);
      default:
        return null;
    }
  }

  private static String nonBlank(String value, String otherwise) {
    return value == null || value.isBlank() ? otherwise : value;
  }
}
