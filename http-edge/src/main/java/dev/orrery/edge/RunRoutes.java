package dev.orrery.edge;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.onComplete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterMap;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.RetriedAsk;
import dev.orrery.core.readside.RunIndex;
import dev.orrery.core.run.ForkOrigin;
import dev.orrery.core.run.RunEntity;
import dev.orrery.core.run.RunFork;
import dev.orrery.core.run.RunPins;
import dev.orrery.core.run.RunStatus;
import dev.orrery.core.run.RunIds;
import dev.orrery.core.run.RunView;
import dev.orrery.core.run.WorkflowCache;
import dev.orrery.core.stream.RunFeed;
import dev.orrery.core.stream.RunJournal;
import dev.orrery.core.stream.StreamSettings;
import dev.orrery.core.trace.SpanAttributes;
import dev.orrery.core.trace.Tracing;
import dev.orrery.core.workflow.NodeSpec;
import dev.orrery.core.workflow.WorkflowCatalog;
import dev.orrery.core.workflow.WorkflowSpec;
import dev.orrery.core.workflow.WorkflowException;
import dev.orrery.edge.auth.AuthDirectives;
import dev.orrery.edge.auth.Principal;
import dev.orrery.ledger.tenant.Role;
import dev.orrery.ledger.tenant.Tenants;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.pattern.StatusReply;

/**
 * {@code /api/v1/runs}: submit a run, read it, read its journal, cancel it. Every run belongs to the
 * caller's tenant: its entity is {@code run|<tenant>|<run>}, so another tenant's run id finds nothing and
 * answers 404, exactly like an unknown one. A submit counts against the tenant's limit on active runs.
 */
public final class RunRoutes {
  /** Tries of an idempotent ask of a run within the ask timeout ({@link #askAgainOnTimeout}). */
  private static final int ATTEMPTS = 3;

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final EdgeSettings settings;
  private final WorkflowCatalog catalog;
  private final WorkflowCache workflows;
  private final RunJournal journal;
  private final ObjectMapper json;
  private final JsonRoutes routes;
  private final AuthDirectives auth;
  private final Tenants tenants;
  private final RunStreamRoutes streams;
  private final RunDebugRoutes debug;
  private final RunIndex index;
  private final Predicate<String> toolOffered;

  public RunRoutes(ActorSystem<?> system, EdgeSettings settings, WorkflowCatalog catalog, WorkflowCache workflows,
      RunJournal journal, RunFeed feed, StreamSettings streamSettings, RunIndex index, JsonRoutes routes,
      AuthDirectives auth, Tenants tenants, Predicate<String> toolOffered) {
    this.toolOffered = toolOffered;
    this.streams = new RunStreamRoutes(feed, streamSettings, routes.json());
    this.debug = new RunDebugRoutes(journal, routes, workflows, tenant -> runId -> state(tenant, runId));
    this.index = index;
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.auth = auth;
    this.tenants = tenants;
    this.settings = settings;
    this.catalog = catalog;
    this.workflows = workflows;
    this.journal = journal;
    this.json = routes.json();
    this.routes = routes;
  }

  public Route route() {
    AuthDirectives.Refusals refusals = routes.errors()::response;
    return pathPrefix("runs", () -> concat(
        pathEndOrSingleSlash(() -> concat(
            post(() -> auth.mutating(Role.DEVELOPER, "run.submit", refusals, this::submit)),
            get(() -> auth.authenticated(Role.VIEWER, refusals, caller -> parameterMap(params ->
                routes.answer(() -> list(caller.tenantId(), params))))))),
        pathPrefix(PathMatchers.segment(), runId -> concat(
            pathEndOrSingleSlash(() -> get(() -> auth.authenticated(Role.VIEWER, refusals,
                caller -> completeWithFuture(read(caller.tenantId(), runId))))),
            path("journal", () -> get(() -> auth.authenticated(Role.VIEWER, refusals,
                caller -> parameterOptional("from_seq",
                    fromSeq -> completeWithFuture(journal(caller.tenantId(), runId, fromSeq)))))),
            path("stream", () -> get(() -> auth.authenticatedAllowingQueryToken(Role.VIEWER, refusals,
                caller -> parameterOptional("from_seq", fromSeq -> existing(caller.tenantId(), runId,
                    () -> streams.webSocket(caller.tenantId(), runId, fromSeq.map(t -> seqOf("from_seq", t)).orElse(1L))))))),
            path("events", () -> get(() -> auth.authenticated(Role.VIEWER, refusals,
                caller -> parameterOptional("from_seq", fromSeq -> optionalHeaderValueByName("Last-Event-ID",
                    lastId -> existing(caller.tenantId(), runId, () -> streams.serverSentEvents(caller.tenantId(),
                        runId, lastId.map(id -> seqOf("Last-Event-ID", id) + 1).or(() -> fromSeq.map(t -> seqOf("from_seq", t))).orElse(1L)))))))),
            path("cancel", () -> post(() -> auth.mutating(Role.DEVELOPER, "run.cancel", refusals,
                caller -> routes.withBody(body -> completeWithFuture(cancel(caller.tenantId(), runId, body)))))),
            pathPrefix("approvals", () -> path(PathMatchers.segment(), nodeId -> post(() -> auth.mutating(
                Role.DEVELOPER, "run.approve", refusals, caller -> routes.withBody(body ->
                    routes.answer(() -> decide(caller, runId, nodeId, body))))))),
            path("state", () -> get(() -> auth.authenticated(Role.VIEWER, refusals, caller ->
                parameterOptional("at_seq", atSeq -> routes.answer(() -> debug.state(caller.tenantId(), known(runId),
                    atSeq.map(t -> seqOf("at_seq", t)))))))),
            path("replay", () -> post(() -> auth.authenticated(Role.VIEWER, refusals, caller ->
                routes.answer(() -> debug.replay(caller.tenantId(), known(runId)))))),
            path("fork", () -> post(() -> auth.mutating(Role.DEVELOPER, "run.fork", refusals, caller ->
                optionalHeaderValueByName("Idempotency-Key", key -> routes.withBody(body -> routes.answer(() ->
                    debug.fork(caller.tenantId(), known(runId), body, checkedKey(key), this::startFork))))))),
            pathPrefix("diff", () -> path(PathMatchers.segment(), other -> get(() -> auth.authenticated(Role.VIEWER,
                refusals, caller -> routes.answer(() -> debug.diff(caller.tenantId(), known(runId), known(other)))))))))));
  }

  private Route submit(Principal caller) {
    return optionalHeaderValueByName("Idempotency-Key", key -> extractRequest(request ->
        routes.withBody(body -> completeWithFuture(start(caller.tenantId(), request, body, key)))));
  }

  /**
   * A submit, in a server span of its own that continues the caller's {@code traceparent}: the run's trace
   * is that span's (or, while no traces are collected, the caller's), recorded when the run is accepted.
   */
  private CompletionStage<HttpResponse> start(String tenant, HttpRequest request, String body,
      Optional<String> idempotencyKey) {
    String callerTrace = request.getHeader(Tracing.TRACEPARENT).map(HttpHeader::value).orElse(null);
    Span span = submitSpan(tenant, request, callerTrace);
    String traceparent = span.getSpanContext().isValid() ? Tracing.format(span.getSpanContext()) : callerTrace;
    CompletionStage<HttpResponse> answer = parseAndStart(tenant, request, body, idempotencyKey, traceparent);
    if (!span.isRecording()) return answer;
    return answer.whenComplete((response, failure) -> {
      if (response != null) {
        span.setAttribute("http.response.status_code", response.status().intValue());
        if (response.status().intValue() >= 500) span.setStatus(StatusCode.ERROR);
      } else {
        span.setStatus(StatusCode.ERROR, String.valueOf(failure));
      }
      span.end();
    });
  }

  private static Span submitSpan(String tenant, HttpRequest request, String callerTrace) {
    Context parent = Tracing.parentFor(callerTrace);
    if (parent == null) return Span.getInvalid();
    return Tracing.tracer().spanBuilder("POST /api/v1/runs")
        .setSpanKind(SpanKind.SERVER)
        .setParent(parent)
        .setAttribute("http.request.method", "POST")
        .setAttribute("http.route", "/api/v1/runs")
        .setAttribute("server.port", (long) request.getUri().port())
        .setAttribute(SpanAttributes.TENANT, tenant)
        .startSpan();
  }

  private CompletionStage<HttpResponse> parseAndStart(String tenant, HttpRequest request, String body,
      Optional<String> idempotencyKey, String traceparent) {
    return routes.guarded(() -> {
      checkedKey(idempotencyKey);
      String mediaType = request.entity().getContentType().mediaType().toString();
      boolean yaml = mediaType.contains("yaml");
      SubmitRequest submit = SubmitRequest.parse(body, yaml, json, catalog);
      try {
        workflows.compile(submit.spec());
      } catch (WorkflowException e) {
        throw SubmitRequest.invalidWorkflow(e);
      }
      checkTools(submit.spec());
      return startRun(tenant, submit, null, null, idempotencyKey, traceparent);
    });
  }

  private CompletionStage<HttpResponse> startFork(String tenant, RunFork fork, Optional<String> idempotencyKey) {
    return startRun(tenant, new SubmitRequest(fork.spec(), fork.inputs()), fork.origin(), fork.pins(), idempotencyKey,
        null);
  }

  /**
   * @param inherited a fork's original's pins, or null for a run that pins what is current
   * @param traceparent the span the run's trace continues, or null for a trace of its own
   */
  private CompletionStage<HttpResponse> startRun(String tenant, SubmitRequest submit, ForkOrigin fork,
      RunPins inherited, Optional<String> idempotencyKey, String traceparent) {
    String runId = idempotencyKey.map(k -> RunIds.fromIdempotencyKey(tenant, k)).orElseGet(RunIds::newRunId);
    String digest = submit.digest(json);
    // Admitted first, so concurrent submits cannot pass the limit together; a run that did not start,
    // or that had already ended (a repeated key), gives its slot back. So does a submit whose admission
    // timed out: the tenant may have taken the slot after the ask gave up. A conflict is a run that
    // exists under this id, and its slot is its own. Start is idempotent under the run's id (a repeat of
    // the same request gets the run), so it may be asked again.
    return tenants.admit(tenant, runId).thenCompose(admitted -> this.<RunEntity.Started>askAgainOnTimeout(tenant, runId,
        replyTo -> new RunEntity.Start(submit.spec(), submit.inputs(), idempotencyKey.orElse(null), digest, fork,
            inherited, traceparent, replyTo)))
        .whenComplete((started, failure) -> {
          boolean notStarted = failure != null && !isConflict(failure);
          if (notStarted || (failure == null && started.run().status().isTerminal())) tenants.ended(tenant, runId);
        })
        .thenApply(started -> routes.ok(started.created() ? StatusCodes.CREATED : StatusCodes.OK, started.run())
            .addHeader(Location.create("/api/v1/runs/" + runId)));
  }

  private static boolean isConflict(Throwable failure) {
    Throwable t = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    return t instanceof StatusReply.ErrorMessage e
        && ErrorCode.codeOf(e.getMessage()).filter(ErrorCode.CONFLICT::equals).isPresent();
  }

  /** A tool node names a tool this node offers, or the submit is refused before any run starts. */
  private void checkTools(WorkflowSpec spec) {
    for (NodeSpec n : spec.nodes()) {
      if (NodeSpec.TOOL.equals(n.type()) && !toolOffered.test(n.tool())) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, "node " + n.id() + " calls tool '" + n.tool()
            + "', which this node does not offer; GET /api/v1/tools lists them");
      }
    }
  }

  private static Optional<String> checkedKey(Optional<String> idempotencyKey) {
    if (idempotencyKey.isPresent() && (idempotencyKey.get().isBlank() || idempotencyKey.get().length() > 255)) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "Idempotency-Key must be 1..255 characters");
    }
    return idempotencyKey;
  }

  /** {@code GET /runs?status=A,B&since=ISO&limit=N&cursor=C}: the tenant's runs from the read side, newest first. */
  private CompletionStage<HttpResponse> list(String tenant, Map<String, String> params) {
    Set<RunStatus> statuses = new LinkedHashSet<>();
    String status = params.get("status");
    if (status != null && !status.isBlank()) {
      for (String one : status.split(",")) {
        try {
          statuses.add(RunStatus.valueOf(one.strip().toUpperCase(java.util.Locale.ROOT)));
        } catch (IllegalArgumentException e) {
          throw new ApiError(ErrorCode.INVALID_REQUEST, "status '" + one + "' is not one of "
              + java.util.Arrays.toString(RunStatus.values()));
        }
      }
    }
    Instant since = null;
    if (params.get("since") != null) {
      try {
        since = Instant.parse(params.get("since"));
      } catch (java.time.format.DateTimeParseException e) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, "since must be an ISO-8601 instant such as 2026-11-23T10:00:00Z");
      }
    }
    int limit = 50;
    if (params.get("limit") != null) {
      try {
        limit = Integer.parseInt(params.get("limit"));
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > 500) throw new ApiError(ErrorCode.INVALID_REQUEST, "limit must be 1..500");
    }
    RunIndex.Cursor cursor = null;
    if (params.get("cursor") != null) {
      try {
        cursor = RunIndex.Cursor.decode(params.get("cursor"));
      } catch (IllegalArgumentException e) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, e.getMessage());
      }
    }
    return index.list(tenant, statuses, since, limit, cursor).thenApply(page -> routes.ok(StatusCodes.OK, page));
  }

  /** {@code POST /runs/{id}/approvals/{node}}: {@code {decision: approve|deny, comment?}}. */
  private CompletionStage<HttpResponse> decide(Principal caller, String runId, String nodeId, String body) {
    JsonNode tree = routes.readObject(body);
    String decision = tree.path("decision").asText("");
    if (!decision.equals("approve") && !decision.equals("deny")) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "'decision' must be 'approve' or 'deny'");
    }
    JsonNode comment = tree.get("comment");
    if (comment != null && !comment.isNull() && !comment.isTextual()) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "'comment' must be a string");
    }
    String by = caller.keyId() != null ? caller.keyId() : caller.tenantId();
    return run(caller.tenantId(), known(runId))
        .<RunView>askWithStatus(replyTo -> new RunEntity.Decide(nodeId, decision.equals("approve"), by,
            comment == null || comment.isNull() ? null : comment.asText(), replyTo), settings.askTimeout())
        .thenApply(view -> routes.ok(StatusCodes.OK, view));
  }

  private CompletionStage<RunEntity.StateAt> state(String tenant, String runId) {
    return askAgainOnTimeout(tenant, known(runId), RunEntity.GetState::new);
  }

  private CompletionStage<HttpResponse> read(String tenant, String runId) {
    return routes.guarded(() -> this.<RunView>askAgainOnTimeout(tenant, known(runId), RunEntity.Get::new)
        .thenApply(view -> routes.ok(StatusCodes.OK, view)));
  }

  private CompletionStage<HttpResponse> journal(String tenant, String runId, Optional<String> fromSeq) {
    return routes.guarded(() -> {
      long from = fromSeq.map(t -> seqOf("from_seq", t)).orElse(1L);
      return journal.read(tenant, known(runId), from).thenCompose(events -> {
        HttpResponse found = routes.ok(StatusCodes.OK, Map.of("run_id", runId, "events", events));
        if (!events.isEmpty()) return CompletableFuture.completedFuture(found);
        // Nothing at or after from_seq: an existing run answers an empty page, an unknown one 404.
        return this.<RunView>askAgainOnTimeout(tenant, runId, RunEntity.Get::new).thenApply(view -> found);
      });
    });
  }

  private CompletionStage<HttpResponse> cancel(String tenant, String runId, String body) {
    return routes.guarded(() -> {
      String reason = "cancelled over the API";
      if (!body.isBlank()) {
        JsonNode tree = routes.readObject(body);
        if (tree.hasNonNull("reason")) reason = tree.get("reason").asText();
      }
      String why = reason;
      return run(tenant, known(runId))
          .<RunView>askWithStatus(replyTo -> new RunEntity.Cancel(why, replyTo), settings.askTimeout())
          .thenApply(view -> routes.ok(StatusCodes.OK, view));
    });
  }

  /** {@code inner} if the caller's tenant has this run, else the 404 (or timeout) envelope. */
  private Route existing(String tenant, String runId, Supplier<Route> inner) {
    return onComplete(routes.guarded(() -> this.<RunView>askAgainOnTimeout(tenant, known(runId), RunEntity.Get::new)
            .thenApply(view -> (HttpResponse) null)),
        tried -> tried.isSuccess() && tried.get() == null ? inner.get()
            : complete(tried.isSuccess() ? tried.get() : routes.errors().fromThrowable(tried.failed().get())));
  }

  private EntityRef<RunEntity.Command> run(String tenant, String runId) {
    return sharding.entityRefFor(RunEntity.KEY, RunIds.entityId(tenant, runId));
  }

  /**
   * Asks the run a command that it answers the same way however often it comes (a read, or Start under
   * the run's id), in up to three attempts within the ask timeout: sharding may drop a message while the
   * run's shard is handed off, and the ask then only times out.
   */
  private <T> CompletionStage<T> askAgainOnTimeout(String tenant, String runId,
      Function<ActorRef<StatusReply<T>>, RunEntity.Command> command) {
    return RetriedAsk.ask(timeout -> run(tenant, runId).askWithStatus(command::apply, timeout), settings.askTimeout(),
        ATTEMPTS, system);
  }

  /** A run id that is not one of ours is a 404 without waking an entity for it. */
  private static String known(String runId) {
    if (!RunIds.isValid(runId)) throw new ApiError(ErrorCode.NOT_FOUND, "run " + runId + " not found");
    return runId;
  }

  private static long seqOf(String param, String text) {
    try {
      long seq = Long.parseLong(text);
      if (seq >= 1) return seq;
    } catch (NumberFormatException ignored) {
      // answered below
    }
    throw new ApiError(ErrorCode.INVALID_REQUEST, param + " must be a positive integer, was '" + text + "'");
  }
}
