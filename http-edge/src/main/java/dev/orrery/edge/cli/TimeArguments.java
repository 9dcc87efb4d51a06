package dev.orrery.edge.cli;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Durations as people type them ({@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 2d}, or ISO-8601). */
final class TimeArguments {
  private static final Pattern SHORT = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  private TimeArguments() {}

  static Duration duration(String text) {
    String value = text.strip().toLowerCase(Locale.ROOT);
    Matcher m = SHORT.matcher(value);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      switch (m.group(2)) {
        case "ms":
          return Duration.ofMillis(n);
        case "s":
          return Duration.ofSeconds(n);
        case "m":
          return Duration.ofMinutes(n);
        case "h":
          return Duration.ofHours(n);
        default:
          return Duration.ofDays(n);
      }
    }
    try {
      return Duration.parse(text.strip().toUpperCase(Locale.ROOT));
    } catch (DateTimeParseException e) {
      throw new TypeConversionException("expected a duration like 30s, 5m, 1h or 2d, was '" + text + "'");
    }
  }

  /** {@code --timeout}: a positive duration. */
  static final class Timeout implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      Duration d = duration(value);
      if (d.isZero() || d.isNegative()) throw new TypeConversionException("must be positive, was '" + value + "'");
      return d;
    }
  }

  /** {@code --since}: an ISO-8601 instant, or a duration back from now. */
  static final class Since implements ITypeConverter<Instant> {
    @Override
    public Instant convert(String value) {
      try {
        return Instant.parse(value.strip());
      } catch (DateTimeParseException e) {
        try {
          return Instant.now().minus(duration(value));
        } catch (TypeConversionException notADuration) {
          throw new TypeConversionException(
              "expected an instant like 2026-01-31T12:00:00Z or a duration like 1h or 30m, was '" + value + "'");
        }
      }
    }
  }
}
