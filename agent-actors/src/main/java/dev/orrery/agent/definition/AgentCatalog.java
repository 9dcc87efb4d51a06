package dev.orrery.agent.definition;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The definitions every tenant sees, read once at start-up: the examples bundled on the classpath
 * (listed in {@code agents/index.txt}), then a catalog directory's {@code *.yaml}, {@code *.yml} and
 * {@code *.json} files, which replace bundled ones of the same name. Each is version 1. A bad file fails
 * the start with its name and every problem, rather than leaving an agent silently missing.
 */
public final class AgentCatalog {
  static final String BUNDLED_INDEX = "agents/index.txt";

  private final Map<String, AgentVersion> agents;

  private AgentCatalog(Map<String, AgentVersion> agents) {
    this.agents = Map.copyOf(agents);
  }

  public static AgentCatalog empty() {
    return new AgentCatalog(Map.of());
  }

  /** The bundled examples and, when given, a directory's definitions. */
  public static AgentCatalog load(Optional<Path> directory) {
    Map<String, AgentVersion> agents = new TreeMap<>();
    for (AgentDefinition d : bundled()) agents.put(d.name(), new AgentVersion(d.name(), 1, d, true, null));
    if (directory.isPresent()) {
      for (AgentDefinition d : fromDirectory(directory.get())) {
        agents.put(d.name(), new AgentVersion(d.name(), 1, d, true, null));
      }
    }
    return new AgentCatalog(agents);
  }

  public static AgentCatalog of(Collection<AgentDefinition> definitions) {
    Map<String, AgentVersion> agents = new TreeMap<>();
    for (AgentDefinition d : definitions) agents.put(d.name(), new AgentVersion(d.name(), 1, d, true, null));
    return new AgentCatalog(agents);
  }

  public Optional<AgentVersion> get(String name) {
    return Optional.ofNullable(agents.get(name));
  }

  /** Every catalog agent, by name. */
  public List<AgentVersion> all() {
    return new TreeMap<>(agents).values().stream().toList();
  }

  /** The examples shipped in this jar, in index order. */
  public static List<AgentDefinition> bundled() {
    ClassLoader loader = AgentCatalog.class.getClassLoader();
    List<AgentDefinition> definitions = new ArrayList<>();
    for (String line : resource(loader, BUNDLED_INDEX).split("\n")) {
      String file = line.strip();
      if (file.isEmpty() || file.startsWith("#")) continue;
      String path = "agents/" + file;
      definitions.add(AgentDefinition.read(resource(loader, path), "bundled " + path));
    }
    return definitions;
  }

  static List<AgentDefinition> fromDirectory(Path directory) {
    if (!Files.isDirectory(directory)) {
      throw new IllegalArgumentException("agent catalog directory " + directory + " does not exist");
    }
    List<Path> files;
    try (Stream<Path> listing = Files.list(directory)) {
      files = listing.filter(p -> {
        String n = p.getFileName().toString();
        return n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json");
      }).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list agent catalog directory " + directory, e);
    }
    List<AgentDefinition> definitions = new ArrayList<>();
    Map<String, Path> seen = new TreeMap<>();
    for (Path file : files) {
      String text;
      try {
        text = Files.readString(file, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read agent definition " + file, e);
      }
      AgentDefinition d = AgentDefinition.read(text, file.getFileName().toString());
      Path before = seen.put(d.name(), file);
      if (before != null) {
        throw new AgentDefinitionException(file.getFileName().toString(),
            List.of("'name' " + d.name() + " is already defined by " + before.getFileName()));
      }
      definitions.add(d);
    }
    return definitions;
  }

  private static String resource(ClassLoader loader, String path) {
    try (InputStream in = loader.getResourceAsStream(path)) {
      if (in == null) throw new IllegalStateException("missing classpath resource " + path);
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read classpath resource " + path, e);
    }
  }
}
