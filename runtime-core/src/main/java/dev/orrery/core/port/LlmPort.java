package dev.orrery.core.port;

import java.util.concurrent.CompletionStage;

/**
 * The one way a step calls an LLM. Implementations complete the stage exceptionally with
 * {@link StepFailure} for failures a step can classify (retryable or not); anything else is treated as
 * a retryable internal failure.
 */
public interface LlmPort {
  CompletionStage<LlmResult> complete(LlmRequest request);
}
