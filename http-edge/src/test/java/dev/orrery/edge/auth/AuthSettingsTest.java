package dev.orrery.edge.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AuthSettingsTest {

  private static final String SECRET = "0123456789abcdef0123456789abcdef";

  private static Config withReference(String overrides) {
    return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  @Test
  void referenceDefaultsAreFifteenMinuteTokensAndAHundredRequestsPerMinute() {
    AuthSettings s = AuthSettings.fromConfig(withReference("orrery.auth.jwt.hs256-secret = \"\""));
    assertEquals("orrery", s.issuer());
    assertEquals(Duration.ofMinutes(15), s.tokenTtl());
    assertEquals(100, s.requestsPerMinute());
    assertEquals(Optional.empty(), s.rs256PublicKeyFile());
    assertEquals(Optional.empty(), s.jwksFile());
  }

  @Test
  void anEmptySecretBecomesARandomOneOfAtLeast32Bytes() {
    Config c = withReference("orrery.auth.jwt.hs256-secret = \"\"");
    AuthSettings a = AuthSettings.fromConfig(c);
    AuthSettings b = AuthSettings.fromConfig(c);
    assertTrue(a.jwtSecret().getBytes(StandardCharsets.UTF_8).length >= 32);
    assertNotEquals(a.jwtSecret(), b.jwtSecret());
  }

  @Test
  void configuredValuesAreRead() {
    AuthSettings s = AuthSettings.fromConfig(withReference("""
        orrery.auth.jwt { hs256-secret = "%s", rs256-public-key-file = "/etc/orrery/idp.pem",
          jwks-file = "/etc/orrery/jwks.json", issuer = "me", token-ttl = 2m }
        orrery.auth.rate-limit.requests-per-minute = 7
        """.formatted(SECRET)));
    assertEquals(SECRET, s.jwtSecret());
    assertEquals(Optional.of(Path.of("/etc/orrery/idp.pem")), s.rs256PublicKeyFile());
    assertEquals(Optional.of(Path.of("/etc/orrery/jwks.json")), s.jwksFile());
    assertEquals("me", s.issuer());
    assertEquals(Duration.ofMinutes(2), s.tokenTtl());
    assertEquals(7, s.requestsPerMinute());
  }

  @Test
  void theSecretNeverAppearsInToString() {
    AuthSettings s = new AuthSettings(SECRET, Optional.empty(), Optional.empty(), "orrery", Duration.ofMinutes(1), 1);
    assertFalse(s.toString().contains(SECRET), s.toString());
  }

  @Test
  void badValuesAreRefusedNamingTheValueButNotTheSecret() {
    var shortSecret = assertThrows(IllegalArgumentException.class, () -> new AuthSettings(
        "too-short", Optional.empty(), Optional.empty(), "orrery", Duration.ofMinutes(1), 1));
    assertTrue(shortSecret.getMessage().contains("was 9 bytes"), shortSecret.getMessage());
    assertFalse(shortSecret.getMessage().contains("too-short"));

    var ttl = assertThrows(IllegalArgumentException.class, () -> new AuthSettings(
        SECRET, Optional.empty(), Optional.empty(), "orrery", Duration.ZERO, 1));
    assertTrue(ttl.getMessage().contains("was PT0S"), ttl.getMessage());

    var rpm = assertThrows(IllegalArgumentException.class, () -> new AuthSettings(
        SECRET, Optional.empty(), Optional.empty(), "orrery", Duration.ofMinutes(1), 0));
    assertTrue(rpm.getMessage().contains("requests-per-minute must be > 0, was 0"), rpm.getMessage());

    var issuer = assertThrows(IllegalArgumentException.class, () -> new AuthSettings(
        SECRET, Optional.empty(), Optional.empty(), " ", Duration.ofMinutes(1), 1));
    assertTrue(issuer.getMessage().contains("issuer"), issuer.getMessage());
  }
}
