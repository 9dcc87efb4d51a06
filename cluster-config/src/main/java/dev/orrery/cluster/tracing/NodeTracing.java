package dev.orrery.cluster.tracing;

import dev.orrery.core.trace.Tracing;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.opentelemetry.sdk.trace.samplers.SamplingDecision;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenTelemetry SDK of this JVM, exporting spans over OTLP/HTTP (protobuf) in batches. Installed by the
 * first node of a JVM with an endpoint, shut down (its last spans sent) by the last of them to stop; nodes
 * without one make no span at all. One per JVM like the metrics registry: tests run several nodes in one.
 *
 * <p>Sampling keeps a trace or drops it whole: a run takes its decision once, when it is accepted (its
 * caller's, or the trace id's ratio for a trace of its own), records it, and every span under it follows
 * its parent's flag; only a root span (a request without a {@code traceparent}) decides by the ratio.
 */
public final class NodeTracing {
  private static final Logger log = LoggerFactory.getLogger(NodeTracing.class);
  private static int users;
  private static OpenTelemetrySdk sdk;

  private NodeTracing() {}

  /**
   * @param clusterNode the node's cluster address: the spans' {@code service.instance.id} (of the first node
   *     of the JVM, where tests run several)
   * @return whether this node traces (it has an endpoint)
   */
  public static synchronized boolean start(TracingSettings settings, String clusterNode) {
    if (!settings.enabled()) return false;
    if (users++ == 0) {
      Sampler byTraceId = Sampler.traceIdRatioBased(settings.sampleRatio());
      SdkTracerProvider provider = SdkTracerProvider.builder()
          .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(
              AttributeKey.stringKey("service.name"), settings.serviceName(),
              AttributeKey.stringKey("service.version"), settings.serviceVersion(),
              AttributeKey.stringKey("service.instance.id"), clusterNode))))
          .setIdGenerator(new RecordedIds())
          .setSampler(Sampler.parentBased(byTraceId))
          .addSpanProcessor(BatchSpanProcessor.builder(OtlpHttpSpanExporter.builder()
                  .setEndpoint(settings.tracesUrl()).build())
              .setScheduleDelay(settings.exportDelay().toMillis(), TimeUnit.MILLISECONDS)
              .setMaxQueueSize(settings.maxQueueSize())
              .build())
          .build();
      sdk = OpenTelemetrySdk.builder().setTracerProvider(provider).build();
      Tracing.install(sdk, traceId -> byTraceId.shouldSample(Context.root(), traceId, "run", SpanKind.INTERNAL,
          Attributes.empty(), List.of()).getDecision() == SamplingDecision.RECORD_AND_SAMPLE);
      log.info("Traces go to {} (sample ratio {})", settings.tracesUrl(), settings.sampleRatio());
    }
    return true;
  }

  public static synchronized void stop() {
    if (users > 0 && --users == 0 && sdk != null) {
      Tracing.uninstall();
      sdk.getSdkTracerProvider().shutdown().join(5, TimeUnit.SECONDS);
      sdk = null;
    }
  }

  /** Sends what is finished now instead of at the next batch (tests, shutdown). */
  public static synchronized void flush() {
    if (sdk != null) sdk.getSdkTracerProvider().forceFlush().join(5, TimeUnit.SECONDS);
  }
}
