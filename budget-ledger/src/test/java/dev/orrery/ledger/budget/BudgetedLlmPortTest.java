package dev.orrery.ledger.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.orrery.core.port.BudgetPort;
import dev.orrery.core.port.CallEstimate;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.port.Usage;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;

/**
 * The reservation protocol around an LLM call, with a budget and an LLM written here: each answers with a
 * future the test completes when it chooses, so the order of reserve, call, settle and release is seen
 * exactly, without actors and without waiting. The executor runs continuations at once, on the thread that
 * completed the future.
 */
class BudgetedLlmPortTest {
  private static final Executor DIRECT = Runnable::run;
  private static final CallEstimate ESTIMATE = new CallEstimate(1_200, 36_000);
  private static final Usage USED = new Usage(300, 120, 9_000);
  private static final LlmResult RESULT = new LlmResult("the answer", USED, "openai", "gpt-4o-mini",
      List.of("anthropic", "openai"));

  /** Everything both fakes were asked, in order. */
  private final List<String> log = new CopyOnWriteArrayList<>();
  private final FakeBudget budget = new FakeBudget(log);
  private final FakeLlm llm = new FakeLlm(log);
  private final BudgetedLlmPort port = new BudgetedLlmPort(llm, budget, DIRECT, 1);

  @Test
  void theEstimateIsReservedUnderTheIdempotencyKeyBeforeTheCallIsMade() {
    budget.reserveAnswer = new CompletableFuture<>();

    var answer = port.complete(request("acme", "run-1/summarize/1"));

    assertEquals(List.of(new BudgetPort.Reservation("acme", "run-1/summarize/1", "run-1", "summarize", ESTIMATE)),
        budget.reservations);
    assertEquals(List.of("reserve run-1/summarize/1"), log, "the call was made before its reservation was granted");

    budget.reserveAnswer.complete(null);

    assertEquals(List.of("reserve run-1/summarize/1", "call run-1/summarize/1"), log);
    assertFalse(answer.toCompletableFuture().isDone());
  }

  @Test
  void aRefusedReservationFailsTheStageWithTheBudgetsFailureAndTheLlmIsNeverCalled() {
    var refused = new StepFailure("BUDGET_EXCEEDED", "the monthly budget of 100 cents does not fit this call", false);
    budget.reserveAnswer = CompletableFuture.failedFuture(refused);

    var answer = port.complete(request("acme", "run-1/summarize/1"));

    assertSame(refused, failureOf(answer));
    assertEquals(List.of("reserve run-1/summarize/1"), log);
    assertTrue(llm.requests.isEmpty());
  }

  @Test
  void aSuccessfulCallIsSettledWithWhatItUsedBeforeItsAnswerIsReturned() {
    llm.answer = CompletableFuture.completedFuture(RESULT);
    budget.settleAnswer = new CompletableFuture<>();

    var answer = port.complete(request("acme", "run-1/summarize/1")).toCompletableFuture();

    assertEquals(List.of(new Settlement("acme", "run-1/summarize/1", USED, "openai", "gpt-4o-mini")),
        budget.settlements);
    assertFalse(answer.isDone(), "the answer went back before its settlement was done");

    budget.settleAnswer.complete(null);

    assertSame(RESULT, answer.join());
    assertEquals(List.of("reserve run-1/summarize/1", "call run-1/summarize/1", "settle run-1/summarize/1"), log);
  }

  @Test
  void aSettlementThatFailsDoesNotThrowAwayTheAnswerTheProviderBilled() {
    llm.answer = CompletableFuture.completedFuture(RESULT);
    budget.settleAnswer = CompletableFuture.failedFuture(new StepFailure("TIMEOUT", "the ledger did not answer", true));

    var answer = port.complete(request("acme", "run-1/summarize/1"));

    assertSame(RESULT, answer.toCompletableFuture().join());
    assertEquals(1, llm.requests.size(), "no second call");
  }

  @Test
  void aGatewayCallGetsItsAnswerAtOnceAndIsSettledInTheBackground() {
    llm.answer = CompletableFuture.completedFuture(RESULT);
    budget.settleAnswer = new CompletableFuture<>();

    var gatewayCall = new LlmRequest("gateway/k1", "acme", "default", null, List.of(ChatMessage.user("Hi")), 800,
        null, null, Duration.ofSeconds(30), List.of(), null);
    var answer = port.complete(gatewayCall).toCompletableFuture();

    assertSame(RESULT, answer.join(), "not held back by its settlement");
    assertEquals(List.of(new Settlement("acme", "gateway/k1", USED, "openai", "gpt-4o-mini")), budget.settlements);
    budget.settleAnswer.completeExceptionally(new StepFailure("TIMEOUT", "the ledger did not answer", true));
    assertSame(RESULT, answer.join());
  }

  @Test
  void pastTheBoundOfBackgroundSettlementsAGatewayCallWaitsForItsOwn() {
    llm.answer = CompletableFuture.completedFuture(RESULT);
    budget.settleAnswer = new CompletableFuture<>();

    var first = port.complete(gatewayCall("gateway/k1")).toCompletableFuture();
    var second = port.complete(gatewayCall("gateway/k2")).toCompletableFuture();

    assertSame(RESULT, first.join(), "within the bound (1 here): answered before its settlement");
    assertFalse(second.isDone(), "past it: held until its settlement is written");
    assertEquals(2, port.backgroundSettlements());
    budget.settleAnswer.complete(null);
    assertSame(RESULT, second.join());
    assertEquals(0, port.backgroundSettlements(), "the backlog drained");
    budget.settleAnswer = new CompletableFuture<>();
    assertSame(RESULT, port.complete(gatewayCall("gateway/k3")).toCompletableFuture().join(), "answered at once again");
  }

  private static LlmRequest gatewayCall(String key) {
    return new LlmRequest(key, "acme", "default", null, List.of(ChatMessage.user("Hi")), 800, null, null,
        Duration.ofSeconds(30), List.of(), null);
  }

  @Test
  void aFailedCallReleasesItsReservationAndTheCallerSeesTheCallsOwnFailure() {
    var unavailable = new StepFailure("PROVIDER_UNAVAILABLE", "every provider of route default failed", true);
    llm.answer = CompletableFuture.failedFuture(unavailable);
    budget.releaseAnswer = new CompletableFuture<>();

    var answer = port.complete(request("acme", "run-1/summarize/1")).toCompletableFuture();

    assertEquals(List.of("reserve run-1/summarize/1", "call run-1/summarize/1", "release run-1/summarize/1"), log);
    assertFalse(answer.isDone(), "the failure went back before the reservation was released");

    budget.releaseAnswer.complete(null);

    assertSame(unavailable, failureOf(answer));
    assertTrue(budget.settlements.isEmpty());
  }

  @Test
  void aReleaseThatFailsDoesNotHideTheCallsFailure() {
    var unavailable = new StepFailure("PROVIDER_UNAVAILABLE", "every provider of route default failed", true);
    llm.answer = CompletableFuture.failedFuture(unavailable);
    budget.releaseAnswer = CompletableFuture.failedFuture(new StepFailure("TIMEOUT", "the ledger did not answer", true));

    var answer = port.complete(request("acme", "run-1/summarize/1"));

    assertSame(unavailable, failureOf(answer));
  }

  @Test
  void aCallThatThrowsInsteadOfFailingItsStageIsReleasedToo() {
    var bug = new IllegalStateException("adapter bug");
    llm.thrown = bug;

    var answer = port.complete(request("acme", "run-1/summarize/1"));

    assertSame(bug, failureOf(answer));
    assertEquals(List.of("reserve run-1/summarize/1", "call run-1/summarize/1", "release run-1/summarize/1"), log);
  }

  @Test
  void aOneOffCallWithoutIdempotencyKeySettlesTheReservationItMade() {
    llm.answer = CompletableFuture.completedFuture(RESULT);

    port.complete(request("acme", null)).toCompletableFuture().join();

    String reservationId = budget.reservations.get(0).reservationId();
    assertTrue(reservationId.startsWith("once/"), reservationId);
    assertEquals(reservationId, budget.settlements.get(0).reservationId());
  }

  @Test
  void aRequestWithoutTenantIsCalledWithoutTouchingTheBudget() {
    llm.answer = CompletableFuture.completedFuture(RESULT);

    var answer = port.complete(request(null, "gateway-call-7")).toCompletableFuture();

    assertSame(RESULT, answer.join());
    assertEquals(List.of("call gateway-call-7"), log);
  }

  // ---- fakes and helpers ---------------------------------------------------------------------------------

  private static LlmRequest request(String tenantId, String idempotencyKey) {
    return new LlmRequest(idempotencyKey, tenantId, "default", null, List.of(ChatMessage.user("Summarize the tides")),
        800, null, null, Duration.ofSeconds(30), List.of(), null, "run-1", "summarize");
  }

  /** What the caller of a failed stage sees: the exception a join reports as the cause. */
  private static Throwable failureOf(CompletionStage<?> stage) {
    var future = stage.toCompletableFuture();
    assertTrue(future.isCompletedExceptionally(), () -> "expected a failed stage, was " + future);
    try {
      future.join();
    } catch (CompletionException e) {
      return e.getCause();
    }
    return fail("a failed stage joined normally");
  }

  record Settlement(String tenantId, String reservationId, Usage usage, String provider, String model) {}

  /** A budget that records every operation and answers each with the future the test set. */
  private static final class FakeBudget implements BudgetPort {
    private final List<String> log;
    final List<Reservation> reservations = new CopyOnWriteArrayList<>();
    final List<Settlement> settlements = new CopyOnWriteArrayList<>();
    volatile CompletableFuture<Void> reserveAnswer = CompletableFuture.completedFuture(null);
    volatile CompletableFuture<Void> settleAnswer = CompletableFuture.completedFuture(null);
    volatile CompletableFuture<Void> releaseAnswer = CompletableFuture.completedFuture(null);

    FakeBudget(List<String> log) {
      this.log = log;
    }

    @Override
    public CompletionStage<Void> reserve(Reservation reservation) {
      log.add("reserve " + reservation.reservationId());
      reservations.add(reservation);
      return reserveAnswer;
    }

    @Override
    public CompletionStage<Void> settle(Reservation r, Usage usage, String provider, String model) {
      log.add("settle " + r.reservationId());
      settlements.add(new Settlement(r.tenantId(), r.reservationId(), usage, provider, model));
      return settleAnswer;
    }

    @Override
    public CompletionStage<Void> release(Reservation r) {
      log.add("release " + r.reservationId());
      return releaseAnswer;
    }
  }

  /** An LLM that prices every call at {@link #ESTIMATE} and answers with the future the test set. */
  private static final class FakeLlm implements LlmPort {
    private final List<String> log;
    final List<LlmRequest> requests = new CopyOnWriteArrayList<>();
    volatile CompletableFuture<LlmResult> answer = new CompletableFuture<>();
    volatile RuntimeException thrown;

    FakeLlm(List<String> log) {
      this.log = log;
    }

    @Override
    public CompletionStage<LlmResult> complete(LlmRequest request) {
      log.add("call " + request.idempotencyKey());
      requests.add(request);
      if (thrown != null) throw thrown;
      return answer;
    }

    @Override
    public CallEstimate estimate(LlmRequest request) {
      return ESTIMATE;
    }
  }
}
