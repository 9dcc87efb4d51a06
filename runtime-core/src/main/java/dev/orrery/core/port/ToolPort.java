package dev.orrery.core.port;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * The tools a step or an agent may call. An implementation validates the arguments against the tool's
 * schema before running anything, answers every call with a {@link ToolResult} (a failed tool is a
 * result with {@code error} set, not a failed stage), and remembers results by idempotency key for a
 * while, so that a re-dispatched step does not run a tool twice.
 */
public interface ToolPort {

  /** The tools on offer, each with the JSON Schema of its arguments. */
  List<ToolSpec> tools();

  /** Runs one tool call; the stage completes with a result, also when the tool failed or was refused. */
  CompletionStage<ToolResult> call(ToolInvocation invocation);
}
