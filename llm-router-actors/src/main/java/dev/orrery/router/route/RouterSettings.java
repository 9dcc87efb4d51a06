package dev.orrery.router.route;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The router's own settings, read once from {@code orrery.llm}.
 *
 * @param defaultTimeout a call's deadline when its request names none
 * @param idempotencyTtl how long a completed result is kept by idempotency key
 * @param idempotencyMaxEntries how many such results are kept at most (oldest go first)
 * @param cacheTtl how long a route's response cache keeps an answer
 * @param cacheMaxEntries how many answers the response cache keeps at most
 * @param tenantWeights tenants' weights in the providers' fair queues (a tenant not named weighs 1)
 */
public record RouterSettings(
    Duration defaultTimeout,
    Duration idempotencyTtl,
    int idempotencyMaxEntries,
    Duration cacheTtl,
    int cacheMaxEntries,
    Map<String, Integer> tenantWeights) {

  public RouterSettings {
    positive("default-timeout", defaultTimeout);
    positive("idempotency.ttl", idempotencyTtl);
    positive("response-cache.ttl", cacheTtl);
    if (idempotencyMaxEntries <= 0) {
      throw new IllegalArgumentException("idempotency.max-entries must be > 0, was " + idempotencyMaxEntries);
    }
    if (cacheMaxEntries <= 0) throw new IllegalArgumentException("response-cache.max-entries must be > 0, was " + cacheMaxEntries);
    tenantWeights = Map.copyOf(tenantWeights);
    for (Map.Entry<String, Integer> e : tenantWeights.entrySet()) {
      if (e.getValue() < 1) {
        throw new IllegalArgumentException("tenant-weights." + e.getKey() + " must be >= 1, was " + e.getValue());
      }
    }
  }

  public int tenantWeight(String tenant) {
    return tenantWeights.getOrDefault(tenant, 1);
  }

  public static RouterSettings fromConfig(Config config) {
    Config c = config.getConfig("orrery.llm");
    Map<String, Integer> weights = new HashMap<>();
    Config w = c.getConfig("tenant-weights");
    for (String tenant : w.root().keySet()) {
      weights.put(tenant, w.getInt(com.typesafe.config.ConfigUtil.quoteString(tenant)));
    }
    return new RouterSettings(
        c.getDuration("default-timeout"),
        c.getDuration("idempotency.ttl"),
        c.getInt("idempotency.max-entries"),
        c.getDuration("response-cache.ttl"),
        c.getInt("response-cache.max-entries"),
        weights);
  }

  private static void positive(String key, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) throw new IllegalArgumentException(key + " must be > 0, was " + d);
  }
}
