package dev.orrery.cluster.tracing;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.sdk.trace.IdGenerator;

/**
 * Random ids, except for a span whose ids a run recorded in its journal: a run's span and its steps' spans
 * are made when they end, perhaps on another node than the one that began them, and must carry the ids
 * that their children (provider calls, tool calls) already named as their parent. The SDK draws ids only
 * from its {@link IdGenerator}, so {@link #start} hands it the recorded ones for one span, on this thread.
 */
final class RecordedIds implements IdGenerator {
  private static final IdGenerator RANDOM = IdGenerator.random();
  private static final ThreadLocal<String> TRACE_ID = new ThreadLocal<>();
  private static final ThreadLocal<String> SPAN_ID = new ThreadLocal<>();

  /**
   * Starts the span with these ids.
   *
   * @param traceId used only when the builder has no valid parent (the parent's trace is the span's otherwise)
   */
  static Span start(SpanBuilder builder, String traceId, String spanId) {
    TRACE_ID.set(traceId);
    SPAN_ID.set(spanId);
    try {
      return builder.startSpan();
    } finally {
      TRACE_ID.remove();
      SPAN_ID.remove();
    }
  }

  @Override
  public String generateSpanId() {
    String recorded = SPAN_ID.get();
    if (recorded == null) return RANDOM.generateSpanId();
    SPAN_ID.remove();
    return recorded;
  }

  @Override
  public String generateTraceId() {
    String recorded = TRACE_ID.get();
    if (recorded == null) return RANDOM.generateTraceId();
    TRACE_ID.remove();
    return recorded;
  }
}
