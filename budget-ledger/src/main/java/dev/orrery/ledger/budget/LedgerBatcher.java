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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
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
 *
 * <p>A batch not answered within the attempt timeout goes again, the same operations, until the ask
 * timeout: when the tenant's node dies, the batch out to it is lost, and every run of this node waits
 * behind it. The entity counts a reservation or settlement it has already seen once, and one batch per
 * tenant at a time keeps the attempts in order.
 */
final class LedgerBatcher {

  /** Never leaves this JVM: it carries the caller's future. */
  sealed interface Message {}

  record Submit(String tenantId, LedgerOp op, CompletableFuture<String> result) implements Message {}

  private record BatchDone(Batch batch, LedgerOutcomes outcomes, Throwable failure) implements Message {}

  /** A batch out to its tenant, and when its callers stop waiting ({@code System.nanoTime()}). */
  private record Batch(String tenantId, List<Submit> submits, List<LedgerOp> ops, long deadline) {}

  private record News(TenantNews news) implements Message {}

  /**
   * The tenants whose reservations this node grants itself, until a {@code System.nanoTime()}. Only the
   * batcher grants and revokes; callers read it on their own thread, so a leased reservation costs no
   * message at all. A revocation seen a moment late is the same as one that arrived just after the
   * reservation did.
   */
  static final class Leases {
    private final ConcurrentHashMap<String, Long> until = new ConcurrentHashMap<>();

    boolean grants(String tenantId) {
      Long end = until.get(tenantId);
      return end != null && System.nanoTime() < end;
    }

    private void grant(String tenantId, long endNanos) {
      until.put(tenantId, endNanos);
    }

    private void revoke(String tenantId) {
      until.remove(tenantId);
    }
  }


  private final ActorContext<Message> ctx;
  private final ClusterSharding sharding;
  private final int batchMax;
  private final Duration askTimeout;
  private final Duration attemptTimeout;
  private final Duration leaseTtl;
  private final Map<String, ArrayDeque<Submit>> pending = new HashMap<>();
  private final Set<String> inFlight = new HashSet<>();
  private final Leases leases;
  /** The newest limits version each tenant announced: a grant from before it is stale. */
  private final Map<String, Long> revokedUpTo = new HashMap<>();

  private LedgerBatcher(ActorContext<Message> ctx, int batchMax, Duration askTimeout, Duration attemptTimeout,
      Duration leaseTtl, Leases leases) {
    this.ctx = ctx;
    this.leases = leases;
    this.sharding = ClusterSharding.get(ctx.getSystem());
    this.batchMax = batchMax;
    this.askTimeout = askTimeout;
    this.attemptTimeout = attemptTimeout;
    this.leaseTtl = leaseTtl;
  }

  static Behavior<Message> create(int batchMax, Duration askTimeout, Duration attemptTimeout, Duration leaseTtl,
      ActorRef<Topic.Command<TenantNews>> news, Leases leases) {
    return Behaviors.setup(ctx -> {
      news.tell(Topic.subscribe(ctx.messageAdapter(TenantNews.class, News::new)));
      return new LedgerBatcher(ctx, batchMax, askTimeout, attemptTimeout, leaseTtl, leases).behavior();
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
    // A caller that found no lease may still have sent while one was granted.
    if (s.op() instanceof LedgerOp.Reserve && leases.grants(s.tenantId())) {
      s.result().complete(null);
      return Behaviors.same();
    }
    pending.computeIfAbsent(s.tenantId(), t -> new ArrayDeque<>()).add(s);
    if (!inFlight.contains(s.tenantId())) send(s.tenantId());
    return Behaviors.same();
  }

  private Behavior<Message> onBatchDone(BatchDone done) {
    Batch batch = done.batch();
    if (done.failure() instanceof TimeoutException && System.nanoTime() < batch.deadline()) {
      attempt(batch);
      return Behaviors.same();
    }
    String tenantId = batch.tenantId();
    inFlight.remove(tenantId);
    // The lease first, then the callers: a caller's next reservation, made as soon as it is told, finds it.
    if (done.outcomes() != null) {
      long version = done.outcomes().unlimitedAsOf();
      if (version >= 0 && version >= revokedUpTo.getOrDefault(tenantId, -1L)) {
        leases.grant(tenantId, System.nanoTime() + leaseTtl.toNanos());
      } else {
        leases.revoke(tenantId);
      }
    }
    for (int i = 0; i < batch.submits().size(); i++) {
      Submit s = batch.submits().get(i);
      if (done.failure() != null) s.result().completeExceptionally(done.failure());
      else s.result().complete(done.outcomes().rejections().get(i));
    }
    if (pending.containsKey(tenantId)) send(tenantId);
    return Behaviors.same();
  }

  private Behavior<Message> onNews(News n) {
    if (n.news() instanceof TenantNews.LimitsChanged changed) {
      revokedUpTo.merge(changed.tenantId(), changed.limitsVersion(), Math::max);
      leases.revoke(changed.tenantId());
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
    attempt(new Batch(tenantId, batch, List.copyOf(ops), System.nanoTime() + askTimeout.toNanos()));
  }

  private void attempt(Batch batch) {
    long left = batch.deadline() - System.nanoTime();
    Duration timeout = Duration.ofNanos(Math.max(1, Math.min(left, attemptTimeout.toNanos())));
    ctx.ask(LedgerOutcomes.class, sharding.entityRefFor(TenantEntity.KEY, batch.tenantId()), timeout,
        replyTo -> new TenantEntity.Ledger(batch.ops(), replyTo),
        (outcomes, failure) -> new BatchDone(batch, outcomes, failure));
  }
}
