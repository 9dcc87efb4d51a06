package dev.orrery.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.orrery.core.port.ToolResult;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** http_fetch against a loopback server whose address (127.0.0.1) is on the allowlist; "localhost" is not. */
class HttpFetchToolTest {
  private HttpServer server;
  private ToolSandbox tools;
  private String base;
  private final AtomicInteger hits = new AtomicInteger();

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/hello", ex -> answer(ex, 200, "hello from the allowlist"));
    server.createContext("/big", ex -> answer(ex, 200, "y".repeat(3000)));
    server.createContext("/missing", ex -> answer(ex, 404, "no such page"));
    server.createContext("/hop", ex -> redirect(ex, "/hello"));
    server.createContext("/away", ex -> redirect(ex, "http://localhost:" + server.getAddress().getPort() + "/hello"));
    server.start();
    base = "http://127.0.0.1:" + server.getAddress().getPort();
    tools = ToolSandbox.fromConfig(TestTools.config(
        "orrery.tools { enabled = [http_fetch], http-fetch { allowed-hosts = [\"127.0.0.1\"], max-bytes = 1000 } }"));
  }

  @AfterEach
  void stop() {
    tools.close();
    server.stop(0);
  }

  private void answer(HttpExchange ex, int status, String body) throws IOException {
    hits.incrementAndGet();
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private void redirect(HttpExchange ex, String to) throws IOException {
    ex.getResponseHeaders().add("Location", to);
    ex.sendResponseHeaders(302, -1);
    ex.close();
  }

  private ToolResult fetch(String url) {
    return TestTools.call(tools.port(), "http_fetch", Map.of("url", url));
  }

  @Test
  void fetchesFromAnAllowedHost() {
    ToolResult result = fetch(base + "/hello");
    assertFalse(result.error(), result.message());
    assertEquals("hello from the allowlist", result.output());
  }

  @Test
  void followsARedirectOnTheSameHost() {
    assertEquals("hello from the allowlist", fetch(base + "/hop").output());
  }

  @Test
  void refusesARedirectToAnotherHost() {
    ToolResult result = fetch(base + "/away");
    assertEquals(ToolErrors.FORBIDDEN, result.errorCode());
    assertTrue(result.message().contains("localhost"), result.message());
    assertEquals(0, hits.get(), "the other host was never asked");
  }

  @Test
  void refusesAHostOffTheAllowlistWithoutConnecting() {
    ToolResult result = fetch("http://localhost:" + server.getAddress().getPort() + "/hello");
    assertEquals(ToolErrors.FORBIDDEN, result.errorCode());
    assertTrue(result.message().contains("not on the allowlist"), result.message());
    assertEquals(0, hits.get());
  }

  @Test
  void refusesOtherSchemesAndCredentials() {
    assertEquals(ToolErrors.FORBIDDEN, fetch("file:///etc/passwd").errorCode());
    assertEquals(ToolErrors.FORBIDDEN, fetch("ftp://127.0.0.1/x").errorCode());
    assertEquals(ToolErrors.FORBIDDEN, fetch("http://user:pw@127.0.0.1:1/x").errorCode());
    assertEquals(ToolErrors.INVALID_ARGUMENTS, TestTools.call(tools.port(), "http_fetch", Map.of("uri", "x")).errorCode());
  }

  @Test
  void capsTheBodyWithTheMarker() {
    ToolResult result = fetch(base + "/big");
    assertFalse(result.error());
    assertTrue(result.truncated());
    assertTrue(result.output().startsWith("y".repeat(1000) + "\n" + CappedOutput.TRUNCATION_MARKER), result.output());
  }

  @Test
  void anErrorStatusIsAFailedFetch() {
    ToolResult result = fetch(base + "/missing");
    assertEquals(ToolErrors.FETCH_FAILED, result.errorCode());
    assertTrue(result.message().contains("404"));
    assertEquals("no such page", result.output());
  }
}
