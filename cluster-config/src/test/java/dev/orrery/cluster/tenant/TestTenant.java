package dev.orrery.cluster.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.TestNode;
import java.util.Map;

/**
 * A tenant made through the API for one test, as a platform admin makes it: one key of each role, and a
 * spare viewer key whose id tests can name (to revoke it, or to show that nobody else could).
 */
record TestTenant(String id, ApiClient admin, ApiClient developer, ApiClient viewer, Key spare) {

  /** An issued key: the text a client presents, and the id the API names it by. */
  record Key(String id, String text) {}

  static TestTenant create(TestNode node, String tenantId) {
    ApiClient platform = node.platformAdmin();
    ApiClient.Response created = platform.postJson("/api/v1/tenants",
        Map.of("tenant_id", tenantId, "name", "Tenant " + tenantId));
    assertEquals(201, created.status(), () -> "tenant " + tenantId + ": " + created.body());
    ApiClient admin = node.api().as(issue(platform, tenantId, "admin").text());
    return new TestTenant(tenantId, admin, admin.as(issue(admin, tenantId, "developer").text()),
        admin.as(issue(admin, tenantId, "viewer").text()), issue(admin, tenantId, "viewer"));
  }

  /** A new key of the tenant, issued by {@code issuer} (an admin of it, or the platform admin). */
  static Key issue(ApiClient issuer, String tenantId, String role) {
    ApiClient.Response r = issuer.postJson("/api/v1/tenants/" + tenantId + "/keys", Map.of("role", role, "name", role));
    assertEquals(201, r.status(), () -> "key of " + tenantId + ": " + r.body());
    assertEquals(role, r.body().path("role").asText(), r.body().toString());
    return new Key(r.body().get("key_id").asText(), r.body().get("key").asText());
  }

  /** The id of the key a client presents, read from its text ({@code ork_<tenant>.<keyId>.<secret>}). */
  static String keyIdOf(ApiClient client) {
    return client.bearer().split("\\.")[1];
  }

  ApiClient spareClient() {
    return admin.as(spare.text());
  }
}
