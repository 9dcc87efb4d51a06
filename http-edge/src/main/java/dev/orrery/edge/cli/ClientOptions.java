package dev.orrery.edge.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** The options every {@code orrery runs} command takes: where the node is, the key, and the output. */
final class ClientOptions {

  /** What a command prints on stdout. */
  enum Format {
    TEXT, JSON;

    static final class Converter implements ITypeConverter<Format> {
      @Override
      public Format convert(String value) {
        switch (value.toLowerCase(Locale.ROOT)) {
          case "text":
            return TEXT;
          case "json":
            return JSON;
          default:
            throw new TypeConversionException("expected json or text, was '" + value + "'");
        }
      }
    }
  }

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  boolean help;

  @Option(names = "--url", paramLabel = "URL",
      description = "The Orrery server (env ORRERY_URL), by default%n" + EnvironmentDefaults.DEFAULT_URL + ".")
  String url;

  @Option(names = "--key", paramLabel = "KEY",
      description = "API key, sent as a bearer token (env ORRERY_API_KEY; prefer the variable: a flag shows in "
          + "the process list).")
  String key;

  @Option(names = {"-o", "--output"}, paramLabel = "json|text", converter = Format.Converter.class,
      description = "text (default) for people; json prints the server's JSON answer (with --follow: one event per line).")
  Format output = Format.TEXT;

  boolean json() {
    return output == Format.JSON;
  }
}
