package dev.orrery.router.provider;

import java.util.concurrent.CompletionStage;

/**
 * Speaks one provider's wire protocol. A call completes with the answer or fails with
 * {@link ProviderException} (never another exception type for a provider's fault); a streaming call
 * (one with a delta sink) hands each text delta to the sink in order before it completes, and a stream
 * that ends early fails rather than completing with a truncated answer.
 */
public interface ProviderAdapter {
  /** The endpoint's configured name, used in errors and in what a run records. */
  String name();

  CompletionStage<ProviderResponse> call(ProviderCall call);
}
