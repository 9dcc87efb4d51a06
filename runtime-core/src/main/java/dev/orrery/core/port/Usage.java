package dev.orrery.core.port;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Tokens and cost of one call, or the sum of several. Cost is in micro-dollars (1e-6 USD). */
public record Usage(
    @JsonProperty("tokens_in") long tokensIn,
    @JsonProperty("tokens_out") long tokensOut,
    @JsonProperty("cost_micros") long costMicros) {

  public static final Usage ZERO = new Usage(0, 0, 0);

  public Usage {
    if (tokensIn < 0 || tokensOut < 0 || costMicros < 0) {
      throw new IllegalArgumentException(
          "usage must not be negative, was " + tokensIn + "/" + tokensOut + "/" + costMicros);
    }
  }

  public Usage plus(Usage other) {
    return new Usage(tokensIn + other.tokensIn, tokensOut + other.tokensOut, costMicros + other.costMicros);
  }
}
