package dev.orrery.router.provider;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.apache.pekko.http.scaladsl.settings.ServerSentEventSettings;

/**
 * How the adapters' HTTP client behaves: one pekko-http host connection pool per provider endpoint.
 *
 * <p>The defaults are chosen for LLM traffic, which is the opposite of what pekko-http's defaults (4
 * connections, 32 open requests) assume: each exchange holds its connection for seconds to minutes
 * (HTTP/1.1 without pipelining serves one exchange per connection at a time), so the number of
 * connections <em>is</em> the number of calls in flight to that endpoint.
 *
 * <ul>
 *   <li>{@code maxConnections} 1024: higher than any per-provider concurrency limit the router sets, so the
 *       provider actor's bounded queue is the one governor and the pool never is (at 256 calls in flight
 *       with a 200 ms upstream, a 4-connection pool would cap us at 20 calls/s).
 *   <li>{@code maxOpenRequests} 4096 (a power of two, as pekko-http requires): calls beyond the open
 *       connections wait inside the pool instead of failing at once with "exceeded max-open-requests";
 *       four times the connections absorbs a burst while connections are being opened.
 *   <li>{@code idleTimeout} 5 min: a non-streaming completion sends no byte until it is done, and
 *       reasoning models take longer than pekko-http's 60 s default, which would cut them. pekko-http
 *       cannot abort a pooled request that has no response yet, so a request that timed out on our side
 *       keeps its connection until this fires; with 1024 connections that is a bounded loss.
 *   <li>{@code maxRetries} 0 (not configurable): the router retries with backoff and an idempotency key;
 *       a pool retrying on its own would call a provider twice behind the router's back.
 * </ul>
 *
 * <p>Read from {@code orrery.llm.http-client} when present, each key falling back to these defaults.
 */
public record ProviderHttpSettings(
    int maxConnections,
    int maxOpenRequests,
    Duration idleTimeout,
    Duration connectingTimeout,
    long maxResponseBytes,
    int maxSseEventBytes) {

  public static final String CONFIG_PATH = "orrery.llm.http-client";

  public ProviderHttpSettings {
    if (maxConnections <= 0) {
      throw new IllegalArgumentException("max-connections must be > 0, was " + maxConnections);
    }
    if (maxOpenRequests <= 0 || Integer.bitCount(maxOpenRequests) != 1) {
      throw new IllegalArgumentException("max-open-requests must be a power of two, was " + maxOpenRequests);
    }
    if (idleTimeout == null || idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw new IllegalArgumentException("idle-timeout must be > 0, was " + idleTimeout);
    }
    if (connectingTimeout == null || connectingTimeout.isNegative() || connectingTimeout.isZero()) {
      throw new IllegalArgumentException("connecting-timeout must be > 0, was " + connectingTimeout);
    }
    if (maxResponseBytes <= 0) {
      throw new IllegalArgumentException("max-response-bytes must be > 0, was " + maxResponseBytes);
    }
    if (maxSseEventBytes <= 0) {
      throw new IllegalArgumentException("max-sse-event-bytes must be > 0, was " + maxSseEventBytes);
    }
  }

  public static ProviderHttpSettings defaults() {
    // A non-streaming answer is one JSON document (16 MiB is far above any max_tokens); a streamed event
    // is one chunk, but some servers put a whole answer into their last chunk, hence 1 MiB.
    return new ProviderHttpSettings(1024, 4096, Duration.ofMinutes(5), Duration.ofSeconds(10), 16L << 20, 1 << 20);
  }

  /** The settings under {@value #CONFIG_PATH}, each missing key taken from {@link #defaults()}. */
  public static ProviderHttpSettings fromConfig(Config root) {
    ProviderHttpSettings d = defaults();
    if (!root.hasPath(CONFIG_PATH)) return d;
    Config c = root.getConfig(CONFIG_PATH);
    return new ProviderHttpSettings(
        c.hasPath("max-connections") ? c.getInt("max-connections") : d.maxConnections(),
        c.hasPath("max-open-requests") ? c.getInt("max-open-requests") : d.maxOpenRequests(),
        c.hasPath("idle-timeout") ? c.getDuration("idle-timeout") : d.idleTimeout(),
        c.hasPath("connecting-timeout") ? c.getDuration("connecting-timeout") : d.connectingTimeout(),
        c.hasPath("max-response-bytes") ? c.getBytes("max-response-bytes") : d.maxResponseBytes(),
        c.hasPath("max-sse-event-bytes") ? c.getBytes("max-sse-event-bytes").intValue() : d.maxSseEventBytes());
  }

  /** The pool these settings describe, layered over the system's {@code pekko.http} configuration. */
  ConnectionPoolSettings poolSettings(Config systemConfig) {
    Config overrides = ConfigFactory.parseString(
        "pekko.http.host-connection-pool {\n"
            + "  max-connections = " + maxConnections + "\n"
            + "  max-open-requests = " + maxOpenRequests + "\n"
            + "  max-retries = 0\n"
            // The adapter subscribes to an entity as soon as its headers arrive; 5 s (not 1 s) leaves room
            // for a dispatcher busy with thousands of calls on two cores.
            + "  response-entity-subscription-timeout = 5 s\n"
            + "  client.idle-timeout = " + idleTimeout.toMillis() + " ms\n"
            + "  client.connecting-timeout = " + connectingTimeout.toMillis() + " ms\n"
            // Answers' headers stay raw: we read only Retry-After (raw) and the content type (always
            // parsed), and a provider's dozen others (its request id, rate-limit counters, cookies, the
            // date) would each be parsed into a model on every call.
            + "  client.parsing.modeled-header-parsing = off\n"
            + "}\n");
    return ConnectionPoolSettings.create(overrides.withFallback(systemConfig));
  }

  /**
   * SSE parsing limits: a {@code data} line may be {@code maxSseEventBytes} long, and its event a little
   * longer for its other fields (pekko-http requires the event limit to exceed the line limit).
   */
  ServerSentEventSettings sseSettings(Config systemConfig) {
    Config overrides = ConfigFactory.parseString("pekko.http.sse { max-line-size = " + maxSseEventBytes
        + ", max-event-size = " + (maxSseEventBytes + 4096) + " }");
    return ServerSentEventSettings.apply(overrides.withFallback(systemConfig));
  }
}
