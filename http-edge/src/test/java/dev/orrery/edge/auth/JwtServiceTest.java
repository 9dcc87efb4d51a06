package dev.orrery.edge.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.orrery.edge.auth.JwtService.VerifiedToken;
import dev.orrery.ledger.tenant.Role;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class JwtServiceTest {

  // 64 bytes, so the same secret can also sign the HS512 token that must be refused.
  private static final String SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret-s3cret-s3cret-s3cret-s3cret!!";
  private static final Instant T0 = Instant.parse("2025-03-01T12:00:00Z");
  private static final Duration TTL = Duration.ofMinutes(15);
  private static final KeyPair IDP = rsaKeyPair();
  private static final KeyPair STRANGER = rsaKeyPair();

  private static AuthSettings settings(Optional<Path> pem, Optional<Path> jwks) {
    return new AuthSettings(SECRET, pem, jwks, "orrery", TTL, 100);
  }

  private static JwtService service(Duration sinceT0) {
    return new JwtService(settings(Optional.empty(), Optional.empty()), clockAt(sinceT0));
  }

  private static Clock clockAt(Duration sinceT0) {
    return Clock.fixed(T0.plus(sinceT0), ZoneOffset.UTC);
  }

  @Test
  void anIssuedTokenVerifiesToItsTenantRoleAndKey() {
    JwtService jwt = service(Duration.ZERO);
    String token = jwt.issue("acme", "abcdefghij23", Role.DEVELOPER);
    VerifiedToken v = jwt.verify(token);
    assertEquals("acme", v.tenantId());
    assertEquals(Role.DEVELOPER, v.role());
    assertEquals("abcdefghij23", v.keyId());
    assertNotNull(v.jti());
    assertEquals(T0.plus(TTL), v.expiresAt());
    assertEquals(TTL, jwt.ttl());
  }

  @Test
  void everyIssuedTokenHasItsOwnJti() {
    JwtService jwt = service(Duration.ZERO);
    String a = jwt.verify(jwt.issue("acme", "abcdefghij23", Role.VIEWER)).jti();
    String b = jwt.verify(jwt.issue("acme", "abcdefghij23", Role.VIEWER)).jti();
    assertFalse(a.equals(b));
  }

  @Test
  void aTokenIsRefusedOnceExpiredBeyondTheClockSkew() {
    String token = service(Duration.ZERO).issue("acme", "abcdefghij23", Role.ADMIN);
    assertEquals("acme", service(TTL.plusSeconds(10)).verify(token).tenantId()); // within the skew
    var e = assertThrows(AuthException.class, () -> service(TTL.plusSeconds(31)).verify(token));
    assertEquals("token expired", e.getMessage());
  }

  @Test
  void aTokenSignedWithAnotherSecretIsRefused() {
    AuthSettings other = new AuthSettings("another-secret-another-secret-another-secret", Optional.empty(),
        Optional.empty(), "orrery", TTL, 100);
    String token = new JwtService(other, clockAt(Duration.ZERO)).issue("acme", "abcdefghij23", Role.ADMIN);
    assertRefused(() -> service(Duration.ZERO).verify(token));
  }

  @Test
  void aTamperedPayloadIsRefused() {
    JwtService jwt = service(Duration.ZERO);
    String[] parts = jwt.issue("acme", "abcdefghij23", Role.VIEWER).split("\\.");
    String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
    String promoted = payload.replace("\"viewer\"", "\"admin\"");
    assertFalse(payload.equals(promoted));
    assertRefused(() -> jwt.verify(parts[0] + "." + b64(promoted) + "." + parts[2]));
  }

  @Test
  void anUnsignedAlgNoneTokenIsRefused() {
    String token = b64("{\"alg\":\"none\"}") + "." + b64(validClaims()) + ".";
    assertRefused(() -> service(Duration.ZERO).verify(token));
    String noneTyped = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + b64(validClaims());
    assertRefused(() -> service(Duration.ZERO).verify(noneTyped));
  }

  @Test
  void anHs256TokenWithAnEmptySignatureIsRefused() {
    String token = b64("{\"alg\":\"HS256\"}") + "." + b64(validClaims()) + ".";
    assertRefused(() -> service(Duration.ZERO).verify(token));
  }

  @Test
  void anRs256TokenSignedByThePemKeyIsAccepted(@TempDir Path dir) throws Exception {
    JwtService jwt =
        new JwtService(settings(Optional.of(writePem(dir, IDP)), Optional.empty()), clockAt(Duration.ZERO));
    VerifiedToken v = jwt.verify(rsaToken(IDP, null, idpClaims().build()));
    assertEquals("acme", v.tenantId());
    assertEquals(Role.DEVELOPER, v.role());
    assertNull(v.keyId()); // an IdP knows nothing of our API keys
    assertEquals(T0.plus(Duration.ofMinutes(5)), v.expiresAt());
  }

  @Test
  void anRs256TokenSignedByAJwksKeyIsAcceptedWhenItsKidMatches(@TempDir Path dir) throws Exception {
    Path jwks = writeJwks(dir, new RSAKey.Builder((RSAPublicKey) STRANGER.getPublic()).keyID("old").build(),
        new RSAKey.Builder((RSAPublicKey) IDP.getPublic()).keyID("current").build());
    JwtService jwt = new JwtService(settings(Optional.empty(), Optional.of(jwks)), clockAt(Duration.ZERO));
    assertEquals("acme", jwt.verify(rsaToken(IDP, "current", idpClaims().build())).tenantId());
    assertEquals("acme", jwt.verify(rsaToken(IDP, null, idpClaims().build())).tenantId()); // no kid: try all
    assertRefused(() -> jwt.verify(rsaToken(IDP, "old", idpClaims().build()))); // kid names another key
  }

  @Test
  void anRs256TokenSignedByAnUnknownKeyIsRefused(@TempDir Path dir) throws Exception {
    Path jwks = writeJwks(dir, new RSAKey.Builder((RSAPublicKey) IDP.getPublic()).keyID("current").build());
    JwtService jwt =
        new JwtService(settings(Optional.of(writePem(dir, IDP)), Optional.of(jwks)), clockAt(Duration.ZERO));
    assertRefused(() -> jwt.verify(rsaToken(STRANGER, null, idpClaims().build())));
    assertRefused(() -> jwt.verify(rsaToken(STRANGER, "current", idpClaims().build())));
  }

  @Test
  void anRs256HeaderOverAnHmacIsRefused(@TempDir Path dir) throws Exception {
    Path pem = writePem(dir, IDP);
    String header = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    // Without RSA keys, and with one: neither the secret nor the public key text may act as an HMAC key.
    assertRefused(() -> service(Duration.ZERO).verify(hmacToken(header, validClaims(), SECRET)));
    JwtService withPem = new JwtService(settings(Optional.of(pem), Optional.empty()), clockAt(Duration.ZERO));
    assertRefused(() -> withPem.verify(hmacToken(header, validClaims(), SECRET)));
    assertRefused(() -> withPem.verify(hmacToken(header, validClaims(), Files.readString(pem))));
  }

  @Test
  void algorithmsOtherThanHs256AndRs256AreRefused() {
    var e = assertThrows(AuthException.class,
        () -> service(Duration.ZERO).verify(hmacToken("{\"alg\":\"HS512\"}", validClaims(), SECRET)));
    assertEquals("unsupported token algorithm", e.getMessage());
  }

  @Test
  void missingBlankOrWrongClaimsAreRefused() throws Exception {
    long exp = T0.plus(TTL).getEpochSecond();
    List<String> claims = List.of(
        "{\"iss\":\"orrery\",\"role\":\"admin\",\"key_id\":\"abcdefghij23\",\"exp\":" + exp + "}",
        "{\"iss\":\"orrery\",\"tenant\":\" \",\"role\":\"admin\",\"key_id\":\"abcdefghij23\",\"exp\":" + exp + "}",
        "{\"iss\":\"orrery\",\"tenant\":42,\"role\":\"admin\",\"key_id\":\"abcdefghij23\",\"exp\":" + exp + "}",
        "{\"iss\":\"orrery\",\"tenant\":\"acme\",\"key_id\":\"abcdefghij23\",\"exp\":" + exp + "}",
        "{\"iss\":\"orrery\",\"tenant\":\"acme\",\"role\":\"root\",\"key_id\":\"abcdefghij23\",\"exp\":" + exp + "}",
        "{\"iss\":\"orrery\",\"tenant\":\"acme\",\"role\":\"admin\",\"exp\":" + exp + "}",
        "{\"iss\":\"evil\",\"tenant\":\"acme\",\"role\":\"admin\",\"key_id\":\"abcdefghij23\",\"exp\":" + exp + "}",
        "{\"tenant\":\"acme\",\"role\":\"admin\",\"key_id\":\"abcdefghij23\",\"exp\":" + exp + "}",
        "{\"iss\":\"orrery\",\"tenant\":\"acme\",\"role\":\"admin\",\"key_id\":\"abcdefghij23\"}");
    JwtService jwt = service(Duration.ZERO);
    for (String c : claims) {
      assertThrows(AuthException.class, () -> jwt.verify(hmacToken("{\"alg\":\"HS256\"}", c, SECRET)), c);
    }
    assertEquals("acme", jwt.verify(hmacToken("{\"alg\":\"HS256\"}", validClaims(), SECRET)).tenantId());
  }

  @Test
  void garbageIsRefusedAsMalformed() {
    JwtService jwt = service(Duration.ZERO);
    for (String text : new String[] {null, "", "garbage", "a.b.c", "..", "eyJ.eyJ.sig", "x".repeat(100_000)}) {
      var e = assertThrows(AuthException.class, () -> jwt.verify(text));
      assertEquals("malformed token", e.getMessage());
    }
  }

  @Test
  void refusalsNeverEchoTheTokenOrItsParts(@TempDir Path dir) throws Exception {
    JwtService jwt =
        new JwtService(settings(Optional.of(writePem(dir, IDP)), Optional.empty()), clockAt(TTL.plusHours(1)));
    String issued = service(Duration.ZERO).issue("acme", "abcdefghij23", Role.ADMIN);
    List<String> tokens = List.of(
        issued, // expired by now
        issued.substring(0, issued.length() - 3),
        rsaToken(STRANGER, null, idpClaims().build()),
        hmacToken("{\"alg\":\"RS256\"}", validClaims(), SECRET),
        b64("{\"alg\":\"none\"}") + "." + b64(validClaims()) + ".",
        "ork_acme.abcdefghij23.AbCdEfGhIjKlMnOpQrStUvWxYz012345",
        "not-a-token-abcdefghij23");
    for (String token : tokens) {
      AuthException e = assertThrows(AuthException.class, () -> jwt.verify(token));
      assertFalse(e.getMessage().contains(token), e.getMessage());
      for (String part : token.split("\\.")) {
        if (part.length() > 3) assertFalse(e.getMessage().contains(part), e.getMessage());
      }
      assertFalse(e.getMessage().contains("abcdefghij23"), e.getMessage());
      assertNull(e.getCause());
    }
  }

  @Test
  void aKeyFileThatIsNotAnRsaPublicKeyFailsAtConstructionNamingTheFile(@TempDir Path dir) throws Exception {
    Path pem =
        Files.writeString(dir.resolve("idp.pem"), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
    var e = assertThrows(IllegalArgumentException.class,
        () -> new JwtService(settings(Optional.of(pem), Optional.empty()), clockAt(Duration.ZERO)));
    assertTrue(e.getMessage().contains(pem.toString()), e.getMessage());
  }

  @Test
  void issuingForAnInvalidTenantIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> service(Duration.ZERO).issue("Not Valid", "k", Role.VIEWER));
  }

  private static void assertRefused(Executable verify) {
    assertThrows(AuthException.class, verify);
  }

  private static String validClaims() {
    return "{\"iss\":\"orrery\",\"sub\":\"abcdefghij23\",\"tenant\":\"acme\",\"role\":\"viewer\","
        + "\"key_id\":\"abcdefghij23\",\"exp\":" + T0.plus(TTL).getEpochSecond() + "}";
  }

  private static JWTClaimsSet.Builder idpClaims() {
    return new JWTClaimsSet.Builder()
        .issuer("https://idp.example")
        .subject("user-7")
        .claim("tenant", "acme")
        .claim("role", "developer")
        .expirationTime(Date.from(T0.plus(Duration.ofMinutes(5))));
  }

  private static String rsaToken(KeyPair keys, String kid, JWTClaimsSet claims) throws JOSEException {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(kid).build(), claims);
    jwt.sign(new RSASSASigner((RSAPrivateKey) keys.getPrivate()));
    return jwt.serialize();
  }

  /** Built by hand so the header can claim any algorithm. */
  private static String hmacToken(String headerJson, String claimsJson, String key) throws GeneralSecurityException {
    String signingInput = b64(headerJson) + "." + b64(claimsJson);
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    byte[] sig = mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII));
    return signingInput + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(sig);
  }

  private static String b64(String json) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  private static Path writePem(Path dir, KeyPair keys) throws Exception {
    String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(keys.getPublic().getEncoded());
    return Files.writeString(dir.resolve("idp.pem"),
        "-----BEGIN PUBLIC KEY-----\n" + body + "\n-----END PUBLIC KEY-----\n");
  }

  private static Path writeJwks(Path dir, RSAKey... keys) throws Exception {
    return Files.writeString(dir.resolve("jwks.json"), new JWKSet(List.of(keys)).toString());
  }

  private static KeyPair rsaKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
