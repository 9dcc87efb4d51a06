package dev.orrery.core.run;

import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.pekko.persistence.typed.PersistenceId;

/**
 * Run ids and the entity ids they live under. A run started with an idempotency key gets an id derived
 * from the tenant and the key, so a retried submit reaches the same entity and finds the run it started.
 */
public final class RunIds {
  private static final Pattern RUN_ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  private static final String SEPARATOR = "|";

  private RunIds() {}

  public static String newRunId() {
    return UUID.randomUUID().toString();
  }

  public static String fromIdempotencyKey(String tenantId, String idempotencyKey) {
    return UUID.nameUUIDFromBytes((tenantId + SEPARATOR + idempotencyKey).getBytes(StandardCharsets.UTF_8)).toString();
  }

  /**
   * The idempotency key of one step attempt, {@code runId/step/attempt} ({@code step} with its map item, as
   * {@code node[3]}): every call the attempt makes carries it, and its span is named after it.
   */
  public static String stepCall(String runId, String stepKey, int attempt) {
    return runId + "/" + stepKey + "/" + attempt;
  }

  public static boolean isValid(String runId) {
    return runId != null && RUN_ID.matcher(runId).matches();
  }

  /** The sharding entity id; with the entity type {@code run} it makes the persistence id {@code run|tenant|runId}. */
  public static String entityId(String tenantId, String runId) {
    return tenantId + SEPARATOR + runId;
  }

  /**
   * {@code run|<tenantId>|<runId>}. Built by hand: {@code PersistenceId.of} reserves the separator inside
   * entity ids, and ours holds two parts.
   */
  public static PersistenceId persistenceId(String entityId) {
    return PersistenceId.ofUniqueId(RunEntity.KEY.name() + SEPARATOR + entityId);
  }

  public static String tenantOf(String entityId) {
    return entityId.substring(0, entityId.indexOf(SEPARATOR));
  }

  public static String runIdOf(String entityId) {
    return entityId.substring(entityId.indexOf(SEPARATOR) + 1);
  }
}
