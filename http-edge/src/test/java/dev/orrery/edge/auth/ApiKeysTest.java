package dev.orrery.edge.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.edge.auth.ApiKeys.IssuedKey;
import dev.orrery.edge.auth.ApiKeys.ParsedKey;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ApiKeysTest {

  private static final String SECRET_32 = "AbCdEfGhIjKlMnOpQrStUvWxYz012345";

  @Test
  void aGeneratedKeyParsesBackToItsTenantKeyIdAndHash() {
    IssuedKey issued = ApiKeys.generate("acme-corp");
    ParsedKey parsed = ApiKeys.parse(issued.key()).orElseThrow();
    assertEquals("acme-corp", parsed.tenantId());
    assertEquals(issued.keyId(), parsed.keyId());
    assertEquals(issued.sha256(), parsed.sha256());
    assertTrue(ApiKeys.sameHash(issued.sha256(), parsed.sha256()));
  }

  @Test
  void aGeneratedKeyHasTheDocumentedShapeAndIsNeverRepeated() {
    IssuedKey a = ApiKeys.generate("t1");
    IssuedKey b = ApiKeys.generate("t1");
    assertTrue(a.key().matches("ork_t1\\.[a-z2-7]{12}\\.[A-Za-z0-9]{32}"), a.keyId());
    assertTrue(a.sha256().matches("[0-9a-f]{64}"));
    assertEquals(ApiKeys.sha256Hex(a.key()), a.sha256());
    assertNotEquals(a.key(), b.key());
    assertNotEquals(a.keyId(), b.keyId());
  }

  @Test
  void anIssuedKeyDoesNotPrintItsSecret() {
    IssuedKey issued = ApiKeys.generate("acme");
    String secret = issued.key().substring(issued.key().lastIndexOf('.') + 1);
    assertFalse(issued.toString().contains(secret), issued.toString());
  }

  @Test
  void malformedTextParsesToEmptyWithoutThrowing() {
    String longTenant = "a".repeat(64);
    char[] huge = new char[1_000_000];
    Arrays.fill(huge, 'a');
    List<String> bad = Arrays.asList(
        null, "", "ork_", "ork_acme", "ork_acme.abcdefghijkl", "ork_acme.abcdefghijkl.",
        "orc_acme.abcdefghijkl." + SECRET_32,            // wrong prefix
        "ork_Acme.abcdefghijkl." + SECRET_32,            // uppercase tenant
        "ork_-acme.abcdefghijkl." + SECRET_32,           // tenant starts with a dash
        "ork_.abcdefghijkl." + SECRET_32,                // no tenant
        "ork_ac.me.abcdefghijkl." + SECRET_32,           // a dot in the tenant
        "ork_ac_me.abcdefghijkl." + SECRET_32,           // an underscore in the tenant
        "ork_acme.abcdefghijk-." + SECRET_32,            // a dash in the key id
        "ork_" + longTenant + ".abcdefghijkl." + SECRET_32,
        "ork_acme.abcdefghijk." + SECRET_32,             // key id too short
        "ork_acme.ABCDEFGHIJKL." + SECRET_32,            // key id uppercase
        "ork_acme.abcdefghijkl." + SECRET_32.substring(1),
        "ork_acme.abcdefghijkl." + SECRET_32 + "x",
        "ork_acme.abcdefghijkl." + SECRET_32.replace('A', '-'),
        "ork_acme.abcdefghijkl." + SECRET_32 + "\n",
        " ork_acme.abcdefghijkl." + SECRET_32,
        "ork_acme.abcdefghijkl." + SECRET_32 + ".extra",
        new String(huge));
    for (String text : bad) assertTrue(ApiKeys.parse(text).isEmpty(), () -> "accepted: " + text);
  }

  @Test
  void theLongestTenantIdStillParses() {
    String tenant = "a" + "-".repeat(62);
    String key = "ork_" + tenant + ".abcdefghij23." + SECRET_32;
    ParsedKey parsed = ApiKeys.parse(key).orElseThrow();
    assertEquals(tenant, parsed.tenantId());
    assertEquals("abcdefghij23", parsed.keyId());
  }

  @Test
  void tenantIdsAreLowercaseDnsLikeLabelsOfAtMost63Characters() {
    assertTrue(ApiKeys.validTenantId("a"));
    assertTrue(ApiKeys.validTenantId("0acme-1"));
    assertTrue(ApiKeys.validTenantId("a".repeat(63)));
    assertFalse(ApiKeys.validTenantId("a".repeat(64)));
    assertFalse(ApiKeys.validTenantId("-acme"));
    assertFalse(ApiKeys.validTenantId("Acme"));
    assertFalse(ApiKeys.validTenantId("ac.me"));
    assertFalse(ApiKeys.validTenantId(""));
    assertFalse(ApiKeys.validTenantId(null));
  }

  @Test
  void generatingForAnInvalidTenantIsRefusedNamingIt() {
    var e = assertThrows(IllegalArgumentException.class, () -> ApiKeys.generate("Bad.Tenant"));
    assertTrue(e.getMessage().contains("'Bad.Tenant'"), e.getMessage());
  }

  @Test
  void sha256IsLowercaseHexOfTheUtf8Text() {
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeys.sha256Hex("abc"));
  }

  @Test
  void sameHashComparesWholeValuesAndRefusesNull() {
    String h = ApiKeys.sha256Hex("x");
    assertTrue(ApiKeys.sameHash(h, ApiKeys.sha256Hex("x")));
    assertFalse(ApiKeys.sameHash(h, ApiKeys.sha256Hex("y")));
    assertFalse(ApiKeys.sameHash(h, h.substring(1)));
    assertFalse(ApiKeys.sameHash(null, h));
    assertFalse(ApiKeys.sameHash(h, null));
  }
}
