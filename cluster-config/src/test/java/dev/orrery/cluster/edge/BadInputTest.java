package dev.orrery.cluster.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Bad input over HTTP answers the error envelope with the right status, and nothing of a rejected run
 * reaches the journal. This class has a database of its own, so "nothing" is checked as zero rows.
 */
@ExtendWith(SharedPostgres.class)
class BadInputTest {
  private static TestNode node;
  private static SharedPostgres.TestDatabase database;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    database = db;
    node = TestNode.start(db, Map.of());
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (node != null) assertEquals(0, runEventsInJournal(), "no rejected request persisted anything");
    } finally {
      if (node != null) node.close();
    }
  }

  private static ApiClient api() {
    return node.api();
  }

  private static void assertEnvelope(ApiClient.Response r, int status, String code) {
    assertEquals(status, r.status(), () -> "status of " + r.body());
    assertEquals(code, r.errorCode(), () -> "code of " + r.body());
    assertTrue(r.body().at("/error/message").isTextual(), "an envelope has a message: " + r.body());
    assertTrue(r.body().at("/error/details").isObject(), "an envelope has details: " + r.body());
    assertTrue(r.raw().headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
  }

  @Test
  void malformedJsonIsAnInvalidRequestWithItsLocation() {
    ApiClient.Response r = api().post("/api/v1/runs", "{\"workflow_name\": \"hello\", ", "application/json", Map.of());
    assertEnvelope(r, 400, "INVALID_REQUEST");
    assertTrue(r.body().at("/error/message").asText().contains("line 1"), r.body().toString());
  }

  @Test
  void malformedYamlIsAnInvalidRequest() {
    ApiClient.Response r = api().post("/api/v1/runs", "workflow: [unclosed\n  - x: : :", "application/yaml", Map.of());
    assertEnvelope(r, 400, "INVALID_REQUEST");
  }

  @Test
  void aCycleIsReportedWithItsPath() {
    ApiClient.Response r = api().postJson("/api/v1/runs", Map.of("workflow", Map.of("name", "loop", "version", 1,
        "nodes", List.of(
            Map.of("id", "a", "type", "llm", "prompt", "x", "depends_on", List.of("c")),
            Map.of("id", "b", "type", "llm", "prompt", "y", "depends_on", List.of("a")),
            Map.of("id", "c", "type", "llm", "prompt", "z", "depends_on", List.of("b"))))));
    assertEnvelope(r, 400, "INVALID_REQUEST");
    JsonNode problems = r.body().at("/error/details/problems");
    assertTrue(codes(problems).contains("CYCLE"), problems.toString());
    String cycle = find(problems, "CYCLE").get("message").asText();
    assertTrue(cycle.contains("a") && cycle.contains("b") && cycle.contains("c") && cycle.contains("->"), cycle);
  }

  @Test
  void anUnknownNodeTypeIsRejected() {
    ApiClient.Response r = api().postJson("/api/v1/runs", Map.of("workflow", Map.of("name", "odd", "version", 1,
        "nodes", List.of(Map.of("id", "a", "type", "teleport", "prompt", "x")))));
    assertEnvelope(r, 400, "INVALID_REQUEST");
    assertTrue(codes(r.body().at("/error/details/problems")).contains("UNKNOWN_NODE_TYPE"), r.body().toString());
  }

  @Test
  void everyProblemOfAWorkflowIsReportedAtOnce() {
    ApiClient.Response r = api().postJson("/api/v1/runs", Map.of("workflow", Map.of("name", "broken", "version", 1,
        "policy", Map.of("max_parallel", 0),
        "nodes", List.of(
            Map.of("id", "a", "type", "llm", "prompt", "Use {{ghost.output}}"),
            Map.of("id", "a", "type", "llm", "prompt", "dup"),
            Map.of("id", "b", "type", "llm", "prompt", "x", "depends_on", List.of("nowhere"),
                "when", "a.output ==")))));
    assertEnvelope(r, 400, "INVALID_REQUEST");
    List<String> codes = codes(r.body().at("/error/details/problems"));
    for (String expected : List.of("OUT_OF_RANGE", "DUPLICATE_ID", "UNKNOWN_DEPENDENCY", "INVALID_CONDITION")) {
      assertTrue(codes.contains(expected), expected + " in " + codes);
    }
    assertTrue(codes.contains("UNKNOWN_REFERENCE"), "the template's unknown node: " + codes);
  }

  @Test
  void missingRequiredInputsAreRejected() {
    ApiClient.Response r = api().postJson("/api/v1/runs", Map.of("workflow_name", "hello", "inputs", Map.of()));
    assertEnvelope(r, 400, "INVALID_REQUEST");
    assertTrue(r.body().toString().contains("name"), r.body().toString());
  }

  @Test
  void aTenMegabyteBodyIsRefusedWith413BeforeItIsSent() throws Exception {
    // As curl sends a large body: headers with Expect: 100-continue, and the body only if invited. The
    // node refuses by Content-Length alone, so the 10 MB never cross the wire. (java.net.http's own
    // 100-continue support hangs on a non-100 answer in JDK 17, hence the socket.)
    URI base = URI.create(node.node().baseUrl());
    try (Socket socket = new Socket(base.getHost(), base.getPort())) {
      socket.setSoTimeout(10_000);
      String head = "POST /api/v1/runs HTTP/1.1\r\nHost: " + base.getHost() + "\r\nContent-Type: application/json\r\n"
          + "Authorization: Bearer " + api().bearer() + "\r\n"
          + "Content-Length: " + (10 * 1024 * 1024) + "\r\nExpect: 100-continue\r\n\r\n";
      socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(response.startsWith("HTTP/1.1 413"), response);
      JsonNode body = ApiClient.json().readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
      assertEquals("PAYLOAD_TOO_LARGE", body.at("/error/code").asText(), response);
      assertEquals(1024 * 1024, body.at("/error/details/limit_bytes").asInt());
    }
  }

  @Test
  void unknownRunsAnswerNotFound() {
    assertEnvelope(api().get("/api/v1/runs/3f1c2a4e-0000-4000-8000-000000000000"), 404, "NOT_FOUND");
    assertEnvelope(api().get("/api/v1/runs/3f1c2a4e-0000-4000-8000-000000000000/journal"), 404, "NOT_FOUND");
    assertEnvelope(api().postJson("/api/v1/runs/3f1c2a4e-0000-4000-8000-000000000000/cancel", ""), 404, "NOT_FOUND");
    assertEnvelope(api().get("/api/v1/runs/not-a-run-id"), 404, "NOT_FOUND");
  }

  @Test
  void unknownWorkflowNamesAndRoutesAnswerNotFound() {
    ApiClient.Response r = api().postJson("/api/v1/runs", Map.of("workflow_name", "no_such_flow"));
    assertEnvelope(r, 404, "NOT_FOUND");
    assertTrue(r.body().at("/error/details/available").isArray(), r.body().toString());
    assertEnvelope(api().get("/api/v1/nowhere"), 404, "NOT_FOUND");
  }

  @Test
  void unknownFieldsInTheBodyAreRejected() {
    ApiClient.Response r = api().postJson("/api/v1/runs", Map.of("workflow_name", "hello", "inptus", Map.of()));
    assertEnvelope(r, 400, "INVALID_REQUEST");
    assertTrue(r.body().at("/error/message").asText().contains("inptus"));
  }

  private static List<String> codes(JsonNode problems) {
    List<String> out = new ArrayList<>();
    problems.forEach(p -> out.add(p.get("code").asText()));
    return out;
  }

  private static JsonNode find(JsonNode problems, String code) {
    for (JsonNode p : problems) if (p.get("code").asText().equals(code)) return p;
    throw new AssertionError("no " + code + " in " + problems);
  }

  private static int runEventsInJournal() throws Exception {
    try (Connection c = DriverManager.getConnection(database.jdbcUrl(), database.user(), database.password());
        ResultSet rs = c.createStatement().executeQuery(
            "SELECT count(*) FROM event_journal WHERE persistence_id LIKE 'run|%'")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
