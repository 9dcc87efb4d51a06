package dev.orrery.core.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.workflow.JsonValues;
import dev.orrery.core.workflow.OutputSchemas;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * One attempt of one step: calls its port with the step's idempotency key, applies the step's timeout,
 * checks the answer against the node's output schema, reports exactly once to its run, and stops. It
 * keeps no state of its own: if its node dies, the recovered run starts a new one for the same attempt.
 */
final class StepActor {
  private static final ObjectMapper JSON = new ObjectMapper();

  record Setup(
      ActorRef<RunEntity.Command> run,
      String nodeId,
      Integer item,
      int attempt,
      LlmRequest request,
      JsonNode outputSchema,
      Duration timeout,
      LlmPort llm) {}

  /** The step's own messages; they never leave this JVM, so they need no serializer. */
  private sealed interface Message {}

  private record CallDone(LlmResult result, Throwable failure) implements Message {}

  private enum TimedOut implements Message { INSTANCE }

  private StepActor() {}

  static Behavior<Message> create(Setup setup) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startSingleTimer(TimedOut.INSTANCE, setup.timeout());
      CompletionStage<LlmResult> call;
      try {
        call = setup.llm().complete(setup.request());
      } catch (RuntimeException e) {
        call = java.util.concurrent.CompletableFuture.failedFuture(e);
      }
      ctx.pipeToSelf(call, CallDone::new);
      return Behaviors.receive(Message.class)
          .onMessage(CallDone.class, done -> report(setup, safeOutcome(setup, done)))
          .onMessageEquals(TimedOut.INSTANCE, () -> report(setup, RunEntity.StepOutcome.failure(
              "TIMEOUT", "step timed out after " + setup.timeout().toMillis() + " ms", true)))
          .build();
    }));
  }

  private static Behavior<Message> report(Setup setup, RunEntity.StepOutcome outcome) {
    setup.run().tell(new RunEntity.StepDone(setup.nodeId(), setup.item(), setup.attempt(), outcome));
    return Behaviors.stopped();
  }

  /** A bug in reading an answer must still be reported, or the run would wait for this step forever. */
  private static RunEntity.StepOutcome safeOutcome(Setup setup, CallDone done) {
    try {
      return outcome(setup, done);
    } catch (RuntimeException e) {
      return RunEntity.StepOutcome.failure("INTERNAL",
          "could not read the answer: " + e.getClass().getSimpleName() + ": " + e.getMessage(), false);
    }
  }

  private static RunEntity.StepOutcome outcome(Setup setup, CallDone done) {
    if (done.failure() != null) return failureOf(done.failure());
    LlmResult result = done.result();
    if (result.text() == null) {
      return RunEntity.StepOutcome.failureAfterCall("INVALID_OUTPUT",
          result.provider() + "/" + result.model() + " answered no text", result);
    }
    Object output = result.text();
    if (setup.outputSchema() != null) {
      JsonNode parsed;
      try {
        parsed = JSON.readTree(stripFences(result.text()));
      } catch (JsonProcessingException e) {
        return RunEntity.StepOutcome.failureAfterCall("INVALID_OUTPUT",
            "the answer of " + result.provider() + "/" + result.model() + " is not JSON: " + e.getOriginalMessage(),
            result);
      }
      output = JsonValues.toPlain(parsed);
      List<String> problems = OutputSchemas.validate(setup.outputSchema(), output);
      if (!problems.isEmpty()) {
        return RunEntity.StepOutcome.failureAfterCall("INVALID_OUTPUT",
            "the answer does not match output_schema: " + String.join("; ", problems), result);
      }
    }
    return RunEntity.StepOutcome.success(output, result);
  }

  private static RunEntity.StepOutcome failureOf(Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    if (cause instanceof StepFailure f) return RunEntity.StepOutcome.failure(f.code(), f.getMessage(), f.retryable());
    if (cause instanceof TimeoutException) return RunEntity.StepOutcome.failure("TIMEOUT", cause.getMessage(), true);
    return RunEntity.StepOutcome.failure("PROVIDER_UNAVAILABLE",
        cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage()), true);
  }

  /** Models often wrap JSON in a Markdown code fence even when asked not to. */
  private static String stripFences(String text) {
    String t = text.strip();
    if (t.startsWith("```")) {
      int firstLine = t.indexOf('\n');
      int end = t.lastIndexOf("```");
      if (firstLine > 0 && end > firstLine) return t.substring(firstLine + 1, end);
    }
    return t;
  }
}
