package dev.orrery.cluster.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The per-key request limit, on a node that allows each key five requests a minute. Windows are the key's
 * own and open at its first request, so a test that uses fresh keys never meets a window's end.
 *
 * <p>The platform admin and the demo admin are keys too, with five requests each: one test issues its keys
 * as the one, the other as the other.
 */
@ExtendWith(SharedPostgres.class)
class KeyRateLimitTest {
  private static final int LIMIT = 5;
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    node = TestNode.start(db, Map.of("orrery.auth.rate-limit.requests-per-minute", LIMIT));
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.close();
  }

  @Test
  void aKeyPastItsLimitGets429WithRetryAfterWhileAnotherKeyOfItsTenantIsServed() {
    ApiClient platform = node.platformAdmin();
    ApiClient.Response created = platform.postJson("/api/v1/tenants", Map.of("tenant_id", "metered"));
    assertEquals(201, created.status(), created.body().toString());
    ApiClient busy = platform.as(TestTenant.issue(platform, "metered", "viewer").text());
    ApiClient quiet = platform.as(TestTenant.issue(platform, "metered", "viewer").text());

    long start = Instant.now().getEpochSecond();
    for (int i = 1; i <= LIMIT; i++) {
      ApiClient.Response r = busy.get("/api/v1/budgets/status");
      assertEquals(200, r.status(), "request " + i + ": " + r.body());
      assertEquals(Integer.toString(LIMIT), r.header("X-RateLimit-Limit"));
      assertEquals(Integer.toString(LIMIT - i), r.header("X-RateLimit-Remaining"), "request " + i);
      long reset = Long.parseLong(r.header("X-RateLimit-Reset"));
      assertTrue(reset > start && reset <= start + 61, "the window ends within a minute: " + reset + " vs " + start);
    }

    ApiClient.Response refused = busy.get("/api/v1/budgets/status");
    assertEquals(429, refused.status(), refused.body().toString());
    assertEquals("RATE_LIMIT_EXCEEDED", refused.errorCode());
    long retryAfter = Long.parseLong(refused.header("Retry-After"));
    assertTrue(retryAfter >= 1 && retryAfter <= 60, "Retry-After " + retryAfter);
    assertTrue(refused.body().at("/error/retry_after").asLong() >= 1, refused.body().toString());
    assertEquals("0", refused.header("X-RateLimit-Remaining"));

    ApiClient.Response other = quiet.get("/api/v1/budgets/status");
    assertEquals(200, other.status(), "another key of the same tenant is unaffected: " + other.body());
    assertEquals(Integer.toString(LIMIT - 1), other.header("X-RateLimit-Remaining"));

    // The gateway counts against the same key, and refuses in OpenAI's shape.
    ApiClient.Response models = busy.get("/v1/models");
    assertEquals(429, models.status(), models.body().toString());
    assertEquals("rate_limit_error", models.body().at("/error/type").asText(), models.body().toString());
    assertTrue(Long.parseLong(models.header("Retry-After")) >= 1);
  }

  @Test
  void aTokenMintedFromAKeyCountsAgainstThatKey() {
    ApiClient demoAdmin = node.api();
    String key = TestTenant.issue(demoAdmin, "demo", "viewer").text();
    ApiClient.Response exchanged = demoAdmin.as(null).postJson("/api/v1/auth/token", Map.of("api_key", key));
    assertEquals(200, exchanged.status(), exchanged.body().toString());
    ApiClient byKey = demoAdmin.as(key);
    ApiClient byToken = demoAdmin.as(exchanged.body().get("access_token").asText());

    for (int i = 1; i <= LIMIT; i++) {
      ApiClient.Response r = (i % 2 == 0 ? byToken : byKey).get("/api/v1/budgets/status");
      assertEquals(200, r.status(), "request " + i + ": " + r.body());
      assertEquals(Integer.toString(LIMIT - i), r.header("X-RateLimit-Remaining"), "request " + i);
    }
    assertEquals(429, byToken.get("/api/v1/budgets/status").status(), "the token is out of requests with its key");
    assertEquals(429, byKey.get("/api/v1/budgets/status").status());
  }
}
