package dev.orrery.cluster.testing;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.zip.GZIPInputStream;

/**
 * An OpenTelemetry collector on loopback, as far as a node's exporter can tell: it takes OTLP/HTTP protobuf
 * posts on {@code /v1/traces}, answers them as a collector does, and keeps every span it was sent, decoded.
 */
public final class FakeCollector implements AutoCloseable {
  /** A received span, its ids in hex, its attributes as plain values. */
  public record ReceivedSpan(String name, String traceId, String spanId, String parentSpanId, String kind,
      long startNanos, long endNanos, boolean error, Map<String, Object> attributes, Map<String, Object> resource) {

    public String attribute(String key) {
      Object v = attributes.get(key);
      return v == null ? null : String.valueOf(v);
    }
  }

  private final HttpServer server;
  private final ConcurrentLinkedQueue<ReceivedSpan> spans = new ConcurrentLinkedQueue<>();

  private FakeCollector(HttpServer server) {
    this.server = server;
  }

  public static FakeCollector start() throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    FakeCollector collector = new FakeCollector(server);
    server.createContext("/v1/traces", exchange -> {
      try (exchange) {
        if (!"POST".equals(exchange.getRequestMethod())) {
          exchange.sendResponseHeaders(405, -1);
          return;
        }
        InputStream body = exchange.getRequestBody();
        if ("gzip".equalsIgnoreCase(exchange.getRequestHeaders().getFirst("Content-Encoding"))) {
          body = new GZIPInputStream(body);
        }
        ExportTraceServiceRequest request = ExportTraceServiceRequest.parseFrom(body.readAllBytes());
        collector.keep(request);
        byte[] answer = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
        exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
        exchange.sendResponseHeaders(200, answer.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(answer);
        }
      }
    });
    server.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "fake-otlp-collector");
      t.setDaemon(true);
      return t;
    }));
    server.start();
    return collector;
  }

  /** The base URL a node's {@code orrery.tracing.otlp-endpoint} takes. */
  public String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  public List<ReceivedSpan> spans() {
    return List.copyOf(spans);
  }

  public List<ReceivedSpan> spansOf(String traceId) {
    return spans.stream().filter(s -> s.traceId().equals(traceId)).toList();
  }

  private void keep(ExportTraceServiceRequest request) {
    HexFormat hex = HexFormat.of();
    for (ResourceSpans rs : request.getResourceSpansList()) {
      Map<String, Object> resource = plain(rs.getResource().getAttributesList());
      for (ScopeSpans ss : rs.getScopeSpansList()) {
        for (var s : ss.getSpansList()) {
          spans.add(new ReceivedSpan(s.getName(), hex.formatHex(s.getTraceId().toByteArray()),
              hex.formatHex(s.getSpanId().toByteArray()),
              s.getParentSpanId().isEmpty() ? null : hex.formatHex(s.getParentSpanId().toByteArray()),
              s.getKind().name(), s.getStartTimeUnixNano(), s.getEndTimeUnixNano(),
              s.getStatus().getCode() == io.opentelemetry.proto.trace.v1.Status.StatusCode.STATUS_CODE_ERROR,
              plain(s.getAttributesList()), resource));
        }
      }
    }
  }

  private static Map<String, Object> plain(List<KeyValue> attributes) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (KeyValue kv : attributes) out.put(kv.getKey(), plain(kv.getValue()));
    return out;
  }

  private static Object plain(AnyValue v) {
    switch (v.getValueCase()) {
      case STRING_VALUE: return v.getStringValue();
      case INT_VALUE: return v.getIntValue();
      case DOUBLE_VALUE: return v.getDoubleValue();
      case BOOL_VALUE: return v.getBoolValue();
      case ARRAY_VALUE: return v.getArrayValue().getValuesList().stream().map(FakeCollector::plain).toList();
      default: return v.toString();
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
