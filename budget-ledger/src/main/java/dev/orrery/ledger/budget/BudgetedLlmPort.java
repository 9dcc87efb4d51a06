package dev.orrery.ledger.budget;

import dev.orrery.core.port.BudgetPort;
import dev.orrery.core.port.CallEstimate;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.RouteDefinition;
import dev.orrery.core.port.TokenEstimate;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An LLM port that keeps every call inside its tenant's budgets: reserve the call's estimate, make the
 * call only if that fits, then settle what it used or release the reservation when the call failed. A
 * run's step gets its answer only once it is settled (an answer a run recorded was always charged); a
 * gateway call gets it at once and is settled in the background, as long as fewer than
 * {@code maxBackgroundSettlements} are: past that, gateway calls wait for their own settlement too, so a
 * load the ledger cannot settle as fast as it arrives slows its callers down instead of growing a
 * backlog in memory. The reservation id is the call's idempotency key, so a re-dispatched step finds its
 * own reservation instead of a second one.
 */
public final class BudgetedLlmPort implements LlmPort {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(BudgetedLlmPort.class);

  private final LlmPort llm;
  private final BudgetPort budget;
  private final Executor executor;
  private final int maxBackgroundSettlements;
  private final LedgerMetrics metrics = new LedgerMetrics();
  /** Gateway calls answered or waiting whose settlement has not completed. */
  private final AtomicInteger backgroundSettlements = new AtomicInteger();

  /** @param maxBackgroundSettlements {@code orrery.ledger.max-background-settlements}, checked by LedgerSettings */
  public BudgetedLlmPort(LlmPort llm, BudgetPort budget, Executor executor, int maxBackgroundSettlements) {
    this.llm = llm;
    this.budget = budget;
    this.executor = executor;
    this.maxBackgroundSettlements = maxBackgroundSettlements;
  }

  /** Gateway calls whose settlement is still out (the backlog that {@code maxBackgroundSettlements} bounds). */
  public int backgroundSettlements() {
    return backgroundSettlements.get();
  }

  @Override
  public CompletionStage<LlmResult> complete(LlmRequest request) {
    if (request.tenantId() == null) return llm.complete(request);
    String reservationId = request.idempotencyKey() != null ? request.idempotencyKey() : onceId();
    CallEstimate estimate;
    try {
      estimate = llm.estimate(request);
    } catch (RuntimeException e) {
      // Unpriced, still reserved: the kill switch and token limits hold for every call.
      estimate = new CallEstimate(TokenEstimate.callTokens(request.messages(), request.maxTokens()), 0);
    }
    var reservation = new BudgetPort.Reservation(request.tenantId(), reservationId, request.runId(), request.nodeId(),
        estimate);
    CompletionStage<Void> reserved = budget.reserve(reservation);
    CompletableFuture<Void> outcome = reserved.toCompletableFuture();
    // Granted on this node already (a tenant without limits): no reason to wait for a task on the executor.
    if (outcome.isDone() && !outcome.isCompletedExceptionally()) return call(request, reservation);
    return reserved
        .whenComplete((ok, refused) -> {
          if (refused != null) metrics.refused(request.tenantId(), refused);
        })
        .thenComposeAsync(ok -> call(request, reservation), executor);
  }

  /**
   * A call without an idempotency key only needs an id no other call of its tenant has: 128 random bits
   * from the thread's generator do. {@code UUID.randomUUID()} would take them from SecureRandom, behind
   * its lock and a SHA-1 per call (about 1.4 % of a gateway call's CPU).
   */
  private static String onceId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return "once/" + new UUID(random.nextLong(), random.nextLong());
  }

  @Override
  public RouteDefinition routeFor(String route, String model) {
    return llm.routeFor(route, model);
  }

  private CompletionStage<LlmResult> call(LlmRequest request, BudgetPort.Reservation reservation) {
    CompletionStage<LlmResult> answer;
    try {
      answer = llm.complete(request);
    } catch (RuntimeException e) {
      answer = CompletableFuture.failedFuture(e);
    }
    // Run where the answer completes (the router completes it on the executor): the settlement is only a
    // message to the ledger's batcher, not worth another task on the executor.
    return answer.handle((result, failure) -> {
      if (failure == null) {
        CompletionStage<LlmResult> settled = budget.settle(reservation, result.usage(), result.provider(),
            result.model()).handle((done, error) -> {
              // A ledger that stays down through the settlement's retries loses this charge (logged); the
              // answer, which the provider has billed, is still worth more than a second call.
              if (error != null) log.warn("settlement of call {} of tenant {} failed: {}",
                  reservation.reservationId(), reservation.tenantId(), error.toString());
              else metrics.settled(reservation.tenantId(), result.provider(), result.model(), result.usage());
              return result;
            });
        // A gateway call has no journal of its own to make good a lost answer, and its caller waits on
        // every millisecond: it is settled in the background (group-committed with the others), as
        // gateways log spend. A node that dies in between loses that settlement; a run's step never does.
        if (request.runId() != null) return settled;
        int out = backgroundSettlements.incrementAndGet();
        settled = settled.whenComplete((r, e) -> backgroundSettlements.decrementAndGet());
        return out <= maxBackgroundSettlements ? CompletableFuture.completedFuture(result) : settled;
      }
      Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
      return budget.release(reservation)
          .handle((released, ignored) -> { throw new CompletionException(cause); })
          .thenApply(never -> (LlmResult) null);
    }).thenCompose(stage -> stage);
  }

  @Override
  public CallEstimate estimate(LlmRequest request) {
    return llm.estimate(request);
  }
}
