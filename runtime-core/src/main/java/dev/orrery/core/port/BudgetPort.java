package dev.orrery.core.port;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The reservation protocol every LLM call follows: reserve the call's estimate before it is made, settle
 * its actual usage after it, release the reservation when it failed without cost. A reservation that does
 * not fit fails its stage with a {@link StepFailure} of code {@code BUDGET_EXCEEDED}, and the call is not
 * made. Each operation is idempotent by reservation id, so a re-dispatched step with the same idempotency
 * key is neither refused for its own earlier reservation nor charged twice.
 */
public interface BudgetPort {

  /** What a call may use, held against its tenant's budgets until it is settled or released. */
  record Reservation(String tenantId, String reservationId, String runId, String nodeId, CallEstimate estimate) {
    public Reservation {
      if (tenantId == null || tenantId.isBlank()) throw new IllegalArgumentException("a reservation needs a tenant");
      if (reservationId == null || reservationId.isBlank()) {
        throw new IllegalArgumentException("a reservation needs an id");
      }
    }
  }

  CompletionStage<Void> reserve(Reservation reservation);

  /** The call made under {@code reservation} used {@code usage}: charged once, attributed to its run and node. */
  CompletionStage<Void> settle(Reservation reservation, Usage usage, String provider, String model);

  CompletionStage<Void> release(Reservation reservation);

  /** No budgets at all: every reservation fits. */
  BudgetPort UNLIMITED = new BudgetPort() {
    @Override
    public CompletionStage<Void> reserve(Reservation reservation) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> settle(Reservation reservation, Usage usage, String provider, String model) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> release(Reservation reservation) {
      return CompletableFuture.completedFuture(null);
    }
  };
}
