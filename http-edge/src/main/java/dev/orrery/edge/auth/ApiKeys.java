package dev.orrery.edge.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * API keys of the form {@code ork_<tenantId>.<keyId>.<secret>}. The fixed {@code ork_} prefix lets secret
 * scanners recognise a leaked key; the tenant and key id in clear let the edge find the stored hash without a
 * scan; only the SHA-256 of the whole text is ever stored, so a database dump yields no usable key.
 */
public final class ApiKeys {

  /** Tenant ids end up in entity ids and URLs, hence lowercase, no dots and at most 63 characters. */
  private static final Pattern TENANT_ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  // Dots separate the parts and none of them may contain one, so the split is unambiguous.
  private static final Pattern KEY =
      Pattern.compile("ork_([a-z0-9][a-z0-9-]{0,62})\\.([a-z0-9]{12})\\.([A-Za-z0-9]{32})");
  /** Longest well-formed key; anything longer is refused before the regex sees it. */
  private static final int MAX_LENGTH = "ork_".length() + 63 + 1 + 12 + 1 + 32;

  private static final String KEY_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"; // RFC 4648 base32, lowercase
  private static final String SECRET_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  private static final SecureRandom RANDOM = new SecureRandom();

  private ApiKeys() {}

  /**
   * A freshly minted key. The whole text is shown to the user once and then only {@link #sha256()} is kept.
   */
  public record IssuedKey(String tenantId, String keyId, String key, String sha256) {
    /** Redacts the key so a logged record does not leak it. */
    @Override
    public String toString() {
      return "IssuedKey[tenantId=" + tenantId + ", keyId=" + keyId + ", key=<redacted>, sha256=" + sha256 + "]";
    }
  }

  /** A key presented by a client: who it claims to be and the hash to compare with the stored one. */
  public record ParsedKey(String tenantId, String keyId, String sha256) {}

  /** Mints a key for the tenant; the secret has 32 base62 characters (about 190 bits) from SecureRandom. */
  public static IssuedKey generate(String tenantId) {
    if (!validTenantId(tenantId)) {
      throw new IllegalArgumentException("tenant id must match " + TENANT_ID.pattern() + ", was '" + tenantId + "'");
    }
    String keyId = random(KEY_ID_ALPHABET, 12);
    String key = "ork_" + tenantId + "." + keyId + "." + random(SECRET_ALPHABET, 32);
    return new IssuedKey(tenantId, keyId, key, sha256Hex(key));
  }

  /** The parts of a well-formed key, or empty for anything else (including null); never throws. */
  public static Optional<ParsedKey> parse(String text) {
    if (text == null || text.length() > MAX_LENGTH) return Optional.empty();
    Matcher m = KEY.matcher(text);
    if (!m.matches()) return Optional.empty();
    return Optional.of(new ParsedKey(m.group(1), m.group(2), sha256Hex(text)));
  }

  public static boolean validTenantId(String tenantId) {
    return tenantId != null && TENANT_ID.matcher(tenantId).matches();
  }

  /** Lowercase hex SHA-256 of the UTF-8 text. */
  public static String sha256Hex(String text) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM must provide SHA-256", e);
    }
  }

  /**
   * Compares two hashes in time independent of where they differ, so response timing does not reveal how
   * much of a guessed key's hash matched. False if either is null.
   */
  public static boolean sameHash(String a, String b) {
    if (a == null || b == null) return false;
    return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  private static String random(String alphabet, int length) {
    StringBuilder sb = new StringBuilder(length);
    // nextInt(bound) is unbiased, so every character is equally likely.
    for (int i = 0; i < length; i++) sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
    return sb.toString();
  }
}
