package dev.orrery.ledger.budget;

import dev.orrery.core.ErrorCode;
import dev.orrery.core.port.BudgetPort;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.port.Usage;
import dev.orrery.ledger.tenant.TenantNews;
import dev.orrery.ledger.tenant.TenantEntity;
import dev.orrery.ledger.tenant.TenantEntity.LedgerOp;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.pubsub.Topic;

/**
 * The node's way into the ledger: starts the sharded tenants and a batcher, and implements the
 * reservation protocol on them. A refused reservation fails with the tenant's reason (code
 * {@code BUDGET_EXCEEDED}, or {@code FORBIDDEN} for a tenant that does not exist); a ledger that does not
 * answer in time fails retryably, and settlements are retried, being idempotent.
 */
public final class BudgetLedger implements BudgetPort {
  private static final int SETTLE_ATTEMPTS = 5;
  /** A minimal stage: no caller can complete it again. */
  private static final CompletionStage<Void> GRANTED = CompletableFuture.completedStage(null);

  private final ActorRef<LedgerBatcher.Message> batcher;
  private final LedgerBatcher.Leases leases;
  private final ActorSystem<?> system;
  private final ActorRef<Topic.Command<TenantNews>> news;

  private BudgetLedger(ActorSystem<?> system, ActorRef<LedgerBatcher.Message> batcher, LedgerBatcher.Leases leases,
      ActorRef<Topic.Command<TenantNews>> news) {
    this.system = system;
    this.leases = leases;
    this.news = news;
    this.batcher = batcher;
  }

  public static BudgetLedger start(ActorSystem<?> system, LedgerSettings settings, Clock clock) {
    ActorRef<Topic.Command<TenantNews>> news = system.systemActorOf(Topic.create(TenantNews.class, TenantNews.TOPIC),
        TenantNews.TOPIC, Props.empty());
    TenantEntity.init(system, new TenantEntity.Setup(clock, settings.snapshotEvery(), settings.defaultMaxActiveRuns(),
        settings.holdTtl(), told -> news.tell(Topic.publish(told)), settings.settlementBatches()));
    var leases = new LedgerBatcher.Leases();
    var batcher = system.systemActorOf(LedgerBatcher.create(settings.batchMax(), settings.askTimeout(),
        settings.attemptTimeout(), settings.leaseTtl(), news, leases), "budget-ledger", Props.empty());
    return new BudgetLedger(system, batcher, leases, news);
  }

  /** The cluster-wide topic tenants tell their changes on, for others on the node that keep their answers. */
  public ActorRef<Topic.Command<TenantNews>> news() {
    return news;
  }

  @Override
  public CompletionStage<Void> reserve(Reservation r) {
    // Granted here, already complete: the caller can go on on its own thread.
    if (leases.grants(r.tenantId())) return GRANTED;
    return submit(r.tenantId(), new LedgerOp.Reserve(r.reservationId(), r.runId(), r.nodeId(), r.estimate().tokens(),
        r.estimate().costMicros()));
  }

  @Override
  public CompletionStage<Void> settle(Reservation r, Usage usage, String provider, String model) {
    return withRetries(r.tenantId(), new LedgerOp.Settle(r.reservationId(), r.runId(), r.nodeId(), usage.tokensIn(),
        usage.tokensOut(), usage.costMicros(), provider, model), SETTLE_ATTEMPTS);
  }

  @Override
  public CompletionStage<Void> release(Reservation r) {
    return withRetries(r.tenantId(), new LedgerOp.Release(r.reservationId()), SETTLE_ATTEMPTS);
  }

  private CompletionStage<Void> withRetries(String tenantId, LedgerOp op, int attemptsLeft) {
    return submit(tenantId, op).exceptionallyComposeAsync(error -> {
      Throwable cause = error.getCause() != null ? error.getCause() : error;
      boolean retryable = cause instanceof StepFailure f && f.retryable();
      return retryable && attemptsLeft > 1 ? withRetries(tenantId, op, attemptsLeft - 1)
          : CompletableFuture.failedFuture(cause);
    }, system.executionContext());
  }

  private CompletionStage<Void> submit(String tenantId, LedgerOp op) {
    var rejection = new CompletableFuture<String>();
    batcher.tell(new LedgerBatcher.Submit(tenantId, op, rejection));
    return rejection.handle((rejected, failure) -> {
      if (failure != null) {
        throw new StepFailure("TIMEOUT", "the budget ledger of tenant " + tenantId + " did not answer: " + failure, true);
      }
      if (rejected != null) {
        String code = ErrorCode.codeOf(rejected).map(Enum::name).orElse(ErrorCode.INTERNAL.name());
        throw new StepFailure(code, ErrorCode.messageOf(rejected), false);
      }
      return null;
    });
  }
}
