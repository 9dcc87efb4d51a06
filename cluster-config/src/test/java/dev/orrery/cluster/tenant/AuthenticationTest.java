package dev.orrery.cluster.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.BuildDirectory;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Who may call, over real HTTP: API keys, the tokens they are exchanged for, tokens this test signs itself
 * with the node's HS256 secret, and RS256 tokens of an identity provider whose public key the node trusts.
 * Every refused credential is the same 401 with a Bearer challenge that repeats nothing of what was sent.
 */
@ExtendWith(SharedPostgres.class)
class AuthenticationTest {
  /** The node's HS256 secret, known here so the test can sign tokens as the node does. */
  private static final String SECRET = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
  private static final Duration TTL = Duration.ofMinutes(7);
  private static final String HELLO = "{\"workflow_name\": \"hello\", \"inputs\": {\"name\": \"Ada\"}}";
  private static final AtomicInteger IDS = new AtomicInteger();

  private static Path idpDirectory;
  private static KeyPair idp;
  private static String idpPem;
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    assertEquals(40, SECRET.length());
    idp = rsaKeyPair();
    idpPem = pem(idp.getPublic());
    idpDirectory = BuildDirectory.newTempDirectory("orrery-idp-");
    Path publicKey = Files.writeString(idpDirectory.resolve("idp-public.pem"), idpPem);
    node = TestNode.start(db, Map.of(
        "orrery.auth.jwt.hs256-secret", SECRET,
        "orrery.auth.jwt.token-ttl", "7m",
        "orrery.auth.jwt.rs256-public-key-file", publicKey.toString()));
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (node != null) node.close();
    } finally {
      if (idpDirectory != null) BuildDirectory.deleteRecursively(idpDirectory);
    }
  }

  /** A credential the node must refuse, and the text of it (and its key id) that must not come back. */
  private record Refused(String what, String authorization, List<String> mustNotEcho) {}

  @Test
  void everyMissingOrInvalidCredentialIs401WithABearerChallengeAndNoEcho() throws Exception {
    TestTenant t = newTenant();
    String developerKey = t.developer().bearer();
    String developerKeyId = TestTenant.keyIdOf(t.developer());
    Instant now = Instant.now();
    JWTClaimsSet valid = ourClaims(t.id(), developerKeyId, "developer", now.plus(Duration.ofMinutes(5))).build();

    TestTenant.Key doomed = TestTenant.issue(t.admin(), t.id(), "developer");
    String doomedToken = exchange(doomed.text());
    assertEquals(200, anonymous().as(doomedToken).get("/api/v1/budgets/status").status(), "the token works until...");
    assertEquals(200, t.admin().delete("/api/v1/tenants/" + t.id() + "/keys/" + doomed.id()).status());

    String basic = Base64.getEncoder().encodeToString((t.id() + ":" + developerKey).getBytes(StandardCharsets.UTF_8));
    String unknownKey = "ork_" + t.id() + ".qqqqqqqqqqqq.AAAAbbbbCCCCddddEEEEffffGGGGhhhh";
    String expired = hs256(SECRET.getBytes(StandardCharsets.UTF_8),
        ourClaims(t.id(), developerKeyId, "developer", now.minus(Duration.ofMinutes(2))).build());
    String otherSecret = hs256("another-secret-that-is-long-enough-for-hs256".getBytes(StandardCharsets.UTF_8), valid);
    String unsigned = new PlainJWT(valid).serialize();
    String noTenant = hs256(SECRET.getBytes(StandardCharsets.UTF_8),
        new JWTClaimsSet.Builder(valid).claim("tenant", null).build());
    String otherIssuer = hs256(SECRET.getBytes(StandardCharsets.UTF_8),
        new JWTClaimsSet.Builder(valid).issuer("someone-else").build());
    // The classic confusion: the IdP's public key, which anyone may have, used as an HMAC secret.
    String keyedWithPublicKey = hs256(idpPem.getBytes(StandardCharsets.UTF_8), valid);

    List<Refused> refused = List.of(
        new Refused("no Authorization header", null, List.of()),
        new Refused("Basic credentials", "Basic " + basic, List.of(basic, developerKey, developerKeyId)),
        new Refused("an empty bearer", "Bearer ", List.of()),
        new Refused("a garbage bearer", "Bearer not-a-key-nor-a-token", List.of("not-a-key-nor-a-token")),
        new Refused("a well-formed key never issued", "Bearer " + unknownKey, List.of(unknownKey, "qqqqqqqqqqqq")),
        new Refused("an expired token", "Bearer " + expired, List.of(expired, developerKeyId)),
        new Refused("a token signed with another secret", "Bearer " + otherSecret, List.of(otherSecret, developerKeyId)),
        new Refused("an unsigned (alg none) token", "Bearer " + unsigned, List.of(unsigned, developerKeyId)),
        new Refused("a token without a tenant", "Bearer " + noTenant, List.of(noTenant, developerKeyId)),
        new Refused("a token of another issuer", "Bearer " + otherIssuer, List.of(otherIssuer, developerKeyId)),
        new Refused("an HS256 token keyed with the RS256 public key", "Bearer " + keyedWithPublicKey,
            List.of(keyedWithPublicKey, developerKeyId)),
        new Refused("a token minted from a key since revoked", "Bearer " + doomedToken, List.of(doomedToken, doomed.id())),
        new Refused("a revoked key", "Bearer " + doomed.text(), List.of(doomed.text(), doomed.id())));

    for (Refused r : refused) {
      Map<String, String> headers = new HashMap<>();
      if (r.authorization() != null) headers.put("Authorization", r.authorization());
      assertUnauthenticated(r, anonymous().request("GET", "/api/v1/budgets/status", null, headers), "UNAUTHENTICATED");
      assertUnauthenticated(r, anonymous().request("POST", "/api/v1/runs", HELLO, headers), "UNAUTHENTICATED");
      assertUnauthenticated(r, anonymous().request("GET", "/v1/models", null, headers), "invalid_api_key");
    }
  }

  @Test
  void aTokenFromAKeyActsWithThatKeysTenantAndRole() throws Exception {
    TestTenant t = newTenant();
    ApiClient.Response exchanged = anonymous().postJson("/api/v1/auth/token", Map.of("api_key", t.viewer().bearer()));
    assertEquals(200, exchanged.status(), exchanged.body().toString());
    assertEquals("Bearer", exchanged.body().get("token_type").asText());
    assertEquals(TTL.toSeconds(), exchanged.body().get("expires_in").asLong(), "expires_in is the configured ttl");
    String token = exchanged.body().get("access_token").asText();
    JWTClaimsSet claims = SignedJWT.parse(token).getJWTClaimsSet();
    assertEquals(t.id(), claims.getStringClaim("tenant"));
    assertEquals("viewer", claims.getStringClaim("role"));
    assertEquals(TTL.toSeconds(),
        Duration.between(claims.getIssueTime().toInstant(), claims.getExpirationTime().toInstant()).toSeconds());

    ApiClient viewer = anonymous().as(token);
    ApiClient.Response status = viewer.get("/api/v1/budgets/status");
    assertEquals(200, status.status(), status.body().toString());
    assertEquals(t.id(), status.body().get("tenant_id").asText());
    assertNotNull(status.header("X-RateLimit-Remaining"), "a token's requests are counted too");
    ApiClient.Response submit = viewer.postJson("/api/v1/runs", HELLO);
    assertEquals(403, submit.status(), submit.body().toString());
    assertEquals("FORBIDDEN", submit.errorCode());

    ApiClient developer = anonymous().as(exchange(t.developer().bearer()));
    assertEquals(201, developer.postJson("/api/v1/runs", HELLO).status(), "a developer's token submits runs");
    ApiClient admin = anonymous().as(exchange(t.admin().bearer()));
    ApiClient.Response budget = admin.postJson("/api/v1/budgets", Map.of("period", "monthly", "limit_cents", 1000));
    assertEquals(200, budget.status(), budget.body().toString());
    assertEquals(t.id(), budget.body().get("tenant_id").asText());
  }

  @Test
  void aTokenExchangeWithARevokedOrBogusKeyIs401() {
    TestTenant t = newTenant();
    TestTenant.Key revoked = TestTenant.issue(t.admin(), t.id(), "viewer");
    assertEquals(200, t.admin().delete("/api/v1/tenants/" + t.id() + "/keys/" + revoked.id()).status());
    String bogus = "ork_" + t.id() + ".qqqqqqqqqqqq.AAAAbbbbCCCCddddEEEEffffGGGGhhhh";
    for (String key : List.of(revoked.text(), bogus, "not a key", t.viewer().bearer() + "x")) {
      ApiClient.Response r = anonymous().postJson("/api/v1/auth/token", Map.of("api_key", key));
      assertEquals(401, r.status(), key + ": " + r.body());
      assertEquals("UNAUTHENTICATED", r.errorCode(), r.body().toString());
      assertFalse(r.raw().body().contains(key), "the key is not echoed: " + r.body());
    }
    ApiClient.Response none = anonymous().postJson("/api/v1/auth/token", Map.of());
    assertEquals(401, none.status(), none.body().toString());
  }

  /** RFC 7235 §3.1: a 401 MUST carry a challenge, also when the credential came in the body. */
  @Test
  void aRefusedTokenExchangeCarriesABearerChallenge() {
    TestTenant t = newTenant();
    String bogus = "ork_" + t.id() + ".qqqqqqqqqqqq.AAAAbbbbCCCCddddEEEEffffGGGGhhhh";
    ApiClient.Response r = anonymous().postJson("/api/v1/auth/token", Map.of("api_key", bogus));
    assertEquals(401, r.status(), r.body().toString());
    assertNotNull(r.header("WWW-Authenticate"), "a 401 without WWW-Authenticate: " + r.raw().headers().map());
    assertTrue(r.header("WWW-Authenticate").startsWith("Bearer"), r.header("WWW-Authenticate"));
  }

  @Test
  void revokingAKeyStopsItAndItsTokensAtOnce() throws Exception {
    TestTenant t = newTenant();
    TestTenant.Key key = TestTenant.issue(t.admin(), t.id(), "developer");
    ApiClient byKey = anonymous().as(key.text());
    ApiClient byToken = anonymous().as(exchange(key.text()));
    assertEquals(200, byKey.get("/api/v1/budgets/status").status());
    assertEquals(200, byToken.get("/api/v1/budgets/status").status());

    ApiClient.Response revoked = t.admin().delete("/api/v1/tenants/" + t.id() + "/keys/" + key.id());
    assertEquals(200, revoked.status(), revoked.body().toString());
    assertEquals(key.id(), revoked.body().get("key_id").asText());
    assertTrue(revoked.body().hasNonNull("revoked_at"), revoked.body().toString());

    ApiClient.Response next = byKey.get("/api/v1/budgets/status");
    assertEquals(401, next.status(), "the very next request with the key: " + next.body());
    assertEquals("Bearer", next.header("WWW-Authenticate"));
    assertEquals(401, byToken.get("/api/v1/budgets/status").status(), "a token lives no longer than its key");
    assertEquals(200, t.developer().get("/api/v1/budgets/status").status(), "the tenant's other keys still work");
  }

  @Test
  void aSelfSignedTokenNeverActsAboveItsKeysRoleNorForAnotherTenant() throws Exception {
    TestTenant t = newTenant();
    TestTenant other = newTenant();
    Instant exp = Instant.now().plus(Duration.ofMinutes(5));
    byte[] secret = SECRET.getBytes(StandardCharsets.UTF_8);

    // Signed with the right secret, naming a viewer key but claiming admin: it acts as the viewer it is.
    String raised = hs256(secret, ourClaims(t.id(), TestTenant.keyIdOf(t.viewer()), "admin", exp).build());
    ApiClient asRaised = anonymous().as(raised);
    assertEquals(200, asRaised.get("/api/v1/budgets/status").status(), "a well-signed token of a live key is accepted");
    ApiClient.Response budget = asRaised.postJson("/api/v1/budgets", Map.of("period", "daily", "limit_cents", 1));
    assertEquals(403, budget.status(), budget.body().toString());
    assertEquals("FORBIDDEN", budget.errorCode());

    // Another tenant's key id under this tenant's name: no such key here.
    String crossed = hs256(secret, ourClaims(t.id(), TestTenant.keyIdOf(other.admin()), "admin", exp).build());
    ApiClient.Response r = anonymous().as(crossed).get("/api/v1/budgets/status");
    assertEquals(401, r.status(), r.body().toString());
    assertEquals("UNAUTHENTICATED", r.errorCode());
  }

  @Test
  void anRs256TokenOfTheTrustedIdentityProviderIsAcceptedAndAForgedOneIsNot() throws Exception {
    TestTenant t = newTenant();
    Instant exp = Instant.now().plus(Duration.ofMinutes(5));
    JWTClaimsSet developer = idpClaims(t.id(), "developer", exp);

    ApiClient fromIdp = anonymous().as(rs256(idp.getPrivate(), developer));
    ApiClient.Response status = fromIdp.get("/api/v1/budgets/status");
    assertEquals(200, status.status(), status.body().toString());
    assertEquals(t.id(), status.body().get("tenant_id").asText());
    ApiClient.Response submit = fromIdp.postJson("/api/v1/runs", HELLO);
    assertEquals(201, submit.status(), submit.body().toString());
    String runId = submit.body().get("run_id").asText();
    assertEquals(200, t.viewer().get("/api/v1/runs/" + runId).status(), "the run is the claimed tenant's");

    ApiClient.Response viewerSubmit = anonymous().as(rs256(idp.getPrivate(), idpClaims(t.id(), "viewer", exp)))
        .postJson("/api/v1/runs", HELLO);
    assertEquals(403, viewerSubmit.status(), viewerSubmit.body().toString());

    String forged = rs256(rsaKeyPair().getPrivate(), developer);
    String expired = rs256(idp.getPrivate(), idpClaims(t.id(), "developer", Instant.now().minus(Duration.ofMinutes(2))));
    for (Refused r : List.of(new Refused("an RS256 token of another key", "Bearer " + forged, List.of(forged)),
        new Refused("an expired RS256 token", "Bearer " + expired, List.of(expired)))) {
      assertUnauthenticated(r, anonymous().request("GET", "/api/v1/budgets/status", null,
          Map.of("Authorization", r.authorization())), "UNAUTHENTICATED");
    }
  }

  /**
   * The IdP is trusted to say which tenant a person belongs to, not to make platform admins: on this node the
   * platform admin is the configured key, and no tenant "platform" even exists.
   */
  @Test
  void anIdentityProviderTokenCannotMakeItsBearerAPlatformAdmin() throws Exception {
    assertEquals(404, node.platformAdmin().get("/api/v1/tenants/platform").status(), "there is no platform tenant");
    TestTenant t = newTenant();
    ApiClient claimsPlatform = anonymous().as(rs256(idp.getPrivate(),
        idpClaims("platform", "admin", Instant.now().plus(Duration.ofMinutes(5)))));

    String id = "idp-made-" + IDS.incrementAndGet();
    ApiClient.Response create = claimsPlatform.postJson("/api/v1/tenants", Map.of("tenant_id", id));
    assertTrue(create.status() == 401 || create.status() == 403, "an IdP token created a tenant: " + create.status()
        + " " + create.body());
    ApiClient.Response keys = claimsPlatform.get("/api/v1/tenants/" + t.id() + "/keys");
    assertTrue(keys.status() == 401 || keys.status() == 404, "an IdP token listed another tenant's keys: "
        + keys.status() + " " + keys.body());
    assertEquals(404, node.platformAdmin().get("/api/v1/tenants/" + id).status(), "tenant " + id + " was not made");
  }

  // ---- helpers -----------------------------------------------------------------------------------------

  private static TestTenant newTenant() {
    return TestTenant.create(node, "auth-" + IDS.incrementAndGet());
  }

  /** A client that sends no credential of its own. */
  private static ApiClient anonymous() {
    return node.api().as(null);
  }

  private static void assertUnauthenticated(Refused refused, ApiClient.Response r, String code) {
    String what = refused.what() + " on " + r.raw().request().method() + " " + r.raw().request().uri().getPath()
        + ": " + r.status() + " " + r.body();
    assertEquals(401, r.status(), what);
    assertEquals(code, r.errorCode(), what);
    assertEquals("Bearer", r.header("WWW-Authenticate"), what);
    for (String secret : refused.mustNotEcho()) {
      assertFalse(r.raw().body().contains(secret), "the answer repeats '" + secret + "': " + what);
    }
  }

  private static String exchange(String apiKey) {
    ApiClient.Response r = anonymous().postJson("/api/v1/auth/token", Map.of("api_key", apiKey));
    assertEquals(200, r.status(), r.body().toString());
    return r.body().get("access_token").asText();
  }

  /** The claims of a token as this node issues them. */
  private static JWTClaimsSet.Builder ourClaims(String tenant, String keyId, String role, Instant exp) {
    return new JWTClaimsSet.Builder().issuer("orrery").subject(keyId).claim("tenant", tenant).claim("role", role)
        .claim("key_id", keyId).jwtID(UUID.randomUUID().toString())
        .issueTime(Date.from(exp.minus(TTL))).expirationTime(Date.from(exp));
  }

  /** The claims of an identity provider's token: a person, their tenant and role, no key of ours. */
  private static JWTClaimsSet idpClaims(String tenant, String role, Instant exp) {
    return new JWTClaimsSet.Builder().issuer("https://idp.example").subject("ada@example.com").claim("tenant", tenant)
        .claim("role", role).issueTime(Date.from(exp.minus(TTL))).expirationTime(Date.from(exp)).build();
  }

  private static String hs256(byte[] secret, JWTClaimsSet claims) throws JOSEException {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(), claims);
    jwt.sign(new MACSigner(secret));
    return jwt.serialize();
  }

  private static String rs256(PrivateKey key, JWTClaimsSet claims) throws JOSEException {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).type(JOSEObjectType.JWT).build(), claims);
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  private static KeyPair rsaKeyPair() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    return generator.generateKeyPair();
  }

  private static String pem(PublicKey key) {
    return "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key.getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
  }
}
