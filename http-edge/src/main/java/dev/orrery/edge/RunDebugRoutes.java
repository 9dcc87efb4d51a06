package dev.orrery.edge;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.run.RunDecider;
import dev.orrery.core.run.RunDiff;
import dev.orrery.core.run.RunEntity;
import dev.orrery.core.run.RunEvent;
import dev.orrery.core.run.RunFork;
import dev.orrery.core.run.RunReplay;
import dev.orrery.core.run.RunState;
import dev.orrery.core.run.WorkflowCache;
import dev.orrery.core.stream.RunJournal;
import dev.orrery.core.workflow.JsonValues;
import dev.orrery.core.workflow.WorkflowException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/**
 * Debugging a run from its journal: its state at any sequence number (time travel), a replay of its
 * decisions against this code, a fork from one of its nodes, and the difference between two runs.
 */
final class RunDebugRoutes {
  /** Starts a run as a submit does (admission, idempotency) and answers like one. */
  interface Starter {
    CompletionStage<HttpResponse> start(String tenant, RunFork fork, Optional<String> idempotencyKey);
  }

  private final RunJournal journal;
  private final JsonRoutes routes;
  private final RunReplay replay;
  private final WorkflowCache workflows;
  private final Function<String, Function<String, CompletionStage<RunEntity.StateAt>>> liveState;

  /** @param liveState tenant → run → the run's current state, as its entity has it */
  RunDebugRoutes(RunJournal journal, JsonRoutes routes, WorkflowCache workflows,
      Function<String, Function<String, CompletionStage<RunEntity.StateAt>>> liveState) {
    this.journal = journal;
    this.routes = routes;
    this.workflows = workflows;
    this.liveState = liveState;
    this.replay = new RunReplay(RunDecider.STANDARD, workflows::compile, journal.json());
  }

  /** {@code GET /runs/{id}/state[?at_seq=N]}: folded from the journal up to N, or the live state. */
  CompletionStage<HttpResponse> state(String tenant, String runId, Optional<Long> atSeq) {
    if (atSeq.isEmpty()) {
      return liveState.apply(tenant).apply(runId).thenApply(at -> routes.ok(StatusCodes.OK, view(runId, at)));
    }
    return journal.events(tenant, runId, atSeq.get()).thenCompose(events -> {
      if (events.isEmpty()) return notFound(runId);
      RunState s = null;
      for (RunEvent e : events) s = (s == null ? RunState.empty(tenant, runId) : s).apply(e);
      return CompletableFuture.completedFuture(
          routes.ok(StatusCodes.OK, view(runId, new RunEntity.StateAt(events.size(), s))));
    });
  }

  /** {@code POST /runs/{id}/replay}: this code's decisions against the recorded ones. */
  CompletionStage<HttpResponse> replay(String tenant, String runId) {
    return journal.events(tenant, runId, Long.MAX_VALUE).thenCompose(events -> {
      if (events.isEmpty()) return notFound(runId);
      RunReplay.Result result = replay.check(events);
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("run_id", runId);
      body.put("deterministic", result.deterministic());
      body.put("events_checked", result.eventsChecked());
      body.put("events", events.size());
      if (result.divergence() != null) body.put("divergence", result.divergence());
      return CompletableFuture.completedFuture(routes.ok(StatusCodes.OK, body));
    });
  }

  /** {@code POST /runs/{id}/fork}: {@code {node_id, inputs?, prompt?, model?, route?}}. */
  CompletionStage<HttpResponse> fork(String tenant, String runId, String body, Optional<String> idempotencyKey,
      Starter starter) {
    JsonNode tree = routes.readObject(body);
    for (var it = tree.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!List.of("node_id", "inputs", "prompt", "model", "route").contains(name)) {
        throw new ApiError(ErrorCode.INVALID_REQUEST,
            "unknown field '" + name + "'; expected node_id, inputs, prompt, model, route");
      }
    }
    String nodeId = text(tree, "node_id");
    if (nodeId == null) throw new ApiError(ErrorCode.INVALID_REQUEST, "'node_id' is required: the node the fork changes");
    JsonNode inputs = tree.path("inputs");
    if (!inputs.isMissingNode() && !inputs.isNull() && !inputs.isObject()) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "'inputs' must be an object");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> overridden = inputs.isObject() ? (Map<String, Object>) JsonValues.toPlain(inputs) : null;
    var overrides = new RunFork.Overrides(overridden, text(tree, "prompt"), text(tree, "model"), text(tree, "route"));
    return liveState.apply(tenant).apply(runId).thenCompose(original -> {
      RunFork fork;
      try {
        fork = RunFork.of(original.state(), workflows.compile(original.state().spec()), nodeId, overrides);
        workflows.compile(fork.spec());
      } catch (IllegalArgumentException e) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, e.getMessage());
      } catch (WorkflowException e) {
        throw SubmitRequest.invalidWorkflow(e);
      }
      return starter.start(tenant, fork, idempotencyKey);
    });
  }

  /** {@code GET /runs/{a}/diff/{b}}. */
  CompletionStage<HttpResponse> diff(String tenant, String a, String b) {
    var left = liveState.apply(tenant).apply(a);
    var right = liveState.apply(tenant).apply(b);
    return left.thenCombine(right, (x, y) -> routes.ok(StatusCodes.OK, RunDiff.of(x.state(), y.state())));
  }

  private static Map<String, Object> view(String runId, RunEntity.StateAt at) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("run_id", runId);
    body.put("seq", at.seq());
    body.put("state", at.state());
    return body;
  }

  private static <T> CompletionStage<T> notFound(String runId) {
    return CompletableFuture.failedFuture(new ApiError(ErrorCode.NOT_FOUND, "run " + runId + " not found"));
  }

  private static String text(JsonNode tree, String field) {
    JsonNode v = tree.get(field);
    if (v == null || v.isNull()) return null;
    if (!v.isTextual() || v.asText().isBlank()) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "'" + field + "' must be a non-empty string");
    }
    return v.asText();
  }
}
