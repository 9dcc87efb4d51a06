package dev.orrery.ledger.budget;

import dev.orrery.ledger.tenant.TenantNews;
import dev.orrery.ledger.tenant.TenantEntity;
import dev.orrery.ledger.tenant.TenantEntity.LedgerOp;
import dev.orrery.ledger.tenant.TenantEntity.LedgerOutcomes;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * Group commit for the ledger, one per node: operations for a tenant gather while that tenant's previous
 * batch is out, and go to its entity together, to be persisted in one write. With one batch out per tenant
 * a quiet tenant's operation goes at once, and a hot tenant's batches grow with its load.
 *
 * <p>A tenant that has no budget and its kill switch off cannot refuse a reservation: when its entity
 * says so, this node grants that tenant's reservations itself (a lease) until the tenant announces a
 * change of its limits on the cluster's topic ({@link TenantNews}), or the lease's TTL passes. A call of such a tenant then
 * costs one round trip to its entity (the settlement), not two.
 */
final class LedgerBatcher {

  /** Never leaves this JVM: it carries the caller's future. */
  sealed interface Message {}

  record Submit(String tenantId, LedgerOp op, CompletableFuture<String> result) implements Message {}

  private record BatchDone(String tenantId, List<Submit> batch, LedgerOutcomes outcomes, Throwable failure)
      implements Message {}

  private record News(TenantNews news) implements Message {}


  private final ActorContext<Message> ctx;
  private final ClusterSharding sharding;
  private final int batchMax;
  private final Duration askTimeout;
  private final Duration leaseTtl;
  private final Map<String, ArrayDeque<Submit>> pending = new HashMap<>();
  private final Set<String> inFlight = new HashSet<>();
  /** Tenants whose reservations this node grants itself, until the given {@code System.nanoTime()}. */
  private final Map<String, Long> leasedUntil = new HashMap<>();
  /** The newest limits version each tenant announced: a grant from before it is stale. */
  private final Map<String, Long> revokedUpTo = new HashMap<>();

  private LedgerBatcher(ActorContext<Message> ctx, int batchMax, Duration askTimeout, Duration leaseTtl) {
    this.ctx = ctx;
    this.sharding = ClusterSharding.get(ctx.getSystem());
    this.batchMax = batchMax;
    this.askTimeout = askTimeout;
    this.leaseTtl = leaseTtl;
  }

  static Behavior<Message> create(int batchMax, Duration askTimeout, Duration leaseTtl,
      ActorRef<Topic.Command<TenantNews>> news) {
    return Behaviors.setup(ctx -> {
      news.tell(Topic.subscribe(ctx.messageAdapter(TenantNews.class, News::new)));
      return new LedgerBatcher(ctx, batchMax, askTimeout, leaseTtl).behavior();
    });
  }

  private Behavior<Message> behavior() {
    return Behaviors.receive(Message.class)
        .onMessage(Submit.class, this::onSubmit)
        .onMessage(BatchDone.class, this::onBatchDone)
        .onMessage(News.class, this::onNews)
        .build();
  }

  private Behavior<Message> onSubmit(Submit s) {
    if (s.op() instanceof LedgerOp.Reserve) {
      Long until = leasedUntil.get(s.tenantId());
      if (until != null && System.nanoTime() < until) {
        s.result().complete(null);
        return Behaviors.same();
      }
    }
    pending.computeIfAbsent(s.tenantId(), t -> new ArrayDeque<>()).add(s);
    if (!inFlight.contains(s.tenantId())) send(s.tenantId());
    return Behaviors.same();
  }

  private Behavior<Message> onBatchDone(BatchDone done) {
    for (int i = 0; i < done.batch().size(); i++) {
      Submit s = done.batch().get(i);
      if (done.failure() != null) s.result().completeExceptionally(done.failure());
      else s.result().complete(done.outcomes().rejections().get(i));
    }
    inFlight.remove(done.tenantId());
    if (done.outcomes() != null) {
      long version = done.outcomes().unlimitedAsOf();
      if (version >= 0 && version >= revokedUpTo.getOrDefault(done.tenantId(), -1L)) {
        leasedUntil.put(done.tenantId(), System.nanoTime() + leaseTtl.toNanos());
      } else {
        leasedUntil.remove(done.tenantId());
      }
    }
    if (pending.containsKey(done.tenantId())) send(done.tenantId());
    return Behaviors.same();
  }

  private Behavior<Message> onNews(News n) {
    if (n.news() instanceof TenantNews.LimitsChanged changed) {
      revokedUpTo.merge(changed.tenantId(), changed.limitsVersion(), Math::max);
      leasedUntil.remove(changed.tenantId());
    }
    return Behaviors.same();
  }

  private void send(String tenantId) {
    ArrayDeque<Submit> queue = pending.get(tenantId);
    List<Submit> batch = new ArrayList<>(Math.min(queue.size(), batchMax));
    while (!queue.isEmpty() && batch.size() < batchMax) batch.add(queue.poll());
    if (queue.isEmpty()) pending.remove(tenantId);
    List<LedgerOp> ops = new ArrayList<>(batch.size());
    for (Submit s : batch) ops.add(s.op());
    inFlight.add(tenantId);
    ctx.ask(LedgerOutcomes.class, sharding.entityRefFor(TenantEntity.KEY, tenantId), askTimeout,
        replyTo -> new TenantEntity.Ledger(List.copyOf(ops), replyTo),
        (outcomes, failure) -> new BatchDone(tenantId, batch, outcomes, failure));
  }
}
