package dev.orrery.cluster.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.orrery.edge.cli.ServerSentEvents;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The CLI's reading of {@code text/event-stream}, line by line, as the HTML standard defines it. */
class CliServerSentEventsTest {

  private static List<ServerSentEvents.Event> read(String... lines) {
    ServerSentEvents parser = new ServerSentEvents();
    List<ServerSentEvents.Event> events = new ArrayList<>();
    for (String line : lines) parser.accept(line).ifPresent(events::add);
    return events;
  }

  @Test
  void anEventHasItsIdTypeAndDataAndEndsAtABlankLine() {
    List<ServerSentEvents.Event> events = read("id: 7", "event: StepSucceeded", "data: {\"seq\":7}", "");
    assertEquals(List.of(new ServerSentEvents.Event("7", "StepSucceeded", "{\"seq\":7}")), events);
  }

  @Test
  void heartbeatCommentsAndUnknownFieldsAreIgnored() {
    List<ServerSentEvents.Event> events = read(":", "", ": keep-alive", "", "retry: 1000", "event: RunCompleted",
        "data:{}", "");
    assertEquals(List.of(new ServerSentEvents.Event(null, "RunCompleted", "{}")), events);
  }

  @Test
  void dataLinesJoinWithNewlinesAndAnEventWithoutAnIdHasNone() {
    List<ServerSentEvents.Event> events = read("id: 3", "data: a", "", "event: StepDelta", "data: first", "data:  second", "");
    assertEquals(2, events.size());
    assertEquals("3", events.get(0).id());
    assertEquals("message", events.get(0).type(), "no event field: the standard's default type");
    assertNull(events.get(1).id(), "a delta carries no id, and does not inherit the previous one");
    assertEquals("first\n second", events.get(1).data());
  }

  @Test
  void aBlankLineWithoutDataDispatchesNothing() {
    assertEquals(List.of(), read("id: 4", "event: Position", ""));
  }
}
