package dev.orrery.edge.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;

/**
 * API keys of the form {@code ork_<tenantId>.<keyId>.<secret>}. The fixed {@code ork_} prefix lets secret
 * scanners recognise a leaked key; the tenant and key id in clear let the edge find the stored hash without a
 * scan; only the SHA-256 of the whole text is ever stored, so a database dump yields no usable key.
 */
public final class ApiKeys {

  /** Tenant ids end up in entity ids and URLs, hence lowercase, no dots and at most 63 characters. */
  private static final String TENANT_ID_RULE = "[a-z0-9][a-z0-9-]{0,62}";
  private static final int MAX_TENANT_ID_LENGTH = 63;
  // Dots separate the parts and none of them may contain one, so the split is unambiguous.
  // A key is ork_<tenant id>.<key id: 12 of [a-z0-9]>.<secret: 32 of [A-Za-z0-9]>.
  private static final String PREFIX = "ork_";
  private static final int KEY_ID_LENGTH = 12;
  private static final int SECRET_LENGTH = 32;
  /** Longest well-formed key. */
  private static final int MAX_LENGTH = PREFIX.length() + MAX_TENANT_ID_LENGTH + 1 + KEY_ID_LENGTH + 1 + SECRET_LENGTH;

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
      throw new IllegalArgumentException("tenant id must match " + TENANT_ID_RULE + ", was '" + tenantId + "'");
    }
    String keyId = random(KEY_ID_ALPHABET, KEY_ID_LENGTH);
    String key = PREFIX + tenantId + "." + keyId + "." + random(SECRET_ALPHABET, SECRET_LENGTH);
    return new IssuedKey(tenantId, keyId, key, sha256Hex(key));
  }

  /** The parts of a well-formed key, or empty for anything else (including null); never throws. */
  public static Optional<ParsedKey> parse(String text) {
    if (text == null || text.length() > MAX_LENGTH || !text.startsWith(PREFIX)) return Optional.empty();
    // The key id and the secret have fixed lengths, so the dots sit at fixed places from the end. Checked
    // by hand rather than with a regex, whose matching of every request's key was 2 % of a gateway call.
    int secretDot = text.length() - SECRET_LENGTH - 1;
    int idDot = secretDot - KEY_ID_LENGTH - 1;
    if (idDot <= PREFIX.length() || text.charAt(idDot) != '.' || text.charAt(secretDot) != '.') return Optional.empty();
    boolean wellFormed = isTenantId(text, PREFIX.length(), idDot)
        && all(text, idDot + 1, secretDot, ApiKeys::isLowerAlnum)
        && all(text, secretDot + 1, text.length(), c -> isLowerAlnum(c) || (c >= 'A' && c <= 'Z'));
    if (!wellFormed) return Optional.empty();
    return Optional.of(new ParsedKey(text.substring(PREFIX.length(), idDot), text.substring(idDot + 1, secretDot),
        sha256Hex(text)));
  }

  /** Whether text[from, to) is a tenant id: {@value #TENANT_ID_RULE}. */
  private static boolean isTenantId(String text, int from, int to) {
    return to > from && to - from <= MAX_TENANT_ID_LENGTH && isLowerAlnum(text.charAt(from))
        && all(text, from + 1, to, c -> isLowerAlnum(c) || c == '-');
  }

  private static boolean isLowerAlnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  }

  private static boolean all(String text, int from, int to, CharPredicate test) {
    for (int i = from; i < to; i++) {
      if (!test.test(text.charAt(i))) return false;
    }
    return true;
  }

  @FunctionalInterface
  private interface CharPredicate {
    boolean test(char c);
  }

  public static boolean validTenantId(String tenantId) {
    return tenantId != null && isTenantId(tenantId, 0, tenantId.length());
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
