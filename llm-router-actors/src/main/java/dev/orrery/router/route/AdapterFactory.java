package dev.orrery.router.route;

import dev.orrery.router.provider.ProviderAdapter;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Creates the adapter that speaks an endpoint's wire protocol. {@link LlmRouter#start} puts the
 * simulated provider behind its adapter itself and asks the factory for every other kind, so the
 * assembly of a node decides which real adapters exist.
 */
@FunctionalInterface
public interface AdapterFactory {
  ProviderAdapter create(ProviderSettings settings, ActorSystem<?> system);

  /** A factory that knows no real protocol: enough when only simulated providers are configured. */
  static AdapterFactory none() {
    return (settings, system) -> {
      throw new IllegalArgumentException("no adapter for provider " + settings.name() + " of kind "
          + settings.kind() + ": the node was started without an adapter factory for it");
    };
  }
}
