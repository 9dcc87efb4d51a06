package dev.orrery.core.trace;

import io.opentelemetry.api.common.AttributeKey;

/**
 * The attributes our spans share, by one name everywhere: whose call it was, which run and step it
 * served, what it cost, how it failed. The GenAI ones are OpenTelemetry's semantic conventions; ours are
 * under {@code orrery.}.
 */
public final class SpanAttributes {
  public static final AttributeKey<String> TENANT = AttributeKey.stringKey("orrery.tenant_id");
  public static final AttributeKey<String> RUN = AttributeKey.stringKey("orrery.run_id");
  /** The step: its node id, with the map item as {@code node[3]}. */
  public static final AttributeKey<String> STEP = AttributeKey.stringKey("orrery.node_id");
  public static final AttributeKey<String> PROVIDER = AttributeKey.stringKey("orrery.provider");
  public static final AttributeKey<Long> COST_MICROS = AttributeKey.longKey("orrery.cost_micros");
  public static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  public static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
  public static final AttributeKey<String> TOOL = AttributeKey.stringKey("gen_ai.tool.name");

  private SpanAttributes() {}
}
