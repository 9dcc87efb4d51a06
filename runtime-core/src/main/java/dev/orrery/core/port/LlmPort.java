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

  /**
   * The route a call naming {@code route} and {@code model} takes now, as data: what a run pins when it is
   * accepted, and hands back with each call ({@link LlmRequest#pinnedRoute()}). Null when this port cannot
   * say (it has no routes, the route is unknown, nothing serves the model): the call then takes whatever
   * route the port has when it is made, and fails as it would have.
   *
   * @param route a route name, or null for the {@code default} route
   * @param model the model the caller pins, or null
   */
  default RouteDefinition routeFor(String route, String model) {
    return null;
  }
}
