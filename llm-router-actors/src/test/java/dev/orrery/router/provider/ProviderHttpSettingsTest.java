package dev.orrery.router.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.junit.jupiter.api.Test;

class ProviderHttpSettingsTest {

  @Test
  void thePoolIsSizedForLlmTraffic() {
    ConnectionPoolSettings pool = ProviderHttpSettings.defaults().poolSettings(ConfigFactory.load());

    assertEquals(1024, pool.getMaxConnections());
    assertEquals(4096, pool.getMaxOpenRequests());
    assertEquals(0, pool.getMaxRetries(), "the router retries, with an idempotency key; the pool must not");
    assertEquals(300_000, pool.getConnectionSettings().getIdleTimeout().toMillis());
  }

  @Test
  void settingsAreReadFromConfigWithDefaultsForMissingKeys() {
    ProviderHttpSettings s = ProviderHttpSettings.fromConfig(ConfigFactory.parseString(
        "orrery.llm.http-client { max-connections = 64, idle-timeout = 90s }"));

    assertEquals(64, s.maxConnections());
    assertEquals(Duration.ofSeconds(90), s.idleTimeout());
    assertEquals(4096, s.maxOpenRequests());
    assertEquals(ProviderHttpSettings.defaults(), ProviderHttpSettings.fromConfig(ConfigFactory.empty()));
  }

  @Test
  void maxOpenRequestsMustBeAPowerOfTwo() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ProviderHttpSettings(8, 1000, Duration.ofMinutes(1), Duration.ofSeconds(1), 1, 1));
    assertEquals("max-open-requests must be a power of two, was 1000", e.getMessage());
  }
}
