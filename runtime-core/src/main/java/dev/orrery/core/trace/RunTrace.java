package dev.orrery.core.trace;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.api.trace.TraceState;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.random.RandomGenerator;

/**
 * A run's place in a trace, recorded in its {@code RunAccepted}: the trace, the run's own span, and the
 * caller's span it continues (the submit request's, from its {@code traceparent}). Every node that hosts
 * the run reads it from the journal, so spans made before and after a crash or a move share one trace.
 *
 * <p>A step's span id is a function of its idempotency key ({@link #stepSpanId}): the node that schedules
 * an attempt, the router that serves its call and a node that re-dispatches it after recovery all name
 * the same span without telling each other.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RunTrace(
    @JsonProperty("trace_id") String traceId,
    @JsonProperty("span_id") String spanId,
    @JsonProperty("parent_span_id") String parentSpanId,
    @JsonProperty("sampled") boolean sampled) implements JsonSerializable {

  public RunTrace {
    if (!TraceId.isValid(traceId)) throw new IllegalArgumentException("trace_id must be 32 hex digits, was " + traceId);
    if (!SpanId.isValid(spanId)) throw new IllegalArgumentException("span_id must be 16 hex digits, was " + spanId);
    if (parentSpanId != null && !SpanId.isValid(parentSpanId)) {
      throw new IllegalArgumentException("parent_span_id must be 16 hex digits, was " + parentSpanId);
    }
  }

  /**
   * A new run's trace: the caller's trace when {@code traceparent} names a valid one (its sampling
   * decision too), otherwise a new trace, sampled as this node's sampler decides by its id. The ids are
   * drawn, and the decision taken, by the deciding command handler: recorded, every node follows it.
   */
  public static RunTrace start(String traceparent, RandomGenerator random) {
    SpanContext caller = Tracing.parse(traceparent);
    String spanId = randomSpanId(random);
    if (caller.isValid()) return new RunTrace(caller.getTraceId(), spanId, caller.getSpanId(), caller.isSampled());
    String traceId;
    do {
      traceId = TraceId.fromLongs(random.nextLong(), random.nextLong());
    } while (!TraceId.isValid(traceId));
    return new RunTrace(traceId, spanId, null, Tracing.keepsNewTrace(traceId));
  }

  private static String randomSpanId(RandomGenerator random) {
    String id;
    do {
      id = SpanId.fromLong(random.nextLong());
    } while (!SpanId.isValid(id));
    return id;
  }

  /** The span of one step attempt, named by its idempotency key ({@code runId/step/attempt}). */
  public String stepSpanId(String idempotencyKey) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(idempotencyKey.getBytes(StandardCharsets.UTF_8));
      long id = ByteBuffer.wrap(digest).getLong();
      return SpanId.fromLong(id == 0 ? 1 : id);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The run's own span, as a parent for its steps' spans. */
  @JsonIgnore
  public SpanContext runSpan() {
    return remote(spanId);
  }

  /** The caller's span the run continues, or null when the run started its trace. */
  @JsonIgnore
  public SpanContext callerSpan() {
    return parentSpanId == null ? null : remote(parentSpanId);
  }

  /** The {@code traceparent} a step attempt's calls carry: their spans are children of the step's. */
  public String stepTraceparent(String idempotencyKey) {
    return Tracing.format(remote(stepSpanId(idempotencyKey)));
  }

  private SpanContext remote(String span) {
    return SpanContext.createFromRemoteParent(traceId, span, sampled ? TraceFlags.getSampled() : TraceFlags.getDefault(),
        TraceState.getDefault());
  }
}
