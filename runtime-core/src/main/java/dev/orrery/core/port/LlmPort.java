package dev.orrery.core.port;

import java.util.concurrent.CompletionStage;

/**
 * The one way a step calls an LLM. Implementations complete the stage exceptionally with
 * {@link StepFailure} for failures a step can classify (retryable or not); anything else is treated as
 * a retryable internal failure.
 */
public interface LlmPort {
  CompletionStage<LlmResult> complete(LlmRequest request);

  /**
   * The most a call can use before it is made: its prompt's estimated tokens plus {@code max_tokens},
   * priced at the dearest model that may serve it. Budgets reserve this much; a port that cannot price
   * a call answers a cost of zero.
   */
  default CallEstimate estimate(LlmRequest request) {
    return new CallEstimate(TokenEstimate.callTokens(request.messages(), request.maxTokens()), 0);
  }
}
