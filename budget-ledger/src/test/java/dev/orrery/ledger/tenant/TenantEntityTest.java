package dev.orrery.ledger.tenant;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import dev.orrery.core.ErrorCode;
import dev.orrery.ledger.tenant.TenantEntity.AdmitRun;
import dev.orrery.ledger.tenant.TenantEntity.Authenticate;
import dev.orrery.ledger.tenant.TenantEntity.BudgetStatus;
import dev.orrery.ledger.tenant.TenantEntity.Command;
import dev.orrery.ledger.tenant.TenantEntity.Create;
import dev.orrery.ledger.tenant.TenantEntity.EndRun;
import dev.orrery.ledger.tenant.TenantEntity.Get;
import dev.orrery.ledger.tenant.TenantEntity.GetBudgetStatus;
import dev.orrery.ledger.tenant.TenantEntity.IssueKey;
import dev.orrery.ledger.tenant.TenantEntity.KeyInfo;
import dev.orrery.ledger.tenant.TenantEntity.Ledger;
import dev.orrery.ledger.tenant.TenantEntity.LedgerOp;
import dev.orrery.ledger.tenant.TenantEntity.LedgerOutcomes;
import dev.orrery.ledger.tenant.TenantEntity.ListKeys;
import dev.orrery.ledger.tenant.TenantEntity.PeriodStatus;
import dev.orrery.ledger.tenant.TenantEntity.RevokeKey;
import dev.orrery.ledger.tenant.TenantEntity.SetBudget;
import dev.orrery.ledger.tenant.TenantEntity.SetKillSwitch;
import dev.orrery.ledger.tenant.TenantEntity.SetMaxActiveRuns;
import dev.orrery.ledger.tenant.TenantEntity.TenantView;
import dev.orrery.ledger.tenant.TenantEvent.BudgetAlerted;
import dev.orrery.ledger.tenant.TenantEvent.Released;
import dev.orrery.ledger.tenant.TenantEvent.Reserved;
import dev.orrery.ledger.tenant.TenantEvent.RunAdmitted;
import dev.orrery.ledger.tenant.TenantEvent.RunEnded;
import dev.orrery.ledger.tenant.TenantEvent.Settled;
import dev.orrery.ledger.tenant.TenantEvent.SettledBatch;
import dev.orrery.ledger.tenant.TenantEvent.TenantCreated;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The Tenant entity's decisions on the persistence testkit's in-memory journal and snapshot store, which
 * also check that every command, event and state round-trips through our Jackson binding (with equality).
 * Time is a {@link TestClock} the tests move: budget windows and stale holds are crossed without sleeping.
 * Each test has its own tenant id, so the shared journal never mixes two tests' events. (Pekko's
 * LogCapturingExtension is not used: in Pekko 1.2 it needs JUnit 4 on the class path, which this module
 * does not have.)
 */
class TenantEntityTest {
  private static final ActorTestKit kit = ActorTestKit.create(
      ConfigFactory.parseString("pekko.actor.allow-java-serialization = off")
          .withFallback(EventSourcedBehaviorTestKit.config())
          .withFallback(ConfigFactory.load()));

  /** Mid-month and mid-day, so only the tests that mean to cross a window do. */
  private static final Instant START = Instant.parse("2026-03-14T12:00:00Z");
  private static final Duration HOLD_TTL = Duration.ofHours(1);
  private static final int DEFAULT_MAX_ACTIVE_RUNS = 7;

  private final TestClock clock = new TestClock(START);
  private final String tenantId = "t-" + UUID.randomUUID();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  // ---- tenant lifecycle ----------------------------------------------------------------------------------

  @Test
  void creatingAnExistingTenantAnswersWhatExistsWithoutNewEvents() {
    var es = tenant();
    var first = es.<StatusReply<TenantView>>runCommand(r -> new Create("Acme", 5, r));
    assertEquals(List.of(new TenantCreated(tenantId, "Acme", 5, START)), first.events());
    assertEquals(new TenantView(tenantId, "Acme", START, 5, 0, false, null), first.reply().getValue());

    clock.advance(Duration.ofMinutes(3));
    var again = es.<StatusReply<TenantView>>runCommand(r -> new Create("Other name", 9, r));
    assertTrue(again.hasNoEvents());
    assertEquals(first.reply().getValue(), again.reply().getValue());
  }

  @Test
  void aTenantCreatedWithoutNameOrLimitIsNamedByItsIdWithTheDefaultLimit() {
    var es = tenant();
    var created = es.<StatusReply<TenantView>>runCommand(r -> new Create("  ", null, r));
    assertEquals(tenantId, created.reply().getValue().name());
    assertEquals(DEFAULT_MAX_ACTIVE_RUNS, created.reply().getValue().maxActiveRuns());
  }

  @Test
  void aTenantWithoutRoomForRunsIsRefused() {
    var es = tenant();
    var refused = es.<StatusReply<TenantView>>runCommand(r -> new Create("Acme", 0, r));
    assertTrue(refused.hasNoEvents());
    assertEquals(ErrorCode.INVALID_REQUEST, codeOf(refused.reply()));
    assertFalse(refused.state().exists());
  }

  @Test
  void commandsOnATenantThatDoesNotExistAreAnsweredNotFoundAndPersistNothing() {
    var es = tenant();
    List<Function<ActorRef<StatusReply<Object>>, Command>> commands = List.of(
        r -> new Get(cast(r)),
        r -> new SetBudget(BudgetPeriod.MONTHLY, 100L, null, cast(r)),
        r -> new SetMaxActiveRuns(3, cast(r)),
        r -> new SetKillSwitch(true, "why not", cast(r)),
        r -> new GetBudgetStatus(cast(r)),
        r -> new IssueKey("k1", sha256("secret"), Role.ADMIN, "ci", cast(r)),
        r -> new RevokeKey("k1", cast(r)),
        r -> new ListKeys(cast(r)),
        r -> new AdmitRun("run-1", cast(r)));
    for (var command : commands) {
      var result = es.<StatusReply<Object>>runCommand(command);
      assertTrue(result.hasNoEvents(), () -> "persisted " + result.events() + " for " + result.command());
      assertEquals(ErrorCode.NOT_FOUND, codeOf(result.reply()), () -> "for " + result.command());
    }
    var auth = es.<StatusReply<Role>>runCommand(r -> new Authenticate("k1", sha256("secret"), r));
    assertEquals(ErrorCode.UNAUTHENTICATED, codeOf(auth.reply()));
  }

  @Test
  void aReservationForATenantThatDoesNotExistIsForbidden() {
    var es = tenant();
    var result = ledger(es, reserve("call-1", 100, 1_000));
    assertTrue(result.hasNoEvents());
    assertEquals(List.of("FORBIDDEN"), codes(result.reply()));
  }

  // ---- budgets -------------------------------------------------------------------------------------------

  @Test
  void aReservationThatDoesNotFitTheMonthlyBudgetIsRefusedAndPersistsNothing() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, 100L, null); // 1,000,000 µ$

    var fits = ledger(es, reserve("call-1", 100, 600_000));
    assertEquals(List.of("ok"), codes(fits.reply()));
    assertEquals(List.of(new Reserved("call-1", "run-1", "node-a", 100, 600_000, START)), fits.events());

    var tooMuch = ledger(es, reserve("call-2", 100, 400_001));
    assertTrue(tooMuch.hasNoEvents());
    assertEquals(List.of("BUDGET_EXCEEDED"), codes(tooMuch.reply()));
    assertTrue(tooMuch.reply().rejections().get(0).contains("monthly budget of 100 cents"),
        tooMuch.reply().rejections().get(0));

    var exactlyTheRest = ledger(es, reserve("call-3", 100, 400_000));
    assertEquals(List.of("ok"), codes(exactlyTheRest.reply()));
  }

  @Test
  void opsInOneBatchAreDecidedInOrderAgainstWhatTheOpsBeforeThemLeft() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, 100L, null);

    var batch = ledger(es, reserve("c1", 10, 300_000), reserve("c2", 10, 300_000), reserve("c3", 10, 300_000),
        reserve("c4", 10, 300_000), reserve("c5", 10, 300_000));

    assertEquals(List.of("ok", "ok", "ok", "BUDGET_EXCEEDED", "BUDGET_EXCEEDED"), codes(batch.reply()));
    assertEquals(List.of("c1", "c2", "c3"), batch.events().stream()
        .map(e -> assertInstanceOf(Reserved.class, e).reservationId()).toList());
    assertEquals(900_000, batch.state().heldCostMicros());
  }

  @Test
  void aReleaseEarlierInABatchMakesRoomForAReservationLaterInIt() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, 100L, null);

    var batch = ledger(es, reserve("c1", 10, 600_000), reserve("c2", 10, 600_000), release("c1"),
        reserve("c3", 10, 600_000), settle("c3", 5, 5, 100_000), reserve("c4", 10, 900_000));

    assertEquals(List.of("ok", "BUDGET_EXCEEDED", "ok", "ok", "ok", "ok"), codes(batch.reply()));
    assertEquals(List.of(Reserved.class, Released.class, Reserved.class, Settled.class, Reserved.class),
        batch.events().stream().map(Object::getClass).toList());
    assertEquals(List.of("c4"), List.copyOf(batch.state().holds().keySet()));
  }

  @Test
  void theTokenLimitRefusesWhatDoesNotFitJustLikeTheCostBudget() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, null, 1_000L);

    var batch = ledger(es, reserve("c1", 600, 0), reserve("c2", 500, 0), reserve("c3", 400, 0));
    assertEquals(List.of("ok", "BUDGET_EXCEEDED", "ok"), codes(batch.reply()));
    assertTrue(batch.reply().rejections().get(1).contains("token limit of 1000"), batch.reply().rejections().get(1));
    assertEquals(2, batch.events().size());

    // Settling at less than the estimate frees the difference: 150 used + 0 held leaves room for 500.
    var settled = ledger(es, settle("c1", 100, 50, 0), release("c3"), reserve("c2", 500, 0));
    assertEquals(List.of("ok", "ok", "ok"), codes(settled.reply()));
    PeriodStatus monthly = period(status(es), BudgetPeriod.MONTHLY);
    assertEquals(150, monthly.spentTokens());
    assertEquals(500, monthly.reservedTokens());
  }

  // ---- settle, release, and their repetitions ------------------------------------------------------------

  @Test
  void settlingReplacesTheHoldByTheActualCost() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, 100L, null);
    ledger(es, reserve("c1", 1_000, 300_000), reserve("c2", 500, 200_000));

    clock.advance(Duration.ofSeconds(2));
    var settled = ledger(es, settle("c1", 200, 100, 120_000));

    assertEquals(List.of(new Settled("c1", "run-1", "node-a", 200, 100, 120_000, "sim", "sim-small",
        START.plusSeconds(2))), settled.events());
    PeriodStatus monthly = period(status(es), BudgetPeriod.MONTHLY);
    assertEquals(120_000, monthly.spentMicros());
    assertEquals(300, monthly.spentTokens());
    assertEquals(200_000, monthly.reservedMicros());
    assertEquals(500, monthly.reservedTokens());
    assertEquals(1, status(es).openReservations());
    assertTrue(settled.state().wasSettled("c1"));
  }

  @Test
  void settlementsThatFollowOneAnotherInABatchArePersistedAsOneEventThatFoldsLikeThemOneByOne() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, 100L, null);
    ledger(es, reserve("a", 100, 300_000), reserve("b", 100, 300_000), reserve("c", 100, 300_000));
    clock.advance(Duration.ofSeconds(2));
    Instant at = START.plusSeconds(2);

    // b takes the month past 80 % of its 1,000,000 µ$: the alert comes between b and c.
    var settled = ledger(es, settle("a", 10, 5, 500_000), settle("b", 10, 5, 350_000), settle("c", 10, 5, 100_000));

    Settled a = new Settled("a", "run-1", "node-a", 10, 5, 500_000, "sim", "sim-small", at);
    Settled b = new Settled("b", "run-1", "node-a", 10, 5, 350_000, "sim", "sim-small", at);
    Settled c = new Settled("c", "run-1", "node-a", 10, 5, 100_000, "sim", "sim-small", at);
    assertEquals(List.of(new SettledBatch(List.of(a, b), at),
        new BudgetAlerted(BudgetPeriod.MONTHLY, "2026-03", "cost", 80, 850_000, 1_000_000, at), c), settled.events());
    assertEquals(List.of("ok", "ok", "ok"), codes(settled.reply()));
    PeriodStatus monthly = period(status(es), BudgetPeriod.MONTHLY);
    assertEquals(950_000, monthly.spentMicros());
    assertEquals(45, monthly.spentTokens());
    assertEquals(0, status(es).openReservations());
    assertTrue(settled.state().wasSettled("a") && settled.state().wasSettled("b"));

    TenantState before = es.getState();
    assertEquals(before, es.restart().state(), "the journal with the batch folds to the same state");
    assertTrue(ledger(es, settle("a", 10, 5, 500_000), settle("b", 10, 5, 350_000)).hasNoEvents(),
        "a batch sent again is charged once");
  }

  @Test
  void withSettlementBatchesOffEachSettlementIsAnEventOfItsOwnAsBeforeSettledBatch() {
    var setup = new TenantEntity.Setup(clock, 1_000, DEFAULT_MAX_ACTIVE_RUNS, HOLD_TTL, TenantNews.Announcer.NONE,
        false);
    var es = created(EventSourcedBehaviorTestKit.<Command, TenantEvent, TenantState>create(kit.system(),
        TenantEntity.create(tenantId, setup), EventSourcedBehaviorTestKit.enabledSerializationSettings()));

    var settled = ledger(es, settle("a", 1, 1, 1_000), settle("b", 1, 1, 2_000), settle("c", 1, 1, 3_000));

    assertEquals(List.of(Settled.class, Settled.class, Settled.class),
        settled.events().stream().map(Object::getClass).toList());
    assertEquals(6_000, period(status(es), BudgetPeriod.MONTHLY).spentMicros());
  }

  @Test
  void aTenantIsSnapshottedByTheSettlementsItFoldsNotOnlyByItsEvents() {
    var es = created(tenant(10));
    LedgerOp[] calls = new LedgerOp[12];
    for (int i = 0; i < calls.length; i++) calls[i] = settle("call-" + i, 1, 1, 1_000);
    var settled = ledger(es, calls);

    assertEquals(1, settled.events().size(), "twelve settlements, one event");
    TenantState before = es.getState();
    // The restart's recovery reads the snapshot store after the save it was sent (one store, in order).
    assertEquals(before, es.restart().state());
    // Two events, fewer than the retention's ten: only the count of folds can have asked for a snapshot.
    var snapshots = es.snapshotTestKit().orElseThrow().persistedInStorage("tenant|" + tenantId);
    assertEquals(1, snapshots.size(), "snapshots after 13 folds: " + snapshots);
    assertEquals(2, snapshots.get(0).first().sequenceNr());
    assertTrue(es.getState().wasSettled("call-11"));
  }

  @Test
  void withoutABudgetAReservationIsGrantedWithoutAWriteAndTheSettlementIsStillRecorded() {
    var es = created();
    var reserved = ledger(es, reserve("c1", 1_000, 300_000));
    assertTrue(reserved.hasNoEvents());
    assertEquals(List.of("ok"), codes(reserved.reply()));
    var settled = ledger(es, settle("c1", 200, 100, 120_000));
    assertEquals(1, settled.events().size());
    assertEquals(120_000, period(status(es), BudgetPeriod.MONTHLY).spentMicros());
    assertEquals(0, status(es).openReservations());
  }

  @Test
  void settlingTwicePersistsNothingAndAnUnheldSettlementIsStillCharged() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, 100L, null);
    ledger(es, reserve("c1", 1_000, 300_000));
    ledger(es, settle("c1", 200, 100, 120_000));

    var again = ledger(es, settle("c1", 200, 100, 120_000));
    assertTrue(again.hasNoEvents());
    assertEquals(List.of("ok"), codes(again.reply()));

    // A call whose hold expired before it ended: it happened, so it is charged (once).
    var unheld = ledger(es, settle("hold-expired", 1, 1, 50_000));
    assertEquals(1, unheld.events().size());
    assertEquals(List.of("ok"), codes(unheld.reply()));
    assertTrue(ledger(es, settle("hold-expired", 1, 1, 50_000)).hasNoEvents());

    assertEquals(170_000, period(status(es), BudgetPeriod.MONTHLY).spentMicros());
  }

  @Test
  void reservingAnAlreadySettledIdIsGrantedWithoutANewHold() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, 100L, null);
    ledger(es, reserve("c1", 1_000, 300_000));
    ledger(es, settle("c1", 200, 100, 120_000));

    var redispatched = ledger(es, reserve("c1", 1_000, 300_000));

    assertTrue(redispatched.hasNoEvents());
    assertEquals(List.of("ok"), codes(redispatched.reply()));
    assertEquals(0, redispatched.state().heldCostMicros());
    assertTrue(redispatched.state().holds().isEmpty());
  }

  @Test
  void releasingFreesTheHoldOnceAndChargesNothing() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, 100L, null);
    ledger(es, reserve("c1", 1_000, 700_000));
    assertEquals(List.of("BUDGET_EXCEEDED"), codes(ledger(es, reserve("c2", 10, 700_000)).reply()));

    var released = ledger(es, release("c1"));
    assertEquals(List.of(new Released("c1", START)), released.events());
    assertEquals(0, released.state().heldCostMicros());
    assertEquals(0, released.state().heldTokens());
    assertEquals(0, period(status(es), BudgetPeriod.MONTHLY).spentMicros());

    assertTrue(ledger(es, release("c1")).hasNoEvents());
    assertEquals(List.of("ok"), codes(ledger(es, reserve("c2", 10, 700_000)).reply()));
  }

  @Test
  void reservingAnIdAlreadyHeldIsGrantedWithoutASecondHold() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, 100L, null);
    ledger(es, reserve("c1", 1_000, 700_000));

    var redispatched = ledger(es, reserve("c1", 1_000, 700_000));

    assertTrue(redispatched.hasNoEvents());
    assertEquals(List.of("ok"), codes(redispatched.reply()));
    assertEquals(700_000, redispatched.state().heldCostMicros());
    assertEquals(1, redispatched.state().holds().size());
  }

  // ---- alerts --------------------------------------------------------------------------------------------

  @Test
  void crossing80And100PercentRaisesOneAlertEachPerWindow() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, 100L, null); // 1,000,000 µ$
    ledger(es, reserve("c1", 10, 200_000), reserve("c2", 10, 200_000), reserve("c3", 10, 200_000),
        reserve("c4", 10, 200_000));

    var at82 = ledger(es, settle("c1", 1, 1, 820_000));
    assertEquals(List.of(new BudgetAlerted(BudgetPeriod.MONTHLY, "2026-03", "cost", 80, 820_000, 1_000_000, START)),
        alertsIn(at82.events()));

    var at87 = ledger(es, settle("c2", 1, 1, 50_000));
    assertEquals(List.of(), alertsIn(at87.events()));

    var at102 = ledger(es, settle("c3", 1, 1, 150_000));
    assertEquals(List.of(new BudgetAlerted(BudgetPeriod.MONTHLY, "2026-03", "cost", 100, 1_020_000, 1_000_000,
        START)), alertsIn(at102.events()));

    var at103 = ledger(es, settle("c4", 1, 1, 10_000));
    assertEquals(List.of(), alertsIn(at103.events()));

    BudgetStatus status = status(es);
    assertEquals(List.of(80, 100), status.alerts().stream().map(BudgetAlerted::percent).toList());
    assertEquals(1_030_000, period(status, BudgetPeriod.MONTHLY).spentMicros());
  }

  @Test
  void oneSettlementCrossingBothThresholdsRaisesBothAlerts() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, 100L, null);
    ledger(es, reserve("c1", 10, 500_000));

    var result = ledger(es, settle("c1", 1, 1, 1_100_000));

    assertEquals(List.of(80, 100), alertsIn(result.events()).stream().map(BudgetAlerted::percent).toList());
  }

  @Test
  void theTokenLimitRaisesItsOwnAlerts() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, null, 1_000L);
    ledger(es, reserve("c1", 900, 0));

    var result = ledger(es, settle("c1", 700, 150, 0));

    assertEquals(List.of(new BudgetAlerted(BudgetPeriod.MONTHLY, "2026-03", "tokens", 80, 850, 1_000, START)),
        alertsIn(result.events()));
  }

  @Test
  void alertsAreRaisedAgainInTheNextWindow() {
    clock.set(Instant.parse("2026-03-14T23:00:00Z"));
    var es = createdWithBudget(BudgetPeriod.DAILY, 10L, null); // 100,000 µ$ a day
    ledger(es, reserve("c1", 10, 90_000));
    assertEquals(List.of(80), alertsIn(ledger(es, settle("c1", 1, 1, 85_000)).events()).stream()
        .map(BudgetAlerted::percent).toList());

    clock.set(Instant.parse("2026-03-15T00:30:00Z"));
    ledger(es, reserve("c2", 10, 90_000));
    var nextDay = alertsIn(ledger(es, settle("c2", 1, 1, 85_000)).events());

    assertEquals(1, nextDay.size());
    assertEquals("2026-03-15", nextDay.get(0).window());
    assertEquals(80, nextDay.get(0).percent());
  }

  // ---- periods -------------------------------------------------------------------------------------------

  @Test
  void aNewDayStartsTheDailyBudgetFromZero() {
    clock.set(Instant.parse("2026-03-14T23:30:00Z"));
    var es = createdWithBudget(BudgetPeriod.DAILY, 10L, null); // 100,000 µ$ a day
    ledger(es, reserve("c1", 10, 80_000));
    ledger(es, settle("c1", 1, 1, 80_000));
    var refused = ledger(es, reserve("c2", 10, 50_000));
    assertEquals(List.of("BUDGET_EXCEEDED"), codes(refused.reply()));
    assertEquals("2026-03-14", period(status(es), BudgetPeriod.DAILY).window());

    clock.set(Instant.parse("2026-03-15T00:10:00Z"));
    BudgetStatus nextDay = status(es);
    PeriodStatus daily = period(nextDay, BudgetPeriod.DAILY);
    assertEquals("2026-03-15", daily.window());
    assertEquals(0, daily.spentMicros());
    assertEquals(Instant.parse("2026-03-16T00:00:00Z"), daily.resetsAt());
    assertEquals(80_000, period(nextDay, BudgetPeriod.MONTHLY).spentMicros());

    var granted = ledger(es, reserve("c2", 10, 50_000));
    assertEquals(List.of("ok"), codes(granted.reply()));
    assertEquals(1, granted.events().size());
  }

  // ---- kill switch ---------------------------------------------------------------------------------------

  @Test
  void theKillSwitchRefusesEveryReservationUntilItIsTurnedOff() {
    var es = created();
    var on = es.<StatusReply<TenantView>>runCommand(r -> new SetKillSwitch(true, "runaway agent", r));
    assertTrue(on.reply().getValue().killSwitch());

    var refused = ledger(es, reserve("c1", 1, 1));
    assertTrue(refused.hasNoEvents());
    assertEquals(List.of("BUDGET_EXCEEDED"), codes(refused.reply()));
    String message = ErrorCode.messageOf(refused.reply().rejections().get(0));
    assertTrue(message.contains("kill switch") && message.contains("runaway agent"), message);
    assertTrue(status(es).killSwitch());

    var onAgain = es.<StatusReply<TenantView>>runCommand(r -> new SetKillSwitch(true, "still", r));
    assertTrue(onAgain.hasNoEvents());

    var off = es.<StatusReply<TenantView>>runCommand(r -> new SetKillSwitch(false, null, r));
    assertFalse(off.reply().getValue().killSwitch());
    assertNull(off.reply().getValue().killSwitchReason());
    assertEquals(List.of("ok"), codes(ledger(es, reserve("c1", 1, 1)).reply()));
  }

  // ---- API keys ------------------------------------------------------------------------------------------

  /**
   * Authenticate is asked from the edge of any node, and the tenant may live on another one: its answer
   * (and ListKeys') must serialize through our Jackson binding. The key tests below check the decisions
   * with reply verification off, so that they still run while this one fails.
   */
  @Test
  void repliesOfAuthenticateAndListKeysCanCrossNodes() {
    var es = created();
    es.<StatusReply<KeyInfo>>runCommand(r -> new IssueKey("k1", sha256("secret-1"), Role.ADMIN, "ops", r));

    assertAll(
        () -> assertDoesNotThrow(() -> authenticate(es, "k1", sha256("secret-1")),
            "the reply to Authenticate (StatusReply<Role>) does not serialize"),
        () -> assertDoesNotThrow(() -> es.<StatusReply<TenantEntity.KeyList>>runCommand(ListKeys::new),
            "the reply to ListKeys (StatusReply<TenantEntity.KeyList>) does not serialize"));
  }

  @Test
  void aKeyAuthenticatesWithItsHashAndEveryRefusalReadsTheSame() {
    var es = created();
    var issued = es.<StatusReply<KeyInfo>>runCommand(r -> new IssueKey("k1", sha256("secret-1"), Role.DEVELOPER,
        "ci", r));
    assertEquals(new KeyInfo("k1", Role.DEVELOPER, "ci", START, null), issued.reply().getValue());

    assertEquals(Role.DEVELOPER, authenticate(es, "k1", sha256("secret-1")).getValue());

    String wrongHash = authenticate(es, "k1", sha256("secret-2")).getError().getMessage();
    String unknownKey = authenticate(es, "k9", sha256("secret-1")).getError().getMessage();
    es.<StatusReply<KeyInfo>>runCommand(r -> new RevokeKey("k1", r));
    String revoked = authenticate(es, "k1", sha256("secret-1")).getError().getMessage();

    assertEquals(ErrorCode.UNAUTHENTICATED, ErrorCode.codeOf(wrongHash).orElseThrow());
    assertEquals(wrongHash, unknownKey);
    assertEquals(wrongHash, revoked);
  }

  @Test
  void authenticatingWithoutAHashChecksOnlyThatTheKeyIsActive() {
    var es = created();
    es.<StatusReply<KeyInfo>>runCommand(r -> new IssueKey("k1", sha256("secret-1"), Role.VIEWER, "dash", r));

    assertEquals(Role.VIEWER, authenticate(es, "k1", null).getValue());
    assertEquals(ErrorCode.UNAUTHENTICATED, codeOf(authenticate(es, "k2", null)));

    clock.advance(Duration.ofMinutes(1));
    var revoked = es.<StatusReply<KeyInfo>>runCommand(r -> new RevokeKey("k1", r));
    assertEquals(START.plusSeconds(60), revoked.reply().getValue().revokedAt());
    assertEquals(ErrorCode.UNAUTHENTICATED, codeOf(authenticate(es, "k1", null)));

    var revokedAgain = es.<StatusReply<KeyInfo>>runCommand(r -> new RevokeKey("k1", r));
    assertTrue(revokedAgain.hasNoEvents());
    assertEquals(START.plusSeconds(60), revokedAgain.reply().getValue().revokedAt());
  }

  @Test
  void theLastActiveAdminKeyCannotBeRevoked() {
    var es = created();
    es.<StatusReply<KeyInfo>>runCommand(r -> new IssueKey("a1", sha256("secret-1"), Role.ADMIN, "ops", r));
    var refused = es.<StatusReply<KeyInfo>>runCommand(r -> new RevokeKey("a1", r));
    assertTrue(refused.hasNoEvents());
    assertEquals(ErrorCode.CONFLICT, codeOf(refused.reply()));
    assertEquals(Role.ADMIN, authenticate(es, "a1", sha256("secret-1")).getValue());

    es.<StatusReply<KeyInfo>>runCommand(r -> new IssueKey("a2", sha256("secret-2"), Role.ADMIN, "ops", r));
    assertTrue(es.<StatusReply<KeyInfo>>runCommand(r -> new RevokeKey("a1", r)).reply().isSuccess());
    assertEquals(ErrorCode.CONFLICT, codeOf(es.<StatusReply<KeyInfo>>runCommand(r -> new RevokeKey("a2", r)).reply()));
  }

  @Test
  void issuingAKeyAgainIsAnsweredButAnotherHashUnderTheSameIdConflicts() {
    var es = created();
    es.<StatusReply<KeyInfo>>runCommand(r -> new IssueKey("k1", sha256("secret-1"), Role.ADMIN, "ops", r));

    var retried = es.<StatusReply<KeyInfo>>runCommand(r -> new IssueKey("k1", sha256("secret-1"), Role.ADMIN, "ops", r));
    assertTrue(retried.hasNoEvents());
    assertTrue(retried.reply().isSuccess());

    var other = es.<StatusReply<KeyInfo>>runCommand(r -> new IssueKey("k1", sha256("secret-2"), Role.ADMIN, "ops", r));
    assertTrue(other.hasNoEvents());
    assertEquals(ErrorCode.CONFLICT, codeOf(other.reply()));
    assertEquals(Role.ADMIN, authenticate(es, "k1", sha256("secret-1")).getValue());
  }

  @Test
  void listedKeysShowNoHashes() throws Exception {
    var es = created();
    es.<StatusReply<KeyInfo>>runCommand(r -> new IssueKey("k1", sha256("secret-1"), Role.ADMIN, "ops", r));
    clock.advance(Duration.ofSeconds(1));
    es.<StatusReply<KeyInfo>>runCommand(r -> new IssueKey("k2", sha256("secret-2"), Role.VIEWER, "dash", r));
    es.<StatusReply<KeyInfo>>runCommand(r -> new RevokeKey("k2", r));

    List<KeyInfo> keys = es.<StatusReply<TenantEntity.KeyList>>runCommand(ListKeys::new).reply().getValue().keys();

    assertEquals(List.of(new KeyInfo("k1", Role.ADMIN, "ops", START, null),
        new KeyInfo("k2", Role.VIEWER, "dash", START.plusSeconds(1), START.plusSeconds(1))), keys);
    ObjectMapper json = JacksonObjectMapperProvider.get(kit.system()).getOrCreate("jackson-json", Optional.empty());
    String shown = json.writeValueAsString(keys);
    assertFalse(shown.contains(sha256("secret-1")) || shown.contains(sha256("secret-2")) || shown.contains("sha"),
        shown);
  }

  // ---- active runs ---------------------------------------------------------------------------------------

  @Test
  void runsAreAdmittedUpToTheLimitAndEndingOneFreesItsSlot() {
    var es = tenant();
    es.<StatusReply<TenantView>>runCommand(r -> new Create("Acme", 2, r));

    assertEquals(List.of(new RunAdmitted("run-a", START)), admit(es, "run-a").events());
    assertTrue(admit(es, "run-b").reply().isSuccess());

    var third = admit(es, "run-c");
    assertTrue(third.hasNoEvents());
    assertEquals(ErrorCode.RATE_LIMIT_EXCEEDED, codeOf(third.reply()));

    var readmitted = admit(es, "run-a");
    assertTrue(readmitted.hasNoEvents());
    assertTrue(readmitted.reply().isSuccess());

    var ended = es.<StatusReply<Done>>runCommand(r -> new EndRun("run-a", r));
    assertEquals(List.of(new RunEnded("run-a", START)), ended.events());
    assertTrue(es.<StatusReply<Done>>runCommand(r -> new EndRun("run-a", r)).hasNoEvents());

    assertTrue(admit(es, "run-c").reply().isSuccess());
    assertEquals(2, es.<StatusReply<TenantView>>runCommand(Get::new).reply().getValue().activeRuns());
  }

  @Test
  void raisingTheLimitOnActiveRunsAdmitsMore() {
    var es = tenant();
    es.<StatusReply<TenantView>>runCommand(r -> new Create("Acme", 1, r));
    admit(es, "run-a");
    assertEquals(ErrorCode.RATE_LIMIT_EXCEEDED, codeOf(admit(es, "run-b").reply()));

    es.<StatusReply<TenantView>>runCommand(r -> new SetMaxActiveRuns(2, r));

    assertTrue(admit(es, "run-b").reply().isSuccess());
  }

  // ---- stale holds ---------------------------------------------------------------------------------------

  @Test
  void aHoldOlderThanItsTtlIsReleasedByTheNextBatchOnceAMinuteHasPassed() {
    var es = createdWithBudget(BudgetPeriod.MONTHLY, 1_000_000L, null);
    ledger(es, reserve("old", 10, 1_000));           // no hold yet: nothing swept
    clock.advance(Duration.ofSeconds(10));
    ledger(es, reserve("younger", 10, 1_000));       // swept: nothing stale yet

    clock.set(START.plus(HOLD_TTL).plusSeconds(5));  // "old" is 1h05s old, "younger" 55 min
    var swept = ledger(es, reserve("fresh", 10, 1_000));
    assertEquals(List.of(new Released("old", clock.instant()),
        new Reserved("fresh", "run-1", "node-a", 10, 1_000, clock.instant())), swept.events());
    assertEquals(List.of("ok"), codes(swept.reply()));

    clock.advance(Duration.ofSeconds(30));           // "younger" is stale now, but the last sweep was 30 s ago
    assertTrue(ledger(es, release("nothing")).hasNoEvents());

    clock.advance(Duration.ofSeconds(30));           // a minute since the last sweep
    var sweptAgain = ledger(es, release("nothing"));
    assertEquals(List.of(new Released("younger", clock.instant())), sweptAgain.events());
    assertEquals(List.of("fresh"), List.copyOf(sweptAgain.state().holds().keySet()));
    assertEquals(1_000, sweptAgain.state().heldCostMicros());
  }

  // ---- recovery ------------------------------------------------------------------------------------------

  @Test
  void replayingTheJournalRestoresSpendHoldsAndSettledIds() {
    var es = tenant(1_000);
    provesRecovery(es);
  }

  @Test
  void recoveringFromASnapshotRestoresSpendHoldsAndSettledIds() {
    var es = tenant(1);
    provesRecovery(es);
    assertFalse(es.snapshotTestKit().orElseThrow().persistedInStorage("tenant|" + tenantId).isEmpty(),
        "the tenant took no snapshot, so this test did not recover from one");
  }

  private void provesRecovery(EventSourcedBehaviorTestKit<Command, TenantEvent, TenantState> es) {
    es.<StatusReply<TenantView>>runCommand(r -> new Create("Acme", 3, r));
    es.<StatusReply<BudgetStatus>>runCommand(r -> new SetBudget(BudgetPeriod.MONTHLY, 100L, 10_000L, r));
    es.<StatusReply<KeyInfo>>runCommand(r -> new IssueKey("k1", sha256("secret-1"), Role.ADMIN, "ops", r));
    admit(es, "run-a");
    ledger(es, reserve("c1", 1_000, 300_000), reserve("c2", 1_000, 300_000));
    ledger(es, settle("c1", 400, 200, 850_000));
    es.<StatusReply<TenantView>>runCommand(r -> new SetKillSwitch(true, "audit", r));
    TenantState before = es.getState();
    BudgetStatus statusBefore = status(es);

    var restarted = es.restart();

    assertEquals(before, restarted.state());
    assertEquals(statusBefore, status(es));
    assertTrue(restarted.state().wasSettled("c1"));
    assertTrue(ledger(es, settle("c1", 400, 200, 850_000)).hasNoEvents());
    assertTrue(ledger(es, reserve("c2", 1_000, 300_000)).hasNoEvents());
    assertEquals(sha256("secret-1"), restarted.state().keys().get("k1").sha256());
    assertTrue(restarted.state().keys().get("k1").active());
    assertTrue(admit(es, "run-a").hasNoEvents());

    es.<StatusReply<TenantView>>runCommand(r -> new SetKillSwitch(false, null, r));
    assertEquals(List.of("BUDGET_EXCEEDED"), codes(ledger(es, reserve("c3", 10, 1)).reply()));
    var afterRelease = ledger(es, release("c2"), reserve("c3", 10, 150_000));
    assertEquals(List.of("ok", "ok"), codes(afterRelease.reply()));
    assertEquals(List.of(80), afterRelease.state().alerts().stream().map(BudgetAlerted::percent).toList());
  }

  // ---- local grants for tenants without limits ----------------------------------------------------------

  @Test
  void aTenantWithoutLimitsSaysSoAndAnnouncesEveryChangeOfThem() {
    List<TenantNews> announced = new java.util.concurrent.CopyOnWriteArrayList<>();
    var setup = new TenantEntity.Setup(clock, 1_000, DEFAULT_MAX_ACTIVE_RUNS, HOLD_TTL, announced::add);
    var es = created(EventSourcedBehaviorTestKit.<Command, TenantEvent, TenantState>create(kit.system(),
        TenantEntity.create(tenantId, setup), EventSourcedBehaviorTestKit.enabledSerializationSettings()));

    long unlimited = ledger(es, reserve("c1", 10, 100)).reply().unlimitedAsOf();
    assertTrue(unlimited >= 0, "no budget, no kill switch: nothing can be refused");

    es.<StatusReply<TenantView>>runCommand(r -> new SetKillSwitch(true, "stop", r));
    assertEquals(List.of(new TenantNews.LimitsChanged(tenantId, unlimited + 1)), announced);
    assertEquals(-1, ledger(es, reserve("c2", 10, 100)).reply().unlimitedAsOf());

    es.<StatusReply<TenantView>>runCommand(r -> new SetKillSwitch(false, null, r));
    assertEquals(unlimited + 2, ledger(es, reserve("c3", 10, 100)).reply().unlimitedAsOf());

    es.<StatusReply<BudgetStatus>>runCommand(r -> new SetBudget(BudgetPeriod.DAILY, 100L, null, r));
    assertEquals(3, announced.size());
    assertEquals(-1, ledger(es, reserve("c4", 10, 100)).reply().unlimitedAsOf(), "a budget can refuse");
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  private EventSourcedBehaviorTestKit<Command, TenantEvent, TenantState> tenant() {
    return tenant(1_000);
  }

  private EventSourcedBehaviorTestKit<Command, TenantEvent, TenantState> tenant(int snapshotEvery) {
    var setup = new TenantEntity.Setup(clock, snapshotEvery, DEFAULT_MAX_ACTIVE_RUNS, HOLD_TTL);
    return EventSourcedBehaviorTestKit.create(kit.system(), TenantEntity.create(tenantId, setup),
        EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyEquality(true));
  }

  private EventSourcedBehaviorTestKit<Command, TenantEvent, TenantState> created() {
    return created(tenant());
  }

  private static EventSourcedBehaviorTestKit<Command, TenantEvent, TenantState> created(
      EventSourcedBehaviorTestKit<Command, TenantEvent, TenantState> es) {
    es.<StatusReply<TenantView>>runCommand(r -> new Create("Acme", 5, r)).reply().getValue();
    return es;
  }

  private EventSourcedBehaviorTestKit<Command, TenantEvent, TenantState> createdWithBudget(BudgetPeriod period,
      Long limitCents, Long tokenLimit) {
    var es = created();
    var set = es.<StatusReply<BudgetStatus>>runCommand(r -> new SetBudget(period, limitCents, tokenLimit, r));
    PeriodStatus p = period(set.reply().getValue(), period);
    assertEquals(limitCents, p.limitCents());
    assertEquals(tokenLimit, p.tokenLimit());
    return es;
  }

  private static CommandResultWithReply<Command, TenantEvent, TenantState, LedgerOutcomes> ledger(
      EventSourcedBehaviorTestKit<Command, TenantEvent, TenantState> es, LedgerOp... ops) {
    return es.runCommand(r -> new Ledger(List.of(ops), r));
  }

  private static LedgerOp reserve(String id, long tokens, long costMicros) {
    return new LedgerOp.Reserve(id, "run-1", "node-a", tokens, costMicros);
  }

  private static LedgerOp settle(String id, long tokensIn, long tokensOut, long costMicros) {
    return new LedgerOp.Settle(id, "run-1", "node-a", tokensIn, tokensOut, costMicros, "sim", "sim-small");
  }

  private static LedgerOp release(String id) {
    return new LedgerOp.Release(id);
  }

  private static BudgetStatus status(EventSourcedBehaviorTestKit<Command, TenantEvent, TenantState> es) {
    return es.<StatusReply<BudgetStatus>>runCommand(GetBudgetStatus::new).reply().getValue();
  }

  private static PeriodStatus period(BudgetStatus status, BudgetPeriod period) {
    return status.periods().stream().filter(p -> p.period() == period).findFirst().orElseThrow();
  }

  private static StatusReply<Role> authenticate(EventSourcedBehaviorTestKit<Command, TenantEvent, TenantState> es,
      String keyId, String sha256) {
    return es.<StatusReply<Role>>runCommand(r -> new Authenticate(keyId, sha256, r)).reply();
  }

  private static CommandResultWithReply<Command, TenantEvent, TenantState, StatusReply<Done>> admit(
      EventSourcedBehaviorTestKit<Command, TenantEvent, TenantState> es, String runId) {
    return es.runCommand(r -> new AdmitRun(runId, r));
  }

  /** "ok" for a done operation, else the code of its rejection. */
  private static List<String> codes(LedgerOutcomes outcomes) {
    return outcomes.rejections().stream()
        .map(r -> r == null ? "ok" : ErrorCode.codeOf(r).map(Enum::name).orElse("unparseable: " + r))
        .toList();
  }

  private static ErrorCode codeOf(StatusReply<?> reply) {
    assertTrue(reply.isError(), () -> "expected a rejection, got " + reply);
    return ErrorCode.codeOf(reply.getError().getMessage()).orElseThrow();
  }

  private static List<BudgetAlerted> alertsIn(List<TenantEvent> events) {
    return events.stream().filter(BudgetAlerted.class::isInstance).map(BudgetAlerted.class::cast).toList();
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static <T> ActorRef<T> cast(ActorRef<?> ref) {
    return (ActorRef) ref;
  }

  private static String sha256(String key) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
