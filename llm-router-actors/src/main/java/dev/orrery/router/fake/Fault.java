package dev.orrery.router.fake;

import java.time.Duration;

/**
 * How {@link FakeProviderServer} misbehaves on one completion request (the models listing is never
 * faulted). Faults are values: enqueue them for the next requests or set one as the default.
 */
public sealed interface Fault {

  /** Answer normally. */
  static Fault none() {
    return new None();
  }

  /**
   * 429 in the protocol's error shape, with {@code Retry-After} in whole seconds (rounded up); the
   * OpenAI path also sends OpenAI's exact {@code retry-after-ms}.
   */
  static Fault rateLimited(Duration retryAfter) {
    return new Status(429, "Rate limit reached (fake)", retryAfter);
  }

  static Fault serverError() {
    return new Status(500, "The server had an error while processing your request (fake)", null);
  }

  static Fault unavailable() {
    return new Status(503, "The service is overloaded (fake)", null);
  }

  static Fault badRequest(String message) {
    return new Status(400, message, null);
  }

  /** Any status with an error body carrying {@code message}. */
  static Fault status(int status, String message) {
    return new Status(status, message, null);
  }

  /** Never answer (until the server closes): the client's timeout must fire. */
  static Fault hang() {
    return new Hang();
  }

  /** Answer normally, but only after {@code delay} (on top of the server's latency). */
  static Fault delay(Duration delay) {
    return new Delay(delay);
  }

  /** Stream normally with {@code betweenEvents} between SSE events (a non-streaming answer is unaffected). */
  static Fault slowStream(Duration betweenEvents) {
    return new SlowStream(betweenEvents);
  }

  /**
   * Send every event before the ({@code deltas}+1)-th content delta, then abort the connection without
   * ending the chunked body. A non-streaming answer is cut in the middle of its JSON.
   */
  static Fault dropMidStream(int deltas) {
    return new DropMidStream(deltas);
  }

  /**
   * Stream {@code deltas} content deltas, then report an error inside the stream (Anthropic's
   * {@code error} event with {@code overloaded_error}, which it sends under load; an {@code error} object
   * in an OpenAI chunk, as vLLM does) and end without the end marker. A non-streaming request gets a 503.
   */
  static Fault errorMidStream(int deltas) {
    return new ErrorMidStream(deltas);
  }

  /** A 200 whose JSON is broken: a truncated body, or a stream event that is not JSON. */
  static Fault malformedJson() {
    return new Malformed();
  }

  record None() implements Fault {}

  record Status(int status, String message, Duration retryAfter) implements Fault {
    public Status {
      if (status < 400 || status > 599) throw new IllegalArgumentException("a fault status is 4xx or 5xx, was " + status);
      if (retryAfter != null && retryAfter.isNegative()) {
        throw new IllegalArgumentException("retry-after must be >= 0, was " + retryAfter);
      }
    }
  }

  record Hang() implements Fault {}

  record Delay(Duration delay) implements Fault {
    public Delay {
      if (delay == null || delay.isNegative()) throw new IllegalArgumentException("delay must be >= 0, was " + delay);
    }
  }

  record SlowStream(Duration betweenEvents) implements Fault {
    public SlowStream {
      if (betweenEvents == null || betweenEvents.isNegative() || betweenEvents.isZero()) {
        throw new IllegalArgumentException("the time between events must be > 0, was " + betweenEvents);
      }
    }
  }

  record DropMidStream(int deltas) implements Fault {
    public DropMidStream {
      if (deltas < 0) throw new IllegalArgumentException("deltas before the drop must be >= 0, was " + deltas);
    }
  }

  record ErrorMidStream(int deltas) implements Fault {
    public ErrorMidStream {
      if (deltas < 0) throw new IllegalArgumentException("deltas before the error must be >= 0, was " + deltas);
    }
  }

  record Malformed() implements Fault {}
}
