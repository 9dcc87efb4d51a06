package dev.orrery.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Paths become templates with a bounded set of values: ids are parameters, unknown paths are "other". */
class HttpMetricsTest {
  @Test
  void idsBecomeParametersAndTheApisWordsStay() {
    assertEquals("/api/v1/runs", HttpMetrics.template("/api/v1/runs"));
    assertEquals("/api/v1/runs/{id}", HttpMetrics.template("/api/v1/runs/3f2a9c1e-0000-4000-8000-000000000001"));
    assertEquals("/api/v1/runs/{id}/stream", HttpMetrics.template("/api/v1/runs/abc/stream"));
    assertEquals("/api/v1/runs/{id}/approvals/{id}", HttpMetrics.template("/api/v1/runs/abc/approvals/review"));
    assertEquals("/api/v1/runs/{id}/diff/{id}", HttpMetrics.template("/api/v1/runs/a/diff/b/"));
    assertEquals("/api/v1/tenants/{id}/keys/{id}", HttpMetrics.template("/api/v1/tenants/acme/keys/k1"));
    assertEquals("/api/v1/agents/{id}/execute", HttpMetrics.template("/api/v1/agents/writer/execute"));
    assertEquals("/v1/chat/completions", HttpMetrics.template("/v1/chat/completions"));
    assertEquals("/v1/models", HttpMetrics.template("/v1/models"));
    assertEquals("/metrics", HttpMetrics.template("/metrics"));
    assertEquals("/api/v1/runs/{id}/stream", HttpMetrics.template("//api//v1/runs//abc///stream//"));
  }

  @Test
  void pathsUnderNoResourceAreOther() {
    assertEquals("other", HttpMetrics.template("/"));
    assertEquals("other", HttpMetrics.template(""));
    assertEquals("other", HttpMetrics.template("///"));
    assertEquals("other", HttpMetrics.template("/api/v1/whatever-" + System.nanoTime()));
    assertEquals("other", HttpMetrics.template("/wp-admin/setup.php"));
    assertEquals("other", HttpMetrics.template("/api/v2/runs"));
  }
}
