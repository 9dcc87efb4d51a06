package dev.orrery.edge.auth;

import com.typesafe.config.Config;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;

/**
 * Settings of tokens and rate limits, read once from {@code orrery.auth}.
 *
 * @param jwtSecret HS256 key of the tokens this node issues, at least 32 bytes of UTF-8; an empty string means
 *     a random per-process secret
 * @param rs256PublicKeyFile PEM {@code -----BEGIN PUBLIC KEY-----} file whose RSA key may sign RS256 tokens
 * @param jwksFile JWKS JSON file whose RSA keys may sign RS256 tokens
 * @param issuer {@code iss} of the tokens this node issues, and required on every HS256 token it accepts
 * @param tokenTtl lifetime of an issued token
 * @param requestsPerMinute requests an API key may make per one-minute window
 */
public record AuthSettings(
    String jwtSecret,
    Optional<Path> rs256PublicKeyFile,
    Optional<Path> jwksFile,
    String issuer,
    Duration tokenTtl,
    int requestsPerMinute) {

  static final int MIN_SECRET_BYTES = 32;

  public AuthSettings {
    if (jwtSecret == null) throw new IllegalArgumentException("jwt.hs256-secret must not be null");
    if (jwtSecret.isEmpty()) {
      // No secret configured: tokens then die with the process (and nodes cannot verify each other's), which
      // suits a single dev node; a cluster must set ORRERY_JWT_SECRET.
      jwtSecret = randomSecret();
    }
    int secretBytes = jwtSecret.getBytes(StandardCharsets.UTF_8).length;
    if (secretBytes < MIN_SECRET_BYTES) {
      // The length, never the value: this message ends up in logs.
      throw new IllegalArgumentException(
          "jwt.hs256-secret must be at least " + MIN_SECRET_BYTES + " bytes, was " + secretBytes + " bytes");
    }
    rs256PublicKeyFile = rs256PublicKeyFile == null ? Optional.empty() : rs256PublicKeyFile;
    jwksFile = jwksFile == null ? Optional.empty() : jwksFile;
    if (issuer == null || issuer.isBlank()) {
      throw new IllegalArgumentException("jwt.issuer must not be blank, was '" + issuer + "'");
    }
    // JWT times have whole seconds, so a shorter lifetime would issue tokens that are born expired.
    if (tokenTtl == null || tokenTtl.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("jwt.token-ttl must be at least 1s, was " + tokenTtl);
    }
    if (requestsPerMinute <= 0) {
      throw new IllegalArgumentException(
          "rate-limit.requests-per-minute must be > 0, was " + requestsPerMinute);
    }
  }

  public static AuthSettings fromConfig(Config config) {
    Config c = config.getConfig("orrery.auth");
    return new AuthSettings(
        c.getString("jwt.hs256-secret"),
        optionalPath(c.getString("jwt.rs256-public-key-file")),
        optionalPath(c.getString("jwt.jwks-file")),
        c.getString("jwt.issuer"),
        c.getDuration("jwt.token-ttl"),
        c.getInt("rate-limit.requests-per-minute"));
  }

  /** Redacts the secret so logging the settings at start-up does not leak it. */
  @Override
  public String toString() {
    return "AuthSettings[jwtSecret=<redacted>, rs256PublicKeyFile=" + rs256PublicKeyFile + ", jwksFile=" + jwksFile
        + ", issuer=" + issuer + ", tokenTtl=" + tokenTtl + ", requestsPerMinute=" + requestsPerMinute + "]";
  }

  private static Optional<Path> optionalPath(String value) {
    return value.isBlank() ? Optional.empty() : Optional.of(Path.of(value.strip()));
  }

  private static String randomSecret() {
    byte[] bytes = new byte[48];
    new SecureRandom().nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
