package dev.orrery.core.workflow;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The limits a run of a workflow lives within: parallel steps, tokens, time, and retries. Defaults fill in
 * whatever the workflow leaves out; ranges are checked by {@link CompiledWorkflow#compile}.
 *
 * @param tokenBudget tokens the whole run may spend, or null for no run-level limit (the tenant's
 *     budget still applies)
 * @param onBudgetExhausted {@code fail} or {@code pause}
 * @param timeoutMs the whole run's deadline
 * @param stepTimeoutMs a step's deadline when its node names none
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Policy(
    @JsonProperty("max_parallel") int maxParallel,
    @JsonProperty("token_budget") Long tokenBudget,
    @JsonProperty("on_budget_exhausted") String onBudgetExhausted,
    @JsonProperty("timeout_ms") long timeoutMs,
    @JsonProperty("step_timeout_ms") long stepTimeoutMs,
    @JsonProperty("retry") RetryPolicy retry) {

  public static final int DEFAULT_MAX_PARALLEL = 8;
  public static final String ON_BUDGET_FAIL = "fail";
  public static final String ON_BUDGET_PAUSE = "pause";
  public static final long DEFAULT_TIMEOUT_MS = 600_000;
  public static final long DEFAULT_STEP_TIMEOUT_MS = 120_000;

  private static final Policy DEFAULTS =
      new Policy(DEFAULT_MAX_PARALLEL, null, ON_BUDGET_FAIL, DEFAULT_TIMEOUT_MS, DEFAULT_STEP_TIMEOUT_MS, null);

  public Policy {
    if (onBudgetExhausted == null) onBudgetExhausted = ON_BUDGET_FAIL;
    if (retry == null) retry = RetryPolicy.defaults();
  }

  public static Policy defaults() {
    return DEFAULTS;
  }

  /** See {@link RetryPolicy#fromJson}: a missing number takes the default, an explicit one is kept. */
  @JsonCreator
  static Policy fromJson(
      @JsonProperty("max_parallel") Integer maxParallel,
      @JsonProperty("token_budget") Long tokenBudget,
      @JsonProperty("on_budget_exhausted") String onBudgetExhausted,
      @JsonProperty("timeout_ms") Long timeoutMs,
      @JsonProperty("step_timeout_ms") Long stepTimeoutMs,
      @JsonProperty("retry") RetryPolicy retry) {
    return new Policy(
        maxParallel == null ? DEFAULT_MAX_PARALLEL : maxParallel,
        tokenBudget,
        onBudgetExhausted,
        timeoutMs == null ? DEFAULT_TIMEOUT_MS : timeoutMs,
        stepTimeoutMs == null ? DEFAULT_STEP_TIMEOUT_MS : stepTimeoutMs,
        retry);
  }

  /** The same policy with a run's own token budget (from the submit request). */
  public Policy withTokenBudget(long budget) {
    return new Policy(maxParallel, budget, onBudgetExhausted, timeoutMs, stepTimeoutMs, retry);
  }
}
