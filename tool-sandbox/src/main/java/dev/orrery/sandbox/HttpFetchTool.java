package dev.orrery.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.orrery.core.port.ToolResult;
import dev.orrery.core.port.ToolSpec;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code http_fetch}: a GET of an http(s) URL whose host is on the allowlist, with a size cap and a
 * timeout. Redirects are followed by hand (at most {@value #MAX_REDIRECTS}), each target checked against
 * the allowlist like the first URL, so a redirect cannot lead elsewhere. No cookies, no credentials.
 */
public final class HttpFetchTool implements Tool {
  static final int MAX_REDIRECTS = 5;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ToolSettings.HttpFetch settings;
  private final HttpClient client;
  private final ToolSpec spec;

  public HttpFetchTool(ToolSettings.HttpFetch settings) {
    this.settings = settings;
    // The client's own threads: the caller's thread blocks in send(), so sharing its pool could starve it.
    AtomicInteger n = new AtomicInteger();
    Executor executor = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "orrery-http-fetch-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.client = HttpClient.newBuilder()
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(settings.timeout())
        .executor(executor)
        .build();
    ObjectNode schema = JSON.createObjectNode();
    schema.put("type", "object");
    ObjectNode url = schema.putObject("properties").putObject("url");
    url.put("type", "string");
    url.put("description", "The http or https URL to GET; its host must be on the allowlist.");
    url.put("minLength", 1);
    url.put("maxLength", 2048);
    schema.putArray("required").add("url");
    schema.put("additionalProperties", false);
    this.spec = new ToolSpec("http_fetch",
        "Fetches a web page or API response with GET and returns its body (hosts allowed: "
            + (settings.allowedHosts().isEmpty() ? "none" : String.join(", ", settings.allowedHosts())) + ").",
        schema);
  }

  @Override
  public ToolSpec spec() {
    return spec;
  }

  @Override
  public Duration maxTimeout() {
    return settings.timeout();
  }

  @Override
  public ToolResult run(JsonNode arguments, Duration timeout) {
    URI uri;
    try {
      uri = new URI(arguments.get("url").asText());
    } catch (URISyntaxException e) {
      return ToolResult.failed(name(), ToolErrors.INVALID_ARGUMENTS, "not a URL: " + e.getMessage(), 0);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
        Optional<String> refusal = refusal(uri);
        if (refusal.isPresent()) return ToolResult.failed(name(), ToolErrors.FORBIDDEN, refusal.get(), 0);
        Duration left = Duration.ofNanos(deadline - System.nanoTime());
        if (left.isNegative() || left.isZero()) return timedOut(timeout);
        HttpRequest request = HttpRequest.newBuilder(uri).GET().timeout(left)
            .header("User-Agent", "orrery-http-fetch").build();
        HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        int status = response.statusCode();
        if (status >= 300 && status < 400 && response.headers().firstValue("Location").isPresent()) {
          response.body().close();
          uri = uri.resolve(response.headers().firstValue("Location").get());
          continue;
        }
        byte[] body;
        boolean truncated;
        try (InputStream in = response.body()) {
          byte[] read = in.readNBytes(settings.maxBytes() + 1);
          truncated = read.length > settings.maxBytes();
          body = truncated ? java.util.Arrays.copyOf(read, settings.maxBytes()) : read;
        }
        String text = new String(body, StandardCharsets.UTF_8)
            + (truncated ? "\n" + CappedOutput.TRUNCATION_MARKER + ": kept " + settings.maxBytes() + " bytes]\n" : "");
        if (status >= 400) {
          return new ToolResult(name(), text, true, ToolErrors.FETCH_FAILED, "HTTP status " + status + " from " + uri,
              truncated, 0);
        }
        return ToolResult.ok(name(), text, truncated, 0);
      }
      return ToolResult.failed(name(), ToolErrors.FETCH_FAILED, "more than " + MAX_REDIRECTS + " redirects", 0);
    } catch (HttpTimeoutException e) {
      return timedOut(timeout);
    } catch (IOException e) {
      return ToolResult.failed(name(), ToolErrors.FETCH_FAILED, "cannot fetch " + uri + ": " + e, 0);
    } catch (IllegalArgumentException e) {
      return ToolResult.failed(name(), ToolErrors.INVALID_ARGUMENTS, "not a usable URL: " + e.getMessage(), 0);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return timedOut(timeout);
    }
  }

  private ToolResult timedOut(Duration timeout) {
    return ToolResult.failed(name(), ToolErrors.TIMEOUT, "no complete answer within " + timeout.toMillis() + " ms", 0);
  }

  /** Why a URL may not be fetched, or empty when it may. */
  Optional<String> refusal(URI uri) {
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      return Optional.of("only http and https URLs may be fetched, not '" + scheme + "'");
    }
    if (uri.getRawUserInfo() != null) return Optional.of("URLs with credentials may not be fetched");
    String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
    if (host.isEmpty()) return Optional.of("the URL has no host");
    if (!settings.allowedHosts().contains(host)) {
      return Optional.of("host '" + host + "' is not on the allowlist ("
          + (settings.allowedHosts().isEmpty() ? "which is empty" : String.join(", ", settings.allowedHosts())) + ")");
    }
    return Optional.empty();
  }
}
