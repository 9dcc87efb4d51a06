package dev.orrery.cluster.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every bundled example runs on what a new user gets: the simulated provider and no tools. An example
 * with an output schema answers a value of it (the instance validates it before answering).
 */
@ExtendWith(SharedPostgres.class)
class AgentExamplesTest {

  @Test
  void everyBundledExampleAnswersOnTheSimulatedProvider(SharedPostgres.TestDatabase db) throws Exception {
    try (TestNode node = TestNode.start(db, Map.of(
        "orrery.llm.providers", List.of(Map.of("name", "sim", "kind", "simulated")),
        "orrery.llm.routes.default.providers", List.of("sim")))) {
      ApiClient demo = node.api();
      JsonNode agents = demo.get("/api/v1/agents").body().get("agents");
      assertTrue(agents.size() >= 10, agents.toString());
      for (JsonNode agent : agents) {
        String name = agent.get("name").asText();
        ApiClient.Response r = demo.postJson("/api/v1/agents/" + name + "/execute",
            Map.of("task_description", "Show what you do with a short example", "context", Map.of()));
        assertEquals(200, r.status(), name + ": " + r.body());
        assertFalse(r.body().get("result").isNull(), name + ": " + r.body());
        assertEquals("sim", r.body().at("/metadata/provider").asText(), name + ": " + r.body());
      }
    }
  }
}
