package dev.orrery.edge;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.run.RunEntity;
import dev.orrery.core.run.RunIds;
import dev.orrery.core.run.RunJournal;
import dev.orrery.core.run.RunView;
import dev.orrery.core.run.WorkflowCache;
import dev.orrery.core.workflow.WorkflowCatalog;
import dev.orrery.core.workflow.WorkflowException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * {@code /api/v1/runs}: submit a run, read it, read its journal, cancel it. Every request belongs to the
 * edge's default tenant until authentication lands.
 */
public final class RunRoutes {
  private final ClusterSharding sharding;
  private final EdgeSettings settings;
  private final WorkflowCatalog catalog;
  private final WorkflowCache workflows;
  private final RunJournal journal;
  private final ObjectMapper json;
  private final ErrorEnvelope errors;

  public RunRoutes(ActorSystem<?> system, EdgeSettings settings, WorkflowCatalog catalog, WorkflowCache workflows,
      RunJournal journal, ObjectMapper json) {
    this.sharding = ClusterSharding.get(system);
    this.settings = settings;
    this.catalog = catalog;
    this.workflows = workflows;
    this.journal = journal;
    this.json = json;
    this.errors = new ErrorEnvelope(json);
  }

  public Route route() {
    return pathPrefix("runs", () -> concat(
        pathEndOrSingleSlash(() -> post(this::submit)),
        pathPrefix(PathMatchers.segment(), runId -> concat(
            pathEndOrSingleSlash(() -> get(() -> completeWithFuture(read(runId)))),
            path("journal", () -> get(() -> parameterOptional("from_seq",
                fromSeq -> completeWithFuture(journal(runId, fromSeq))))),
            path("cancel", () -> post(() -> withBody(body -> completeWithFuture(cancel(runId, body)))))))));
  }

  private Route submit() {
    return optionalHeaderValueByName("Idempotency-Key", key -> extractRequest(request ->
        withBody(body -> completeWithFuture(start(request, body, key)))));
  }

  /** The body as text, refused with 413 above the configured size. */
  private Route withBody(java.util.function.Function<String, Route> inner) {
    return withSizeLimit(settings.maxBodyBytes(), () -> entity(Unmarshaller.entityToString(), inner));
  }

  private CompletionStage<HttpResponse> start(HttpRequest request, String body, Optional<String> idempotencyKey) {
    return guarded(() -> {
      if (idempotencyKey.isPresent() && (idempotencyKey.get().isBlank() || idempotencyKey.get().length() > 255)) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, "Idempotency-Key must be 1..255 characters");
      }
      String mediaType = request.entity().getContentType().mediaType().toString();
      boolean yaml = mediaType.contains("yaml");
      SubmitRequest submit = SubmitRequest.parse(body, yaml, json, catalog);
      try {
        workflows.compile(submit.spec());
      } catch (WorkflowException e) {
        throw SubmitRequest.invalidWorkflow(e);
      }
      String tenant = settings.defaultTenant();
      String runId = idempotencyKey.map(k -> RunIds.fromIdempotencyKey(tenant, k)).orElseGet(RunIds::newRunId);
      String digest = submit.digest(json);
      return run(tenant, runId)
          .<RunEntity.Started>askWithStatus(replyTo -> new RunEntity.Start(submit.spec(), submit.inputs(),
              idempotencyKey.orElse(null), digest, replyTo), settings.askTimeout())
          .thenApply(started -> ok(started.created() ? StatusCodes.CREATED : StatusCodes.OK, started.run())
              .addHeader(Location.create("/api/v1/runs/" + runId)));
    });
  }

  private CompletionStage<HttpResponse> read(String runId) {
    return guarded(() -> run(settings.defaultTenant(), known(runId))
        .<RunView>askWithStatus(RunEntity.Get::new, settings.askTimeout())
        .thenApply(view -> ok(StatusCodes.OK, view)));
  }

  private CompletionStage<HttpResponse> journal(String runId, Optional<String> fromSeq) {
    return guarded(() -> {
      long from = fromSeq.map(RunRoutes::seqOf).orElse(1L);
      return journal.read(settings.defaultTenant(), known(runId), from).thenCompose(events -> {
        HttpResponse found = ok(StatusCodes.OK, Map.of("run_id", runId, "events", events));
        if (!events.isEmpty()) return CompletableFuture.completedFuture(found);
        // Nothing at or after from_seq: an existing run answers an empty page, an unknown one 404.
        return run(settings.defaultTenant(), runId)
            .<RunView>askWithStatus(RunEntity.Get::new, settings.askTimeout())
            .thenApply(view -> found);
      });
    });
  }

  private CompletionStage<HttpResponse> cancel(String runId, String body) {
    return guarded(() -> {
      String reason = "cancelled over the API";
      if (!body.isBlank()) {
        JsonNode tree = readJson(body);
        if (tree.hasNonNull("reason")) reason = tree.get("reason").asText();
      }
      String why = reason;
      return run(settings.defaultTenant(), known(runId))
          .<RunView>askWithStatus(replyTo -> new RunEntity.Cancel(why, replyTo), settings.askTimeout())
          .thenApply(view -> ok(StatusCodes.OK, view));
    });
  }

  private EntityRef<RunEntity.Command> run(String tenant, String runId) {
    return sharding.entityRefFor(RunEntity.KEY, RunIds.entityId(tenant, runId));
  }

  /** A run id that is not one of ours is a 404 without waking an entity for it. */
  private static String known(String runId) {
    if (!RunIds.isValid(runId)) throw new ApiError(ErrorCode.NOT_FOUND, "run " + runId + " not found");
    return runId;
  }

  private static long seqOf(String text) {
    try {
      long seq = Long.parseLong(text);
      if (seq >= 1) return seq;
    } catch (NumberFormatException ignored) {
      // answered below
    }
    throw new ApiError(ErrorCode.INVALID_REQUEST, "from_seq must be a positive integer, was '" + text + "'");
  }

  private JsonNode readJson(String body) {
    try {
      return json.readTree(body);
    } catch (JsonProcessingException e) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "request body is not valid JSON: " + e.getOriginalMessage());
    }
  }

  private HttpResponse ok(StatusCode status, Object body) {
    try {
      return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, json.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a response body is always serializable", e);
    }
  }

  /** Runs a handler so that what it throws, and what its future fails with, ends in the envelope. */
  private CompletionStage<HttpResponse> guarded(java.util.function.Supplier<CompletionStage<HttpResponse>> handler) {
    CompletionStage<HttpResponse> response;
    try {
      response = handler.get();
    } catch (RuntimeException e) {
      response = CompletableFuture.failedFuture(e);
    }
    return response.exceptionally(errors::fromThrowable);
  }
}
