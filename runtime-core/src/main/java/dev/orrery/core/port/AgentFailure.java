package dev.orrery.core.port;


/**
 * An invocation that ran and ended without an answer. It carries the answer record, so a caller can
 * report how far it got: turns, tool calls, tokens used, the instance to look at.
 */
public final class AgentFailure extends RuntimeException {
  private final transient AgentAnswer answer;

  public AgentFailure(AgentAnswer answer) {
    super(answer.errorCode() + ": " + answer.errorMessage(), null, false, false);
    this.answer = answer;
  }

  public AgentAnswer answer() {
    return answer;
  }

  /** {@code MAX_ITERATIONS}, {@code INVALID_OUTPUT}, or the LLM port's failure code. */
  public String code() {
    return answer.errorCode();
  }
}
