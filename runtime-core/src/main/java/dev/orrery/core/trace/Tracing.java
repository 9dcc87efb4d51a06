package dev.orrery.core.trace;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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

  public static void install(OpenTelemetry openTelemetry) {
    tracer = openTelemetry.getTracer(INSTRUMENTATION);
  }

  public static void uninstall() {
    tracer = NOOP;
  }

  /** The span context a {@code traceparent} names, or an invalid one for null or malformed text. */
  public static SpanContext parse(String traceparent) {
    if (traceparent == null || traceparent.isBlank()) return SpanContext.getInvalid();
    Context extracted = W3CTraceContextPropagator.getInstance()
        .extract(Context.root(), Map.of(TRACEPARENT, traceparent.strip()), FROM_MAP);
    return Span.fromContext(extracted).getSpanContext();
  }

  /** A context whose current span is the one a {@code traceparent} names (the root context for none). */
  public static Context contextOf(String traceparent) {
    SpanContext parent = parse(traceparent);
    return parent.isValid() ? Context.root().with(Span.wrap(parent)) : Context.root();
  }

  /** The {@code traceparent} of a span context, or null for an invalid one. */
  public static String format(SpanContext context) {
    if (context == null || !context.isValid()) return null;
    Map<String, String> carrier = new HashMap<>(2);
    W3CTraceContextPropagator.getInstance().inject(Context.root().with(Span.wrap(context)), carrier, Map::put);
    return carrier.get(TRACEPARENT);
  }

  /** The first {@code traceparent} of a list of header values, or null. */
  public static String first(List<String> values) {
    return values == null || values.isEmpty() ? null : values.get(0);
  }
}
