package dev.orrery.router.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.router.provider.ProviderException.Kind;
import java.net.ConnectException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class ProviderFailuresTest {
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2015-10-21T07:28:00Z"), ZoneOffset.UTC);

  @Test
  void retryAfterReadsSecondsMillisAndDates() {
    assertEquals(Duration.ofSeconds(3), ProviderFailures.retryAfter(null, "3", CLOCK));
    assertEquals(Duration.ofMillis(1500), ProviderFailures.retryAfter(null, " 1.5 ", CLOCK));
    assertEquals(Duration.ofMillis(250), ProviderFailures.retryAfter("250", "3", CLOCK), "retry-after-ms wins");
    assertEquals(Duration.ofSeconds(90),
        ProviderFailures.retryAfter(null, "Wed, 21 Oct 2015 07:29:30 GMT", CLOCK));
    assertEquals(Duration.ZERO, ProviderFailures.retryAfter(null, "Wed, 21 Oct 2015 07:00:00 GMT", CLOCK),
        "a date in the past means now");
  }

  @Test
  void anUnreadableRetryAfterIsNoInstruction() {
    assertNull(ProviderFailures.retryAfter(null, null, CLOCK));
    assertNull(ProviderFailures.retryAfter(null, "soon", CLOCK));
    assertNull(ProviderFailures.retryAfter("-5", "NaN", CLOCK));
    assertEquals(Duration.ofSeconds(2), ProviderFailures.retryAfter("bogus", "2", CLOCK));
  }

  @Test
  void theErrorMessageIsReadFromEachProvidersShape() {
    assertEquals("bad model", ProviderFailures.errorMessage("{\"error\":{\"message\":\"bad model\",\"type\":\"x\"}}"));
    assertEquals("bad role",
        ProviderFailures.errorMessage(
            "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad role\"}}"));
    assertEquals("model not found", ProviderFailures.errorMessage("{\"error\":\"model not found\"}")); // Ollama
    assertEquals("too long", ProviderFailures.errorMessage("{\"detail\":\"too long\"}")); // FastAPI servers
    assertEquals("<html>Bad Gateway</html>", ProviderFailures.errorMessage("<html>Bad Gateway</html>\n"));
    assertEquals("(no body)", ProviderFailures.errorMessage(""));
    assertTrue(ProviderFailures.errorMessage("x".repeat(5000)).length() < 600, "long bodies are shortened");
  }

  @Test
  void statusesAreClassified() {
    ProviderException limited = ProviderFailures.forStatus("p", 429, null, "7", "{}", CLOCK);
    assertEquals(Kind.RATE_LIMITED, limited.kind());
    assertEquals(Duration.ofSeconds(7), limited.retryAfter());

    ProviderException overloaded = ProviderFailures.forStatus("p", 529, null, "1", null, CLOCK);
    assertEquals(Kind.SERVER_ERROR, overloaded.kind());
    assertEquals(Duration.ofSeconds(1), overloaded.retryAfter(), "a 5xx's Retry-After is kept for the router");

    // A provider that will not serve us (bad key, a model it lacks) is not the request's fault: the
    // router moves on to the next provider instead of failing the step for good.
    ProviderException notFound =
        ProviderFailures.forStatus("p", 404, null, null, "{\"error\":{\"message\":\"no\"}}", CLOCK);
    assertEquals(Kind.REFUSED, notFound.kind());
    assertTrue(notFound.getMessage().startsWith("p: HTTP 404: no"), notFound.getMessage());
    assertEquals(Kind.REFUSED, ProviderFailures.forStatus("p", 401, null, null, "{}", CLOCK).kind());
    assertEquals(Kind.REFUSED, ProviderFailures.forStatus("p", 403, null, null, "{}", CLOCK).kind());

    assertEquals(Kind.CLIENT_ERROR, ProviderFailures.forStatus("p", 400, null, null, "{}", CLOCK).kind());
    assertEquals(Kind.CLIENT_ERROR, ProviderFailures.forStatus("p", 422, null, null, "{}", CLOCK).kind());
    assertEquals(Kind.SERVER_ERROR, ProviderFailures.forStatus("p", 408, null, null, "{}", CLOCK).kind());
  }

  @Test
  void failuresBeforeAResponseAreConnectionFailures() {
    ProviderException refused = ProviderFailures.beforeResponse("p",
        new CompletionException(new ConnectException("Connection refused")));
    assertEquals(Kind.CONNECTION, refused.kind());
    assertEquals(0, refused.httpStatus());
  }

  @Test
  void errorEventsAreClassifiedByType() {
    assertEquals(Kind.SERVER_ERROR, ProviderFailures.errorEvent("p", "overloaded_error", "busy").kind());
    assertEquals(Kind.RATE_LIMITED, ProviderFailures.errorEvent("p", "rate_limit_error", "slow").kind());
    assertEquals(Kind.CLIENT_ERROR, ProviderFailures.errorEvent("p", "invalid_request_error", "bad").kind());
  }
}
