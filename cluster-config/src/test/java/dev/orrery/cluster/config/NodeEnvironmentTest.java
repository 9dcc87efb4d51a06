package dev.orrery.cluster.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.cluster.NodeEnvironment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@link NodeEnvironment} lists exactly the variables the node's code and configuration read, so that
 * manifests and docs checked against it name only settings that exist.
 */
class NodeEnvironmentTest {
  private static final Pattern IN_CONFIG = Pattern.compile("\\$\\{\\?([A-Z][A-Z0-9_]*)}");
  private static final Pattern IN_CODE = Pattern.compile("\"((?:ORRERY|OPENAI|ANTHROPIC|OLLAMA)_[A-Z0-9_]+)\"");
  private static final Pattern IN_LOGBACK = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*):-");

  @Test
  void listsEveryVariableTheModulesRead() throws IOException {
    Path root = Path.of("..").toAbsolutePath().normalize();
    Set<String> read = new TreeSet<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path file : files.filter(p -> p.toString().contains("/src/main/"))
          .filter(p -> !p.startsWith(root.resolve("bench")))
          .filter(p -> !p.getFileName().toString().equals("NodeEnvironment.java"))
          .filter(p -> p.toString().endsWith(".conf") || p.toString().endsWith(".java")
              || p.getFileName().toString().equals("logback.xml")).toList()) {
        Pattern pattern = file.toString().endsWith(".conf") ? IN_CONFIG
            : file.toString().endsWith(".xml") ? IN_LOGBACK : IN_CODE;
        Matcher m = pattern.matcher(Files.readString(file));
        while (m.find()) read.add(m.group(1));
      }
    }
    read.removeAll(NodeEnvironment.CLIENT_VARIABLES);
    read.remove("ENV"); // the example in application.conf's comment
    assertTrue(read.size() > 20, "found the variables: " + read);
    assertEquals(read, new TreeSet<>(NodeEnvironment.VARIABLES.keySet()));
    assertTrue(NodeEnvironment.VARIABLES.keySet().containsAll(NodeEnvironment.SECRETS));
  }
}
