package dev.orrery.core.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.port.AgentAnswer;
import dev.orrery.core.port.AgentFailure;
import dev.orrery.core.port.AgentPort;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.port.ToolInvocation;
import dev.orrery.core.port.ToolPort;
import dev.orrery.core.port.Usage;
import dev.orrery.core.workflow.JsonValues;
import dev.orrery.core.workflow.OutputSchemas;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * One attempt of one step: calls its port with the step's idempotency key (the LLM port for an
 * {@code llm} step, the tool port for a {@code tool} step), applies the step's timeout, checks an LLM's
 * answer against the node's output schema, reports exactly once to its run, and stops. It keeps no state
 * of its own: if its node dies, the recovered run starts a new one for the same attempt.
 */
final class StepActor {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** @param call starts the step's call, answering with its outcome */
  record Setup(
      ActorRef<RunEntity.Command> run,
      String nodeId,
      Integer item,
      int attempt,
      Supplier<CompletionStage<RunEntity.StepOutcome>> call,
      Duration timeout) {}

  /**
   * An LLM step: the router's answer, checked against the node's output schema.
   *
   * @param streamed runs when the call ends, before the outcome is reported (the last streamed text goes out)
   */
  static Supplier<CompletionStage<RunEntity.StepOutcome>> llm(LlmPort llm, LlmRequest request, JsonNode outputSchema,
      Runnable streamed) {
    return () -> llm.complete(request)
        .whenComplete((result, failure) -> streamed.run())
        .handle((result, failure) -> safeOutcome(result, failure, outputSchema));
  }

  /** A tool step: the tool's output (as JSON when it is JSON), or its failure. */
  static Supplier<CompletionStage<RunEntity.StepOutcome>> tool(ToolPort tools, ToolInvocation invocation) {
    return () -> tools.call(invocation).handle((result, failure) -> {
      if (failure != null) return failureOf(failure);
      if (result.error()) {
        // Only what may pass by itself is worth another attempt; a bad argument or a crash will not.
        boolean retryable = "TIMEOUT".equals(result.errorCode()) || "BUSY".equals(result.errorCode());
        return RunEntity.StepOutcome.failure(result.errorCode(), "tool " + invocation.tool() + ": " + result.message(),
            retryable);
      }
      return new RunEntity.StepOutcome(outputOf(result.output()), Usage.ZERO, "tool", invocation.tool(), null, null,
          false);
    });
  }

  /**
   * The agent instance of a step: {@code step:<run>:<node>:<attempt>} (an instance id allows no {@code /}),
   * or a digest of the key when that would be longer than an instance id may be.
   */
  private static final java.util.regex.Pattern INSTANCE_ID = java.util.regex.Pattern.compile("[A-Za-z0-9_.:-]+");

  static String instanceOf(String invocationId) {
    String readable = "step:" + invocationId.replace('/', ':');
    if (readable.length() <= 128 && INSTANCE_ID.matcher(readable).matches()) return readable;
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
          .digest(invocationId.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return "step:" + java.util.HexFormat.of().formatHex(digest, 0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * An agent step: the agent's answer, with what its turns used; {@code version} is the one the run pinned
   * (null for a run that pinned none: the active version). The invocation id is the step's idempotency
   * key and the instance is named after it, so a step re-dispatched after a crash reaches the same
   * (remembered) instance and joins the invocation already running instead of starting another. An agent
   * that ran out of turns or could not repair its answer is not retried.
   */
  static Supplier<CompletionStage<RunEntity.StepOutcome>> agent(AgentPort agents, String tenantId, String agent,
      Integer version, String task, JsonNode context, String invocationId, String traceparent) {
    String instanceId = instanceOf(invocationId);
    return () -> agents.execute(tenantId, agent, version, task, context, instanceId, invocationId, traceparent).handle((answer, failure) -> {
      if (failure == null) {
        return new RunEntity.StepOutcome(answer.result() == null ? null : JsonValues.toPlain(answer.result()),
            answer.usage() == null ? Usage.ZERO : answer.usage(), answer.provider(), answer.model(), null, null, false);
      }
      Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
      if (cause instanceof AgentFailure f) {
        AgentAnswer a = f.answer();
        boolean retryable = "PROVIDER_UNAVAILABLE".equals(f.code()) || "TIMEOUT".equals(f.code());
        return new RunEntity.StepOutcome(null, a.usage() == null ? Usage.ZERO : a.usage(), a.provider(), a.model(),
            null, RunError.of(f.code(), "agent " + agent + " (instance " + a.instanceId() + ", " + a.turns()
                + " turns): " + a.errorMessage()), retryable);
      }
      return failureOf(failure);
    });
  }

  private static Object outputOf(String text) {
    String t = text.strip();
    if (t.startsWith("{") || t.startsWith("[")) {
      try {
        return JsonValues.toPlain(JSON.readTree(t));
      } catch (JsonProcessingException notJson) {
        // plain text that happens to start with a bracket
      }
    }
    return t;
  }

  /** The step's own messages; they never leave this JVM, so they need no serializer. */
  private sealed interface Message {}

  private record CallDone(RunEntity.StepOutcome outcome) implements Message {}

  private enum TimedOut implements Message { INSTANCE }

  private StepActor() {}

  static Behavior<Message> create(Setup setup) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startSingleTimer(TimedOut.INSTANCE, setup.timeout());
      CompletionStage<RunEntity.StepOutcome> call;
      try {
        call = setup.call().get();
      } catch (RuntimeException e) {
        call = java.util.concurrent.CompletableFuture.failedFuture(e);
      }
      ctx.pipeToSelf(call, (outcome, failure) -> new CallDone(failure != null ? failureOf(failure) : outcome));
      return Behaviors.receive(Message.class)
          .onMessage(CallDone.class, done -> report(setup, done.outcome()))
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
  private static RunEntity.StepOutcome safeOutcome(LlmResult result, Throwable failure, JsonNode outputSchema) {
    if (failure != null) return failureOf(failure);
    try {
      return outcome(result, outputSchema);
    } catch (RuntimeException e) {
      return RunEntity.StepOutcome.failure("INTERNAL",
          "could not read the answer: " + e.getClass().getSimpleName() + ": " + e.getMessage(), false);
    }
  }

  private static RunEntity.StepOutcome outcome(LlmResult result, JsonNode outputSchema) {
    if (result.text() == null) {
      return RunEntity.StepOutcome.failureAfterCall("INVALID_OUTPUT",
          result.provider() + "/" + result.model() + " answered no text", result);
    }
    Object output = result.text();
    if (outputSchema != null) {
      JsonNode parsed;
      try {
        parsed = JSON.readTree(stripFences(result.text()));
      } catch (JsonProcessingException e) {
        return RunEntity.StepOutcome.failureAfterCall("INVALID_OUTPUT",
            "the answer of " + result.provider() + "/" + result.model() + " is not JSON: " + e.getOriginalMessage(),
            result);
      }
      output = JsonValues.toPlain(parsed);
      List<String> problems = OutputSchemas.validate(outputSchema, output);
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
