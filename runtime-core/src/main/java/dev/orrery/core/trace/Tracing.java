package dev.orrery.core.trace;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The process's tracer and the W3C {@code traceparent} text that carries a span's context between our
 * actors, nodes and HTTP peers. The tracer is one per JVM, like the metrics registry: a no-op until a node
 * with an OTLP endpoint installs the SDK ({@link #install}), so code that makes spans costs next to nothing
 * when nobody collects them.
 */
public final class Tracing {
  public static final String TRACEPARENT = "traceparent";
  private static final String INSTRUMENTATION = "dev.orrery";
  private static final Tracer NOOP = OpenTelemetry.noop().getTracer(INSTRUMENTATION);
  private static volatile Tracer tracer = NOOP;
  private static volatile Predicate<String> keepsNewTrace = traceId -> true;

  private static final TextMapGetter<Map<String, String>> FROM_MAP = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Map<String, String> carrier) {
      return carrier.keySet();
    }

    @Override
    public String get(Map<String, String> carrier, String key) {
      return carrier == null ? null : carrier.get(key);
    }
  };

  private Tracing() {}

  public static Tracer tracer() {
    return tracer;
  }

  /** Whether spans go anywhere: callers skip building attributes when they would not. */
  public static boolean active() {
    return tracer != NOOP;
  }

  /**
   * @param keepsNewTrace whether a trace that starts here (no caller's decision to follow) is sampled, by its
   *     id: asked once per run, when it is accepted, and recorded with it
   */
  public static void install(OpenTelemetry openTelemetry, Predicate<String> keepsNewTrace) {
    Tracing.keepsNewTrace = keepsNewTrace;
    tracer = openTelemetry.getTracer(INSTRUMENTATION);
  }

  public static void uninstall() {
    tracer = NOOP;
    keepsNewTrace = traceId -> true;
  }

  /** Whether a new trace of this id is sampled (always, until a node installs a sampler). */
  public static boolean keepsNewTrace(String traceId) {
    return keepsNewTrace.test(traceId);
  }

  /**
   * The parent context for a span under the span a {@code traceparent} names, or null when no span should
   * be made: nobody collects traces, or the parent was not sampled (its whole trace is dropped, so the
   * span's attributes are not even gathered).
   */
  public static Context parentFor(String traceparent) {
    if (!active()) return null;
    SpanContext parent = parse(traceparent);
    if (!parent.isValid()) return Context.root();
    return parent.isSampled() ? Context.root().with(Span.wrap(parent)) : null;
  }

  /** The span context a {@code traceparent} names, or an invalid one for null or malformed text. */
  public static SpanContext parse(String traceparent) {
    if (traceparent == null || traceparent.isBlank()) return SpanContext.getInvalid();
    Context extracted = W3CTraceContextPropagator.getInstance()
        .extract(Context.root(), Map.of(TRACEPARENT, traceparent.strip()), FROM_MAP);
    return Span.fromContext(extracted).getSpanContext();
  }

  /** The {@code traceparent} of a span context, or null for an invalid one. */
  public static String format(SpanContext context) {
    if (context == null || !context.isValid()) return null;
    Map<String, String> carrier = new HashMap<>(2);
    W3CTraceContextPropagator.getInstance().inject(Context.root().with(Span.wrap(context)), carrier, Map::put);
    return carrier.get(TRACEPARENT);
  }
}
