package dev.orrery.core.run.migration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * {@code RunAccepted}.
 *
 * <ul>
 *   <li>Version 1: {@code run_id, tenant_id, spec, inputs, idempotency_key?, request_hash?, fork?, at}. The
 *       spec as submitted, nothing about what its agents and routes were when it started.
 *   <li>Version 2 (run pinning): adds {@code pins: {recorded, agents: {node: {agent, version}}, routes:
 *       {node: {route, model?, policy, tier, candidates: [{provider, model, weight?}]}}}}, required.
 * </ul>
 *
 * A version-1 event reads as {@code pins: {recorded: false, agents: {}, routes: {}}}: that run was not
 * pinned, so its agent nodes run their agent's active version and its calls take the routes as they are
 * configured when made, exactly as the code that wrote it did.
 */
public final class RunAcceptedMigration extends JacksonMigration {
  public static final int VERSION = 2;

  @Override
  public int currentVersion() {
    return VERSION;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    ObjectNode event = (ObjectNode) json;
    if (fromVersion < 2 && !event.has("pins")) event.set("pins", notPinned(event));
    return event;
  }

  /** The pins of a run accepted before runs were pinned, in version 2's shape. */
  static ObjectNode notPinned(ObjectNode beside) {
    ObjectNode pins = beside.objectNode();
    pins.put("recorded", false);
    pins.putObject("agents");
    pins.putObject("routes");
    return pins;
  }
}
