package dev.orrery.edge.cli;

import java.util.Optional;

/**
 * Reads a {@code text/event-stream} line by line, as the HTML standard defines it: {@code id:},
 * {@code event:} and {@code data:} fields (several data lines join with a newline), comment lines starting
 * with a colon (heartbeats) ignored, and a blank line ending an event. Not thread-safe: one per stream.
 */
public final class ServerSentEvents {

  /** One event: {@code id} is null when the event carried none (an ephemeral one). */
  public record Event(String id, String type, String data) {}

  private String id;
  private String type;
  private final StringBuilder data = new StringBuilder();
  private boolean hasData;

  /** Takes the next line of the stream (without its line ending); answers the event a blank line ends. */
  public Optional<Event> accept(String line) {
    if (line.isEmpty()) return dispatch();
    if (line.startsWith(":")) return Optional.empty();
    int colon = line.indexOf(':');
    String field = colon < 0 ? line : line.substring(0, colon);
    String value = colon < 0 ? "" : line.substring(colon + 1);
    if (value.startsWith(" ")) value = value.substring(1);
    switch (field) {
      case "id":
        if (value.indexOf('\0') < 0) id = value;
        break;
      case "event":
        type = value;
        break;
      case "data":
        if (hasData) data.append('\n');
        data.append(value);
        hasData = true;
        break;
      default:
        // "retry" and unknown fields: nothing a CLI acts on
        break;
    }
    return Optional.empty();
  }

  private Optional<Event> dispatch() {
    Optional<Event> event = hasData
        ? Optional.of(new Event(id == null || id.isEmpty() ? null : id, type == null ? "message" : type, data.toString()))
        : Optional.empty();
    // The standard keeps the last event id across events; ours come with their own or none (a delta).
    id = null;
    type = null;
    data.setLength(0);
    hasData = false;
    return event;
  }
}
