package dev.orrery.router.actor;

import com.typesafe.config.ConfigFactory;

/** Provider limits for tests: the reference defaults with the given HOCON over them. */
public final class Limits {
  private Limits() {}

  public static ProviderLimits of(String hocon) {
    return ProviderLimits.fromConfig(ConfigFactory.parseString(hocon)
        .withFallback(ConfigFactory.load().getConfig("orrery.llm.provider-defaults")));
  }
}
