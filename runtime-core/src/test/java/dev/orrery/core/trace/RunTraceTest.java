package dev.orrery.core.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.opentelemetry.api.trace.SpanContext;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RunTraceTest {
  private static final String CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  @Test
  void aRunContinuesItsCallersTraceUnderASpanOfItsOwn() {
    RunTrace trace = RunTrace.start(CALLER, new Random(1));
    assertEquals("4bf92f3577b34da6a3ce929d0e0e4736", trace.traceId());
    assertEquals("00f067aa0ba902b7", trace.parentSpanId(), "the caller's span is the run's parent");
    assertNotEquals("00f067aa0ba902b7", trace.spanId());
    assertTrue(trace.sampled());
    assertEquals(trace.spanId(), trace.runSpan().getSpanId());
  }

  @Test
  void withoutAUsableTraceparentARunStartsASampledTraceOfItsOwn() {
    for (String none : new String[] {null, "", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"}) {
      RunTrace trace = RunTrace.start(none, new Random(2));
      assertNotEquals("4bf92f3577b34da6a3ce929d0e0e4736", trace.traceId(), String.valueOf(none));
      assertNull(trace.parentSpanId(), String.valueOf(none));
      assertNull(trace.callerSpan());
      assertTrue(trace.sampled());
    }
  }

  @Test
  void aCallersDecisionNotToSampleIsKept() {
    RunTrace trace = RunTrace.start("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", new Random(3));
    assertFalse(trace.sampled());
    assertFalse(Tracing.parse(trace.stepTraceparent("run/a/1")).isSampled(), "its steps' calls are not sampled either");
  }

  @Test
  void aStepAttemptsSpanIsNamedByItsIdempotencyKeyAlone() {
    RunTrace trace = RunTrace.start(CALLER, new Random(4));
    RunTrace sameRunElsewhere = new RunTrace(trace.traceId(), trace.spanId(), trace.parentSpanId(), true);
    assertEquals(trace.stepSpanId("run/draft/1"), sameRunElsewhere.stepSpanId("run/draft/1"),
        "any node names the same span for the same attempt");
    assertNotEquals(trace.stepSpanId("run/draft/1"), trace.stepSpanId("run/draft/2"), "each attempt its own span");
    SpanContext parent = Tracing.parse(trace.stepTraceparent("run/draft/1"));
    assertTrue(parent.isValid() && parent.isRemote());
    assertEquals(trace.traceId(), parent.getTraceId());
    assertEquals(trace.stepSpanId("run/draft/1"), parent.getSpanId());
  }

  @Test
  void itReadsBackFromJsonAndRefusesIdsThatAreNotIds() throws Exception {
    ObjectMapper json = new ObjectMapper();
    RunTrace trace = RunTrace.start(CALLER, new Random(5));
    assertEquals(trace, json.readValue(json.writeValueAsString(trace), RunTrace.class));
    assertThrows(IllegalArgumentException.class, () -> new RunTrace("xyz", trace.spanId(), null, true));
    assertThrows(IllegalArgumentException.class, () -> new RunTrace(trace.traceId(), "0000000000000000", null, true));
  }
}
