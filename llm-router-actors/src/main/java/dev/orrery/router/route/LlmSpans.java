package dev.orrery.router.route;

import static dev.orrery.core.trace.SpanAttributes.COST_MICROS;
import static dev.orrery.core.trace.SpanAttributes.ERROR_TYPE;
import static dev.orrery.core.trace.SpanAttributes.OPERATION;
import static dev.orrery.core.trace.SpanAttributes.PROVIDER;
import static dev.orrery.core.trace.SpanAttributes.RUN;
import static dev.orrery.core.trace.SpanAttributes.TENANT;

import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.trace.Tracing;
import dev.orrery.router.provider.ProviderException;
import dev.orrery.router.provider.ProviderResponse;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import java.util.List;
import java.util.Locale;

/**
 * One span per provider attempt of an LLM call, a child of the call's own span (a step's, a gateway
 * request's: {@link LlmRequest#traceparent()}), with the OpenTelemetry GenAI attributes plus what the call
 * cost and whose it was. A fallback shows as sibling spans, the failed attempts marked as errors.
 */
final class LlmSpans {
  static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("gen_ai.system");
  static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
  static final AttributeKey<Long> REQUEST_MAX_TOKENS = AttributeKey.longKey("gen_ai.request.max_tokens");
  static final AttributeKey<Double> REQUEST_TEMPERATURE = AttributeKey.doubleKey("gen_ai.request.temperature");
  static final AttributeKey<String> RESPONSE_MODEL = AttributeKey.stringKey("gen_ai.response.model");
  static final AttributeKey<List<String>> FINISH_REASONS = AttributeKey.stringArrayKey("gen_ai.response.finish_reasons");
  static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
  static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
  static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("orrery.provider_attempt");

  private LlmSpans() {}

  /** The attempt's span, started now; {@link Span#getInvalid()} (a no-op) while nobody collects traces. */
  static Span start(LlmRequest request, ProviderSettings provider, ModelSettings model, int attempt) {
    Context parent = Tracing.parentFor(request.traceparent());
    if (parent == null) return Span.getInvalid();
    var span = Tracing.tracer().spanBuilder("chat " + model.name())
        .setSpanKind(SpanKind.CLIENT)
        .setParent(parent)
        .setAttribute(OPERATION, "chat")
        .setAttribute(SYSTEM, provider.kind().name().toLowerCase(Locale.ROOT))
        .setAttribute(REQUEST_MODEL, model.name())
        .setAttribute(REQUEST_MAX_TOKENS, (long) request.maxTokens())
        .setAttribute(PROVIDER, provider.name())
        .setAttribute(TENANT, request.tenantId());
    if (attempt > 1) span.setAttribute(ATTEMPT, (long) attempt);
    if (request.temperature() != null) span.setAttribute(REQUEST_TEMPERATURE, request.temperature());
    // A run's call names its run and step only where no step span does (spans are made for every step: each
    // attribute is paid for thousands of times a second).
    if (request.runId() != null && request.traceparent() == null) span.setAttribute(RUN, request.runId());
    return span.startSpan();
  }

  static void served(Span span, ModelSettings model, ProviderResponse response) {
    if (!span.isRecording()) return;
    // The model that answered, where it names itself otherwise than asked (a dated version of an alias).
    if (response.model() != null && !response.model().equals(model.name())) {
      span.setAttribute(RESPONSE_MODEL, response.model());
    }
    span.setAttribute(INPUT_TOKENS, response.tokensIn());
    span.setAttribute(OUTPUT_TOKENS, response.tokensOut());
    span.setAttribute(COST_MICROS, model.costMicros(response.tokensIn(), response.tokensOut()));
    if (response.finishReason() != null) span.setAttribute(FINISH_REASONS, List.of(response.finishReason()));
    span.end();
  }

  static void failed(Span span, ProviderException error) {
    if (!span.isRecording()) return;
    span.setAttribute(ERROR_TYPE, error.kind().name());
    span.setStatus(StatusCode.ERROR, Router.describe(error));
    span.end();
  }
}
