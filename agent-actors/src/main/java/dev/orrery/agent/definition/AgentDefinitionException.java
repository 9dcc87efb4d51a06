package dev.orrery.agent.definition;

import java.util.List;

/** A definition that cannot be used, with every problem found, each naming its field. */
public final class AgentDefinitionException extends RuntimeException {
  private final List<String> problems;

  public AgentDefinitionException(String source, List<String> problems) {
    super((source == null ? "agent definition" : source) + " is invalid: " + String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
