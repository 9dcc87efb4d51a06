package dev.orrery.edge.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.orrery.ledger.tenant.Role;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.UUID;

/**
 * Issues the short-lived HS256 tokens an API key is exchanged for, and verifies bearer tokens: our own HS256
 * ones, and RS256 ones from an external identity provider whose public keys are configured. The algorithm
 * picks the key, and each key serves exactly one algorithm, so neither {@code alg: none} nor an RS256 header
 * over an HMAC made with the public key can slip through. Keys are read once at construction, so a bad file
 * fails the node at start-up rather than every request.
 */
public final class JwtService {

  /** Tolerated difference between our clock and the issuer's when judging expiry. */
  static final Duration CLOCK_SKEW = Duration.ofSeconds(30);
  /** Far above any real token; refusing earlier keeps a huge header from being base64- and JSON-decoded. */
  private static final int MAX_TOKEN_LENGTH = 8 * 1024;
  private static final int MIN_RSA_BITS = 2048;

  /** What a verified token says about its bearer. */
  public record VerifiedToken(String tenantId, Role role, String keyId, String jti, Instant expiresAt) {}

  /** An RSA key allowed to sign RS256 tokens; {@code kid} is null for the PEM key and kid-less JWKS keys. */
  private record RsaKey(String kid, RSAPublicKey key) {}

  private final AuthSettings settings;
  private final Clock clock;
  private final JWSSigner hmacSigner;
  private final JWSVerifier hmacVerifier;
  private final List<RsaKey> rsaKeys;

  public JwtService(AuthSettings settings, Clock clock) {
    this.settings = settings;
    this.clock = clock;
    byte[] secret = settings.jwtSecret().getBytes(StandardCharsets.UTF_8);
    try {
      this.hmacSigner = new MACSigner(secret);
      this.hmacVerifier = new MACVerifier(secret);
    } catch (JOSEException e) {
      throw new IllegalArgumentException("jwt.hs256-secret is not a usable HS256 key", e);
    }
    List<RsaKey> keys = new ArrayList<>();
    settings.rs256PublicKeyFile().ifPresent(p -> keys.add(new RsaKey(null, readPem(p))));
    settings.jwksFile().ifPresent(p -> keys.addAll(readJwks(p)));
    this.rsaKeys = List.copyOf(keys);
  }

  public Duration ttl() {
    return settings.tokenTtl();
  }

  /** An HS256 token for the key's holder, valid for {@link #ttl()} from now. */
  public String issue(String tenantId, String keyId, Role role) {
    if (!ApiKeys.validTenantId(tenantId)) throw new IllegalArgumentException("invalid tenant id '" + tenantId + "'");
    if (keyId == null || keyId.isBlank()) throw new IllegalArgumentException("key id must not be blank");
    if (role == null) throw new IllegalArgumentException("role must not be null");
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    JWTClaimsSet claims = new JWTClaimsSet.Builder()
        .issuer(settings.issuer())
        .subject(keyId)
        .claim("tenant", tenantId)
        .claim("role", role.wireName())
        .claim("key_id", keyId)
        .jwtID(UUID.randomUUID().toString())
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(settings.tokenTtl())))
        .build();
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(), claims);
    try {
      jwt.sign(hmacSigner);
    } catch (JOSEException e) {
      throw new IllegalStateException("signing with a validated HS256 key failed", e);
    }
    return jwt.serialize();
  }

  /** The bearer's identity, or an {@link AuthException} for anything not provably ours or our IdP's. */
  public VerifiedToken verify(String token) {
    if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_LENGTH) {
      throw new AuthException("malformed token");
    }
    SignedJWT jwt;
    JWTClaimsSet claims;
    try {
      // Unsigned (alg: none) tokens are not JWS objects, so this refuses them as malformed.
      jwt = SignedJWT.parse(token);
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException | RuntimeException e) {
      // The text is the caller's, so whatever the parser throws on it is the caller's fault, not our bug.
      throw new AuthException("malformed token");
    }
    JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
    boolean ours;
    if (JWSAlgorithm.HS256.equals(alg)) {
      ours = true;
      if (!verifies(jwt, hmacVerifier)) throw new AuthException("invalid token signature");
    } else if (JWSAlgorithm.RS256.equals(alg)) {
      ours = false;
      if (!verifiesWithRsa(jwt)) throw new AuthException("invalid token signature");
    } else {
      throw new AuthException("unsupported token algorithm");
    }
    return claimsOf(claims, ours);
  }

  private VerifiedToken claimsOf(JWTClaimsSet claims, boolean ours) {
    Instant now = clock.instant();
    Date exp = claims.getExpirationTime();
    if (exp == null) throw new AuthException("token has no expiry");
    if (now.isAfter(exp.toInstant().plus(CLOCK_SKEW))) throw new AuthException("token expired");
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && now.plus(CLOCK_SKEW).isBefore(nbf.toInstant())) throw new AuthException("token not yet valid");
    // External issuers are trusted through their key alone; our own tokens must also carry our issuer.
    if (ours && !settings.issuer().equals(claims.getIssuer())) throw new AuthException("invalid token issuer");
    try {
      String tenant = claims.getStringClaim("tenant");
      if (!ApiKeys.validTenantId(tenant)) throw new AuthException("invalid token claims");
      Role role = Role.of(claims.getStringClaim("role"));
      String keyId = claims.getStringClaim("key_id");
      if (ours && (keyId == null || keyId.isBlank())) throw new AuthException("invalid token claims");
      return new VerifiedToken(tenant, role, keyId, claims.getJWTID(), exp.toInstant());
    } catch (ParseException | IllegalArgumentException e) {
      // A claim of the wrong JSON type, or a role outside admin, developer, viewer.
      throw new AuthException("invalid token claims");
    }
  }

  private boolean verifiesWithRsa(SignedJWT jwt) {
    String kid = jwt.getHeader().getKeyID();
    for (RsaKey k : rsaKeys) {
      if (kid != null && k.kid() != null && !kid.equals(k.kid())) continue;
      if (verifies(jwt, new RSASSAVerifier(k.key()))) return true;
    }
    return false;
  }

  private static boolean verifies(SignedJWT jwt, JWSVerifier verifier) {
    try {
      return jwt.verify(verifier);
    } catch (JOSEException | RuntimeException e) {
      // The verifier refuses headers it cannot honour (an unknown "crit" parameter, say) by throwing.
      return false;
    }
  }

  private static RSAPublicKey readPem(Path file) {
    String text = read(file, "jwt.rs256-public-key-file");
    int begin = text.indexOf("-----BEGIN PUBLIC KEY-----");
    int end = text.indexOf("-----END PUBLIC KEY-----");
    if (begin < 0 || end < begin) {
      throw new IllegalArgumentException(
          "jwt.rs256-public-key-file " + file + " holds no -----BEGIN PUBLIC KEY----- block");
    }
    RSAPublicKey key;
    try {
      byte[] der = Base64.getMimeDecoder().decode(text.substring(begin + "-----BEGIN PUBLIC KEY-----".length(), end));
      key = (RSAPublicKey) KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(der));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalArgumentException("jwt.rs256-public-key-file " + file + " is not an RSA public key", e);
    }
    return strongEnough(key, "jwt.rs256-public-key-file " + file);
  }

  private static List<RsaKey> readJwks(Path file) {
    JWKSet set;
    try {
      set = JWKSet.parse(read(file, "jwt.jwks-file"));
    } catch (ParseException e) {
      throw new IllegalArgumentException("jwt.jwks-file " + file + " is not a JWK set", e);
    }
    List<RsaKey> keys = new ArrayList<>();
    for (JWK jwk : set.getKeys()) {
      if (!(jwk instanceof RSAKey rsa)) continue;
      if (rsa.getKeyUse() != null && !KeyUse.SIGNATURE.equals(rsa.getKeyUse())) continue;
      if (rsa.getAlgorithm() != null && !JWSAlgorithm.RS256.getName().equals(rsa.getAlgorithm().getName())) continue;
      try {
        keys.add(new RsaKey(rsa.getKeyID(), strongEnough(rsa.toRSAPublicKey(), "jwt.jwks-file " + file)));
      } catch (JOSEException e) {
        throw new IllegalArgumentException("jwt.jwks-file " + file + " has an unreadable RSA key", e);
      }
    }
    if (keys.isEmpty()) throw new IllegalArgumentException("jwt.jwks-file " + file + " holds no RSA signing key");
    return keys;
  }

  private static RSAPublicKey strongEnough(RSAPublicKey key, String where) {
    int bits = key.getModulus().bitLength();
    if (bits < MIN_RSA_BITS) {
      throw new IllegalArgumentException(
          where + ": RSA keys must have at least " + MIN_RSA_BITS + " bits, was " + bits);
    }
    return key;
  }

  private static String read(Path file, String key) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException(key + " " + file + " cannot be read", e);
    }
  }
}
