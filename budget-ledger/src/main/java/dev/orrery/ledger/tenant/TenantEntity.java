package dev.orrery.ledger.tenant;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.JsonSerializable;
import dev.orrery.ledger.tenant.TenantEvent.ApiKeyIssued;
import dev.orrery.ledger.tenant.TenantEvent.ApiKeyRevoked;
import dev.orrery.ledger.tenant.TenantEvent.BudgetAlerted;
import dev.orrery.ledger.tenant.TenantEvent.BudgetSet;
import dev.orrery.ledger.tenant.TenantEvent.KillSwitchSet;
import dev.orrery.ledger.tenant.TenantEvent.MaxActiveRunsSet;
import dev.orrery.ledger.tenant.TenantEvent.Released;
import dev.orrery.ledger.tenant.TenantEvent.Reserved;
import dev.orrery.ledger.tenant.TenantEvent.RunAdmitted;
import dev.orrery.ledger.tenant.TenantEvent.RunEnded;
import dev.orrery.ledger.tenant.TenantEvent.Settled;
import dev.orrery.ledger.tenant.TenantEvent.SettledBatch;
import dev.orrery.ledger.tenant.TenantEvent.TenantCreated;
import dev.orrery.ledger.tenant.TenantState.ApiKey;
import dev.orrery.ledger.tenant.TenantState.Budget;
import dev.orrery.ledger.tenant.TenantState.Spend;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.SnapshotCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * A tenant ({@code tenant|<tenantId>}): its budgets per period, token limits and kill switch, its API keys
 * (as hashes), its limit on active runs, and the ledger of every LLM call's reservation. Reservations come
 * in batches ({@link Ledger}): each is decided against the state the ones before it left, and a whole batch
 * is persisted in one write, which is what lets one hot tenant take thousands of reservations a second.
 */
public final class TenantEntity
    extends EventSourcedBehaviorWithEnforcedReplies<TenantEntity.Command, TenantEvent, TenantState> {

  public static final EntityTypeKey<Command> KEY = EntityTypeKey.create(Command.class, "tenant");

  /** Thresholds of a budget, in percent, at which a soft alert is raised. */
  static final int[] ALERT_PERCENTS = {80, 100};
  private static final long MICROS_PER_CENT = 10_000;

  /**
   * @param holdTtl a reservation neither settled nor released for this long is released
   * @param news told when the tenant's limits change or a key is revoked, so nodes drop what they kept
   * @param settlementBatches whether the settlements of one batch are persisted as one {@link SettledBatch}
   *     (off, one {@link Settled} each, which a node of a build before {@code SettledBatch} can read)
   */
  public record Setup(Clock clock, int snapshotEvery, int defaultMaxActiveRuns, java.time.Duration holdTtl,
      TenantNews.Announcer news, boolean settlementBatches) {
    public Setup(Clock clock, int snapshotEvery, int defaultMaxActiveRuns, java.time.Duration holdTtl) {
      this(clock, snapshotEvery, defaultMaxActiveRuns, holdTtl, TenantNews.Announcer.NONE);
    }

    public Setup(Clock clock, int snapshotEvery, int defaultMaxActiveRuns, java.time.Duration holdTtl,
        TenantNews.Announcer news) {
      this(clock, snapshotEvery, defaultMaxActiveRuns, holdTtl, news, true);
    }

    public Setup {
      if (snapshotEvery <= 0) throw new IllegalArgumentException("snapshot-every must be > 0, was " + snapshotEvery);
      if (defaultMaxActiveRuns <= 0) {
        throw new IllegalArgumentException("max-active-runs must be > 0, was " + defaultMaxActiveRuns);
      }
    }
  }

  // ---- protocol ----------------------------------------------------------------------------------------

  public sealed interface Command extends JsonSerializable {}

  /** Creates the tenant; repeating it for an existing tenant answers what exists. */
  public record Create(String name, Integer maxActiveRuns, ActorRef<StatusReply<TenantView>> replyTo)
      implements Command {}

  public record Get(ActorRef<StatusReply<TenantView>> replyTo) implements Command {}

  /** Null for both limits removes the period's budget. */
  public record SetBudget(BudgetPeriod period, Long limitCents, Long tokenLimit,
      ActorRef<StatusReply<BudgetStatus>> replyTo) implements Command {}

  public record SetMaxActiveRuns(int maxActiveRuns, ActorRef<StatusReply<TenantView>> replyTo) implements Command {}

  public record SetKillSwitch(boolean on, String reason, ActorRef<StatusReply<TenantView>> replyTo)
      implements Command {}

  public record GetBudgetStatus(ActorRef<StatusReply<BudgetStatus>> replyTo) implements Command {}

  /** The key was minted by the caller, who shows it once; only its hash comes here. */
  public record IssueKey(String keyId, String sha256, Role role, String name, ActorRef<StatusReply<KeyInfo>> replyTo)
      implements Command {}

  public record RevokeKey(String keyId, ActorRef<StatusReply<KeyInfo>> replyTo) implements Command {}

  public record ListKeys(ActorRef<StatusReply<KeyList>> replyTo) implements Command {}

  /** A tenant's keys, oldest first, without their hashes. */
  public record KeyList(@JsonProperty("keys") List<KeyInfo> keys) implements JsonSerializable {}

  /**
   * The role of an active key. {@code sha256} null checks only that the key is still active (a token
   * minted from it is being used). Every refusal reads the same, so a caller learns nothing about keys.
   */
  public record Authenticate(String keyId, String sha256, ActorRef<StatusReply<Role>> replyTo) implements Command {}

  /** Counts a run against the limit on active runs; admitting a run already admitted is answered again. */
  public record AdmitRun(String runId, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  public record EndRun(String runId, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** A batch of reservation operations, answered with one outcome per operation, in order. */
  public record Ledger(List<LedgerOp> ops, ActorRef<LedgerOutcomes> replyTo) implements Command {}

  @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "op")
  @JsonSubTypes({
      @JsonSubTypes.Type(value = LedgerOp.Reserve.class, name = "reserve"),
      @JsonSubTypes.Type(value = LedgerOp.Settle.class, name = "settle"),
      @JsonSubTypes.Type(value = LedgerOp.Release.class, name = "release")})
  public sealed interface LedgerOp extends JsonSerializable {
    String reservationId();

    record Reserve(String reservationId, String runId, String nodeId, long tokens, long costMicros)
        implements LedgerOp {}

    /** {@code runId} and {@code nodeId} attribute the charge when no hold remembers them. */
    record Settle(String reservationId, String runId, String nodeId, long tokensIn, long tokensOut, long costMicros,
        String provider, String model) implements LedgerOp {}

    record Release(String reservationId) implements LedgerOp {}
  }

  /**
   * One entry per operation: null when it was done, else a rejection made by {@link ErrorCode#reject}.
   * {@code unlimitedAsOf} is the tenant's limits version when no reservation of it can be refused (no
   * budget, kill switch off), or -1: a node may then grant its reservations itself until told otherwise.
   */
  public record LedgerOutcomes(List<String> rejections, long unlimitedAsOf) implements JsonSerializable {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record TenantView(
      @JsonProperty("tenant_id") String tenantId,
      @JsonProperty("name") String name,
      @JsonProperty("created_at") Instant createdAt,
      @JsonProperty("max_active_runs") int maxActiveRuns,
      @JsonProperty("active_runs") int activeRuns,
      @JsonProperty("kill_switch") boolean killSwitch,
      @JsonProperty("kill_switch_reason") String killSwitchReason) implements JsonSerializable {

    static TenantView of(TenantState s) {
      return new TenantView(s.tenantId(), s.name(), s.createdAt(), s.maxActiveRuns(), s.activeRuns().size(),
          s.killSwitch(), s.killSwitchReason());
    }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record KeyInfo(
      @JsonProperty("key_id") String keyId,
      @JsonProperty("role") Role role,
      @JsonProperty("name") String name,
      @JsonProperty("created_at") Instant createdAt,
      @JsonProperty("revoked_at") Instant revokedAt) implements JsonSerializable {

    static KeyInfo of(String keyId, ApiKey k) {
      return new KeyInfo(keyId, k.role(), k.name(), k.createdAt(), k.revokedAt());
    }
  }

  /** A period's budget and what counts against it now. Amounts in micro-dollars and tokens. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record PeriodStatus(
      @JsonProperty("period") BudgetPeriod period,
      @JsonProperty("window") String window,
      @JsonProperty("resets_at") Instant resetsAt,
      @JsonProperty("limit_cents") Long limitCents,
      @JsonProperty("token_limit") Long tokenLimit,
      @JsonProperty("spent_micros") long spentMicros,
      @JsonProperty("spent_tokens") long spentTokens,
      @JsonProperty("reserved_micros") long reservedMicros,
      @JsonProperty("reserved_tokens") long reservedTokens) implements JsonSerializable {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record BudgetStatus(
      @JsonProperty("tenant_id") String tenantId,
      @JsonProperty("kill_switch") boolean killSwitch,
      @JsonProperty("kill_switch_reason") String killSwitchReason,
      @JsonProperty("periods") List<PeriodStatus> periods,
      @JsonProperty("open_reservations") int openReservations,
      @JsonProperty("alerts") List<BudgetAlerted> alerts) implements JsonSerializable {}

  // ---- wiring ------------------------------------------------------------------------------------------

  public static void init(ActorSystem<?> system, Setup setup) {
    ClusterSharding.get(system).init(Entity.of(KEY, ctx -> create(ctx.getEntityId(), setup)));
  }

  public static Behavior<Command> create(String tenantId, Setup setup) {
    return new TenantEntity(tenantId, setup);
  }

  private final String tenantId;
  private final Setup setup;
  /** When stale holds were last looked for: bookkeeping of this incarnation, not state. */
  private Instant lastSweep = Instant.EPOCH;
  /**
   * Events folded since the last snapshot, a {@link SettledBatch} counting each of its settlements:
   * recovery folds this many, so it is what decides a snapshot (with the retention's count of events, which
   * also deletes the older snapshots). Counted during recovery too.
   */
  private long foldsSinceSnapshot;

  private TenantEntity(String tenantId, Setup setup) {
    super(PersistenceId.of(KEY.name(), tenantId));
    this.tenantId = tenantId;
    this.setup = setup;
  }

  @Override
  public TenantState emptyState() {
    return TenantState.empty(tenantId);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(setup.snapshotEvery(), 2);
  }

  /**
   * A snapshot also after {@code snapshotEvery} folds: a hot tenant's settlements come in batches of
   * dozens per event, and counting events alone would let recovery fold dozens of times more. These
   * snapshots are deleted by the retention's next ones (those older than two of its periods).
   */
  @Override
  public boolean shouldSnapshot(TenantState state, TenantEvent event, long sequenceNr) {
    // Asked before this event is folded when several are persisted together, after it when one is: it
    // counts here, at the risk of a snapshot one event early.
    if (foldsSinceSnapshot + folds(event) < setup.snapshotEvery()) return false;
    foldsSinceSnapshot = 0;
    return true;
  }

  private static int folds(TenantEvent event) {
    return event instanceof SettledBatch batch ? batch.settled().size() : 1;
  }

  /** Settlements are what the usage read side projects: they carry the tag it reads by. */
  @Override
  public java.util.Set<String> tagsFor(TenantEvent event) {
    return event instanceof Settled || event instanceof SettledBatch ? USAGE_TAGS : java.util.Set.of();
  }

  private static final java.util.Set<String> USAGE_TAGS = java.util.Set.of(dev.orrery.ledger.usage.UsageProjection.TAG);

  @Override
  public CommandHandlerWithReply<Command, TenantEvent, TenantState> commandHandler() {
    var b = newCommandHandlerWithReplyBuilder().forAnyState();
    b.onCommand(Create.class, this::onCreate);
    b.onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), existing(s, TenantView.of(s))));
    b.onCommand(SetBudget.class, this::onSetBudget);
    b.onCommand(SetMaxActiveRuns.class, this::onSetMaxActiveRuns);
    b.onCommand(SetKillSwitch.class, this::onSetKillSwitch);
    b.onCommand(GetBudgetStatus.class, (s, c) -> Effect().reply(c.replyTo(), existing(s, status(s, now()))));
    b.onCommand(IssueKey.class, this::onIssueKey);
    b.onCommand(RevokeKey.class, this::onRevokeKey);
    b.onCommand(ListKeys.class, this::onListKeys);
    b.onCommand(Authenticate.class, this::onAuthenticate);
    b.onCommand(AdmitRun.class, this::onAdmitRun);
    b.onCommand(EndRun.class, this::onEndRun);
    b.onCommand(Ledger.class, this::onLedger);
    return b.build();
  }

  @Override
  public EventHandler<TenantState, TenantEvent> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((state, event) -> {
      foldsSinceSnapshot += folds(event);
      return state.apply(event);
    });
  }

  /** The budget gauges live where the tenant does: recorded when it comes up here, removed when it leaves. */
  @Override
  public SignalHandler<TenantState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), s -> BudgetGauges.record(s, now()))
        .onSignal(PostStop.instance(), s -> BudgetGauges.stopped(tenantId))
        .onSignal(SnapshotCompleted.class, (s, done) -> foldsSinceSnapshot = 0)
        .build();
  }

  // ---- tenant and keys ---------------------------------------------------------------------------------

  private ReplyEffect<TenantEvent, TenantState> onCreate(TenantState s, Create c) {
    if (s.exists()) return Effect().reply(c.replyTo(), StatusReply.success(TenantView.of(s)));
    int maxActive = c.maxActiveRuns() == null ? setup.defaultMaxActiveRuns() : c.maxActiveRuns();
    if (maxActive <= 0) return Effect().reply(c.replyTo(), invalid("max_active_runs must be > 0, was " + maxActive));
    String name = c.name() == null || c.name().isBlank() ? tenantId : c.name().strip();
    return Effect().persist(new TenantCreated(tenantId, name, maxActive, now()))
        .thenReply(c.replyTo(), next -> StatusReply.success(TenantView.of(next)));
  }

  private ReplyEffect<TenantEvent, TenantState> onSetBudget(TenantState s, SetBudget c) {
    if (!s.exists()) return Effect().reply(c.replyTo(), StatusReply.error(notFound()));
    if ((c.limitCents() != null && c.limitCents() < 0) || (c.tokenLimit() != null && c.tokenLimit() < 0)) {
      return Effect().reply(c.replyTo(), invalid("limit_cents and token_limit must be >= 0"));
    }
    return Effect().persist(new BudgetSet(c.period(), c.limitCents(), c.tokenLimit(), now()))
        .thenRun(this::announceLimits)
        .thenRun(next -> BudgetGauges.record(next, now()))
        .thenReply(c.replyTo(), next -> StatusReply.success(status(next, now())));
  }

  private ReplyEffect<TenantEvent, TenantState> onSetMaxActiveRuns(TenantState s, SetMaxActiveRuns c) {
    if (!s.exists()) return Effect().reply(c.replyTo(), StatusReply.error(notFound()));
    if (c.maxActiveRuns() <= 0) {
      return Effect().reply(c.replyTo(), invalid("max_active_runs must be > 0, was " + c.maxActiveRuns()));
    }
    return Effect().persist(new MaxActiveRunsSet(c.maxActiveRuns(), now()))
        .thenReply(c.replyTo(), next -> StatusReply.success(TenantView.of(next)));
  }

  private ReplyEffect<TenantEvent, TenantState> onSetKillSwitch(TenantState s, SetKillSwitch c) {
    if (!s.exists()) return Effect().reply(c.replyTo(), StatusReply.error(notFound()));
    if (s.killSwitch() == c.on()) return Effect().reply(c.replyTo(), StatusReply.success(TenantView.of(s)));
    return Effect().persist(new KillSwitchSet(c.on(), c.reason(), now()))
        .thenRun(this::announceLimits)
        .thenReply(c.replyTo(), next -> StatusReply.success(TenantView.of(next)));
  }

  private ReplyEffect<TenantEvent, TenantState> onIssueKey(TenantState s, IssueKey c) {
    if (!s.exists()) return Effect().reply(c.replyTo(), StatusReply.error(notFound()));
    ApiKey existing = s.keys().get(c.keyId());
    if (existing != null) {
      // A retried issue of the same key is answered; another key under the same id is a conflict.
      if (existing.sha256().equals(c.sha256())) {
        return Effect().reply(c.replyTo(), StatusReply.success(KeyInfo.of(c.keyId(), existing)));
      }
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.CONFLICT.reject("key " + c.keyId() + " exists")));
    }
    return Effect().persist(new ApiKeyIssued(c.keyId(), c.sha256(), c.role(), c.name(), now()))
        .thenReply(c.replyTo(), next -> StatusReply.success(KeyInfo.of(c.keyId(), next.keys().get(c.keyId()))));
  }

  private ReplyEffect<TenantEvent, TenantState> onRevokeKey(TenantState s, RevokeKey c) {
    ApiKey key = s.keys().get(c.keyId());
    if (!s.exists() || key == null) {
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.NOT_FOUND.reject("key " + c.keyId() + " not found")));
    }
    if (!key.active()) return Effect().reply(c.replyTo(), StatusReply.success(KeyInfo.of(c.keyId(), key)));
    if (key.role() == Role.ADMIN && activeAdmins(s) == 1) {
      // Nobody could then manage the tenant's keys: issue another admin key first, then revoke this one.
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.CONFLICT.reject("key " + c.keyId()
          + " is the tenant's last active admin key; issue another admin key before revoking it")));
    }
    return Effect().persist(new ApiKeyRevoked(c.keyId(), now()))
        .thenRun(next -> setup.news().announce(new TenantNews.KeyRevoked(tenantId, c.keyId())))
        .thenReply(c.replyTo(), next -> StatusReply.success(KeyInfo.of(c.keyId(), next.keys().get(c.keyId()))));
  }

  private static long activeAdmins(TenantState s) {
    return s.keys().values().stream().filter(k -> k.active() && k.role() == Role.ADMIN).count();
  }

  private ReplyEffect<TenantEvent, TenantState> onListKeys(TenantState s, ListKeys c) {
    List<KeyInfo> keys = new ArrayList<>();
    s.keys().forEach((id, k) -> keys.add(KeyInfo.of(id, k)));
    keys.sort(Comparator.comparing(KeyInfo::createdAt).thenComparing(KeyInfo::keyId));
    return Effect().reply(c.replyTo(), existing(s, new KeyList(List.copyOf(keys))));
  }

  private ReplyEffect<TenantEvent, TenantState> onAuthenticate(TenantState s, Authenticate c) {
    ApiKey key = s.keys().get(c.keyId());
    boolean ok = s.exists() && key != null && key.active()
        && (c.sha256() == null || java.security.MessageDigest.isEqual(
            key.sha256().getBytes(java.nio.charset.StandardCharsets.US_ASCII),
            c.sha256().getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    if (!ok) return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.UNAUTHENTICATED.reject("invalid credentials")));
    return Effect().reply(c.replyTo(), StatusReply.success(key.role()));
  }

  // ---- active runs -------------------------------------------------------------------------------------

  private ReplyEffect<TenantEvent, TenantState> onAdmitRun(TenantState s, AdmitRun c) {
    if (!s.exists()) return Effect().reply(c.replyTo(), StatusReply.error(notFound()));
    if (s.activeRuns().contains(c.runId())) return Effect().reply(c.replyTo(), StatusReply.ack());
    if (s.activeRuns().size() >= s.maxActiveRuns()) {
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.RATE_LIMIT_EXCEEDED.reject("tenant " + tenantId
          + " has " + s.activeRuns().size() + " active runs, its limit is " + s.maxActiveRuns())));
    }
    return Effect().persist(new RunAdmitted(c.runId(), now())).thenReply(c.replyTo(), next -> StatusReply.ack());
  }

  private ReplyEffect<TenantEvent, TenantState> onEndRun(TenantState s, EndRun c) {
    if (!s.activeRuns().contains(c.runId())) return Effect().reply(c.replyTo(), StatusReply.ack());
    return Effect().persist(new RunEnded(c.runId(), now())).thenReply(c.replyTo(), next -> StatusReply.ack());
  }

  // ---- the ledger --------------------------------------------------------------------------------------

  private ReplyEffect<TenantEvent, TenantState> onLedger(TenantState s, Ledger c) {
    Instant now = now();
    // Stale holds go first, so what they held is free for this batch (a late settlement of one is
    // still charged, see decide).
    List<TenantEvent> events = new ArrayList<>(staleHolds(s, now));
    List<String> rejections = new ArrayList<>(c.ops().size());
    TenantState state = s;
    for (TenantEvent e : events) state = state.apply(e);
    for (LedgerOp op : c.ops()) {
      Decision decided = decide(state, op, now, events);
      rejections.add(decided.rejection());
      state = decided.state();
    }
    var outcomes = new LedgerOutcomes(java.util.Collections.unmodifiableList(rejections),
        state.unlimited() ? state.limitsVersion() : -1);
    if (events.isEmpty()) return Effect().reply(c.replyTo(), outcomes);
    return Effect().persist(setup.settlementBatches() ? gatherSettlements(events, now) : events)
        .thenRun(next -> BudgetGauges.record(next, now))
        .thenReply(c.replyTo(), next -> outcomes);
  }

  /**
   * Settlements that follow one another in a batch's events become one {@link SettledBatch}; the other
   * events, and a settlement alone, stay as they are, in their order.
   */
  private static List<TenantEvent> gatherSettlements(List<TenantEvent> events, Instant now) {
    List<TenantEvent> gathered = new ArrayList<>(events.size());
    List<Settled> settlements = new ArrayList<>();
    for (TenantEvent e : events) {
      if (e instanceof Settled settled) {
        settlements.add(settled);
        continue;
      }
      addGathered(settlements, gathered, now);
      gathered.add(e);
    }
    addGathered(settlements, gathered, now);
    return gathered;
  }

  private static void addGathered(List<Settled> settlements, List<TenantEvent> into, Instant now) {
    if (settlements.size() == 1) into.add(settlements.get(0));
    else if (settlements.size() > 1) into.add(new SettledBatch(settlements, now));
    settlements.clear();
  }

  /**
   * Releases holds older than the hold TTL, looked for at most once a minute: a hold whose step was lost
   * with its node and never re-dispatched (its run was cancelled meanwhile, say) must not block the budget.
   */
  private List<TenantEvent> staleHolds(TenantState s, Instant now) {
    if (s.holds().isEmpty() || lastSweep.plusSeconds(60).isAfter(now)) return List.of();
    lastSweep = now;
    Instant cutoff = now.minus(setup.holdTtl());
    List<TenantEvent> released = new ArrayList<>();
    s.holds().forEach((id, hold) -> {
      if (hold.at().isBefore(cutoff)) released.add(new Released(id, now));
    });
    return released;
  }

  /**
   * What deciding one operation gave: why it was refused (null when it is done), and the state with its
   * events applied, which the next operation of the batch is decided against.
   */
  private record Decision(String rejection, TenantState state) {}

  /**
   * Decides one operation against the state the operations before it left, adding its events to
   * {@code events}. The state it returns has them applied already: a settlement is folded here once
   * (its alerts need the state after it), not again for the next operation.
   */
  private Decision decide(TenantState s, LedgerOp op, Instant now, List<TenantEvent> events) {
    if (op instanceof LedgerOp.Reserve r) {
      if (s.holds().containsKey(r.reservationId()) || s.wasSettled(r.reservationId())) {
        return new Decision(null, s); // a re-dispatch
      }
      String refusal = refusal(s, r, now);
      if (refusal != null) return new Decision(refusal, s);
      // With no budget there is nothing for a hold to protect: granted without a write. The settlement
      // is still recorded, and the kill switch was still checked.
      if (s.budgets().isEmpty()) return new Decision(null, s);
      var reserved = new Reserved(r.reservationId(), r.runId(), r.nodeId(), r.tokens(), r.costMicros(), now);
      events.add(reserved);
      return new Decision(null, s.apply(reserved));
    }
    if (op instanceof LedgerOp.Settle st) {
      if (s.wasSettled(st.reservationId())) return new Decision(null, s); // a repeated settlement: charged once
      // Without a hold (the tenant has no budget, or the hold expired before the call ended) the call still
      // happened: it is charged all the same.
      var hold = s.holds().get(st.reservationId());
      var settled = new Settled(st.reservationId(), hold != null ? hold.runId() : st.runId(),
          hold != null ? hold.nodeId() : st.nodeId(), st.tokensIn(), st.tokensOut(), st.costMicros(), st.provider(),
          st.model(), now);
      events.add(settled);
      TenantState after = s.apply(settled);
      for (TenantEvent alert : alerts(after, now)) {
        events.add(alert);
        after = after.apply(alert);
      }
      return new Decision(null, after);
    }
    if (op instanceof LedgerOp.Release rl) {
      if (!s.holds().containsKey(rl.reservationId())) return new Decision(null, s);
      var released = new Released(rl.reservationId(), now);
      events.add(released);
      return new Decision(null, s.apply(released));
    }
    throw new IllegalArgumentException("unknown ledger operation " + op);
  }

  /** Why a reservation does not fit, or null when it does. */
  private String refusal(TenantState s, LedgerOp.Reserve r, Instant now) {
    if (!s.exists()) return ErrorCode.FORBIDDEN.reject("tenant " + tenantId + " does not exist");
    if (s.killSwitch()) {
      return ErrorCode.BUDGET_EXCEEDED.reject("the kill switch of tenant " + tenantId + " is on"
          + (s.killSwitchReason() == null ? "" : ": " + s.killSwitchReason()));
    }
    for (Map.Entry<BudgetPeriod, Budget> e : s.budgets().entrySet()) {
      BudgetPeriod period = e.getKey();
      Budget budget = e.getValue();
      Spend spent = s.spendIn(period, now);
      if (budget.limitCents() != null) {
        long limit = budget.limitCents() * MICROS_PER_CENT;
        long wouldBe = spent.costMicros() + s.heldCostMicros() + r.costMicros();
        if (wouldBe > limit) {
          return ErrorCode.BUDGET_EXCEEDED.reject("the " + period.wireName() + " budget of " + budget.limitCents()
              + " cents (" + spent.window() + ") does not fit this call: spent " + spent.costMicros()
              + " µ$, reserved " + s.heldCostMicros() + " µ$, this call needs up to " + r.costMicros() + " µ$");
        }
      }
      if (budget.tokenLimit() != null) {
        long wouldBe = spent.tokens() + s.heldTokens() + r.tokens();
        if (wouldBe > budget.tokenLimit()) {
          return ErrorCode.BUDGET_EXCEEDED.reject("the " + period.wireName() + " token limit of " + budget.tokenLimit()
              + " (" + spent.window() + ") does not fit this call: used " + spent.tokens() + ", reserved "
              + s.heldTokens() + ", this call needs up to " + r.tokens());
        }
      }
    }
    return null;
  }

  /** The soft alerts a settlement newly crossed. */
  private static List<TenantEvent> alerts(TenantState s, Instant now) {
    List<TenantEvent> alerts = new ArrayList<>();
    for (Map.Entry<BudgetPeriod, Budget> e : s.budgets().entrySet()) {
      Spend spent = s.spendIn(e.getKey(), now);
      Budget b = e.getValue();
      for (int percent : ALERT_PERCENTS) {
        if (b.limitCents() != null && b.limitCents() > 0 && spent.alertedCost() < percent
            && spent.costMicros() * 100 >= b.limitCents() * MICROS_PER_CENT * percent) {
          alerts.add(new BudgetAlerted(e.getKey(), spent.window(), "cost", percent, spent.costMicros(),
              b.limitCents() * MICROS_PER_CENT, now));
        }
        if (b.tokenLimit() != null && b.tokenLimit() > 0 && spent.alertedTokens() < percent
            && spent.tokens() * 100 >= b.tokenLimit() * percent) {
          alerts.add(new BudgetAlerted(e.getKey(), spent.window(), "tokens", percent, spent.tokens(), b.tokenLimit(),
              now));
        }
      }
    }
    return alerts;
  }

  private BudgetStatus status(TenantState s, Instant now) {
    List<PeriodStatus> periods = new ArrayList<>();
    for (BudgetPeriod p : BudgetPeriod.values()) {
      Budget b = s.budgets().get(p);
      Spend spent = s.spendIn(p, now);
      periods.add(new PeriodStatus(p, spent.window(), p.windowEnd(now), b == null ? null : b.limitCents(),
          b == null ? null : b.tokenLimit(), spent.costMicros(), spent.tokens(), s.heldCostMicros(), s.heldTokens()));
    }
    return new BudgetStatus(tenantId, s.killSwitch(), s.killSwitchReason(), List.copyOf(periods), s.holds().size(),
        s.alerts());
  }

  private void announceLimits(TenantState next) {
    setup.news().announce(new TenantNews.LimitsChanged(tenantId, next.limitsVersion()));
  }

  private Instant now() {
    return setup.clock().instant();
  }

  private <T> StatusReply<T> existing(TenantState s, T value) {
    return s.exists() ? StatusReply.success(value) : StatusReply.error(notFound());
  }

  private String notFound() {
    return ErrorCode.NOT_FOUND.reject("tenant " + tenantId + " not found");
  }

  private static <T> StatusReply<T> invalid(String message) {
    return StatusReply.error(ErrorCode.INVALID_REQUEST.reject(message));
  }
}
