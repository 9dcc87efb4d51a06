package dev.orrery.router.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;

/**
 * A request as {@link FakeProviderServer} received it.
 *
 * @param sequence 1 for the first request the server received, then 2, …
 * @param headers by lower-case name (the last one wins when a name repeats)
 * @param receivedAt wall-clock arrival, for reading
 * @param receivedNanos {@link System#nanoTime()} at arrival, for measuring gaps between requests
 */
public record RecordedRequest(
    long sequence,
    String method,
    String path,
    Map<String, String> headers,
    String body,
    Instant receivedAt,
    long receivedNanos) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public RecordedRequest {
    headers = Map.copyOf(headers);
  }

  /** The body as JSON (the request body every completion endpoint takes). */
  public JsonNode json() {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new UncheckedIOException("request " + sequence + " has no JSON body", e);
    }
  }

  public String header(String name) {
    return headers.get(name.toLowerCase(Locale.ROOT));
  }
}
