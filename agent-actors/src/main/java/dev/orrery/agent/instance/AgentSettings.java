package dev.orrery.agent.instance;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Settings of agent instances, from {@code orrery.agents}.
 *
 * @param llmTimeout how long one model call may take
 * @param toolTimeout how long one tool call may take before the model is told it timed out
 * @param executeTimeout how long a caller waits for an invocation's answer
 * @param maxToolOutputChars a tool's output beyond this is cut (with a marker) before the model reads it
 * @param snapshotEvery a snapshot every N events keeps recovery of long conversations fast
 * @param idleTimeout an instance (or a tenant's registry) with nothing to do leaves memory after this long
 */
public record AgentSettings(Duration llmTimeout, Duration toolTimeout, Duration executeTimeout,
    int maxToolOutputChars, int snapshotEvery, Duration idleTimeout) {

  public AgentSettings {
    positive("llm-timeout", llmTimeout);
    positive("tool-timeout", toolTimeout);
    positive("execute-timeout", executeTimeout);
    if (maxToolOutputChars <= 0) {
      throw new IllegalArgumentException("max-tool-output-chars must be > 0, was " + maxToolOutputChars);
    }
    if (snapshotEvery <= 0) throw new IllegalArgumentException("snapshot-every must be > 0, was " + snapshotEvery);
    positive("idle-timeout", idleTimeout);
  }

  public static AgentSettings fromConfig(Config config) {
    Config c = config.getConfig("orrery.agents");
    return new AgentSettings(c.getDuration("llm-timeout"), c.getDuration("tool-timeout"),
        c.getDuration("execute-timeout"), c.getInt("max-tool-output-chars"), c.getInt("snapshot-every"),
        c.getDuration("idle-timeout"));
  }

  private static void positive(String name, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) throw new IllegalArgumentException(name + " must be > 0, was " + d);
  }
}
