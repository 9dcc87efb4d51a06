package dev.orrery.bench;

import java.util.HashMap;
import java.util.Map;

/** The benchmarks' command line: {@code key=value} words (a bare {@code key} has the empty value). */
final class BenchArgs {
  private BenchArgs() {}

  static Map<String, String> parse(String[] args) {
    Map<String, String> opts = new HashMap<>();
    for (String a : args) {
      String[] kv = a.split("=", 2);
      opts.put(kv[0], kv.length > 1 ? kv[1] : "");
    }
    return opts;
  }
}
