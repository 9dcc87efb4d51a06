package dev.orrery.cluster.tracing;

import dev.orrery.core.trace.Tracing;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenTelemetry SDK of this JVM, exporting spans over OTLP/HTTP (protobuf) in batches. Installed by the
 * first node of a JVM with an endpoint, shut down (its last spans sent) by the last of them to stop; nodes
 * without one make no span at all. One per JVM like the metrics registry: tests run several nodes in one.
 *
 * <p>Sampling keeps a trace or drops it whole: a span follows its parent's decision where the parent was
 * not sampled, and otherwise decides by the trace id's ratio, which every node computes alike.
 */
public final class NodeTracing {
  private static final Logger log = LoggerFactory.getLogger(NodeTracing.class);
  private static int users;
  private static OpenTelemetrySdk sdk;

  private NodeTracing() {}

  /** @return whether this node traces (it has an endpoint) */
  public static synchronized boolean start(TracingSettings settings) {
    if (!settings.enabled()) return false;
    if (users++ == 0) {
      Sampler byTraceId = Sampler.traceIdRatioBased(settings.sampleRatio());
      SdkTracerProvider provider = SdkTracerProvider.builder()
          .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(
              AttributeKey.stringKey("service.name"), settings.serviceName(),
              AttributeKey.stringKey("service.version"), settings.serviceVersion()))))
          .setIdGenerator(new RecordedIds())
          .setSampler(Sampler.parentBasedBuilder(byTraceId).setRemoteParentSampled(byTraceId).build())
          .addSpanProcessor(BatchSpanProcessor.builder(OtlpHttpSpanExporter.builder()
                  .setEndpoint(settings.tracesUrl()).build())
              .setScheduleDelay(settings.exportDelay().toMillis(), TimeUnit.MILLISECONDS)
              .setMaxQueueSize(settings.maxQueueSize())
              .build())
          .build();
      sdk = OpenTelemetrySdk.builder().setTracerProvider(provider).build();
      Tracing.install(sdk);
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
