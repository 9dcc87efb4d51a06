package dev.orrery.bench;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.LongAdder;

/**
 * A collector's OTLP/HTTP trace endpoint on loopback that takes every batch, answers 200 and keeps only
 * counts: what a node's exporter pays for, without a collector's own work on the same cores.
 */
final class OtlpSink implements AutoCloseable {
  private final HttpServer server;
  final LongAdder batches = new LongAdder();
  final LongAdder bytes = new LongAdder();

  OtlpSink() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/v1/traces", exchange -> {
      try (exchange; InputStream body = exchange.getRequestBody()) {
        bytes.add(body.readAllBytes().length);
        batches.increment();
        exchange.sendResponseHeaders(200, -1);
      }
    });
    server.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "otlp-sink");
      t.setDaemon(true);
      return t;
    }));
    server.start();
  }

  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
