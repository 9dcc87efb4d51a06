package dev.orrery.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.port.ToolResult;
import dev.orrery.core.port.ToolSpec;
import java.time.Duration;

/**
 * One tool: its spec (name, description, JSON Schema of its arguments) and how to run it. The registry
 * has validated the arguments against the schema before {@link #run} is called, and calls it on a
 * thread of its own pool, so {@code run} may block (never longer than about {@code timeout}).
 */
public interface Tool {

  ToolSpec spec();

  /** The tool's own upper bound on a call's wall-clock time; a caller may only ask for less. */
  Duration maxTimeout();

  ToolResult run(JsonNode arguments, Duration timeout);

  default String name() {
    return spec().name();
  }
}
