package dev.orrery.ledger.tenant;

import dev.orrery.core.RetriedAsk;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.pattern.StatusReply;

/**
 * Asking the sharded tenants from outside an actor (routes, the node's start, run listeners). Failures are
 * the entity's rejections ({@code StatusReply} errors as {@code "CODE: message"}) or ask timeouts, for the
 * edge to put in its envelope.
 */
public final class Tenants {
  /** Tries of {@link #ended}: with the ask timeout in each, they outlast a tenant shard's move by far. */
  private static final int ENDED_ATTEMPTS = 6;
  /** Tries of {@link #admit} within the ask timeout: a submit's answer waits on it. */
  private static final int ADMIT_ATTEMPTS = 3;

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final Duration askTimeout;

  public Tenants(ActorSystem<?> system, Duration askTimeout) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
  }

  public <T> CompletionStage<T> ask(String tenantId, Function<ActorRef<StatusReply<T>>, TenantEntity.Command> command) {
    return ask(tenantId, command, askTimeout);
  }

  private <T> CompletionStage<T> ask(String tenantId, Function<ActorRef<StatusReply<T>>, TenantEntity.Command> command,
      Duration timeout) {
    return sharding.entityRefFor(TenantEntity.KEY, tenantId).askWithStatus(command::apply, timeout);
  }

  public CompletionStage<TenantEntity.TenantView> create(String tenantId, String name, Integer maxActiveRuns) {
    return ask(tenantId, replyTo -> new TenantEntity.Create(name, maxActiveRuns, replyTo));
  }

  public CompletionStage<TenantEntity.TenantView> get(String tenantId) {
    return ask(tenantId, TenantEntity.Get::new);
  }

  public CompletionStage<TenantEntity.KeyInfo> issueKey(String tenantId, String keyId, String sha256, Role role,
      String name) {
    return ask(tenantId, replyTo -> new TenantEntity.IssueKey(keyId, sha256, role, name, replyTo));
  }

  public CompletionStage<List<TenantEntity.KeyInfo>> keys(String tenantId) {
    return this.<TenantEntity.KeyList>ask(tenantId, TenantEntity.ListKeys::new).thenApply(TenantEntity.KeyList::keys);
  }

  /** Counts a run against its tenant's limit on active runs; refused with {@code RATE_LIMIT_EXCEEDED}. */
  public CompletionStage<Done> admit(String tenantId, String runId) {
    // Idempotent by run id: an attempt lost while the tenant's shard moves is made again.
    return RetriedAsk.ask(timeout -> ask(tenantId, replyTo -> new TenantEntity.AdmitRun(runId, replyTo), timeout),
        askTimeout, ADMIT_ATTEMPTS, system);
  }

  /**
   * A run ended: its slot is free. Idempotent, so telling it twice (or for a run never admitted) is harmless,
   * and a try that timed out (the tenant's shard moving, a member restarting) is tried again: a slot not
   * given back stays taken, and the tenant's limit on active runs would shrink by one for good.
   */
  public CompletionStage<Done> ended(String tenantId, String runId) {
    return RetriedAsk.ask(timeout -> ask(tenantId, replyTo -> new TenantEntity.EndRun(runId, replyTo), timeout),
        askTimeout.multipliedBy(ENDED_ATTEMPTS), ENDED_ATTEMPTS, system);
  }
}
