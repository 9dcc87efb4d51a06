package dev.orrery.core.workflow;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The example workflows bundled under {@code workflows/} on the classpath, loaded and compiled once at
 * construction, so a broken example fails startup rather than a user's first run. A classpath directory
 * cannot be listed from inside a jar, so {@code workflows/index.txt} names the files, one per line.
 */
public final class WorkflowCatalog {
  public static final String DIRECTORY = "workflows/";
  public static final String INDEX = DIRECTORY + "index.txt";

  private final Map<String, WorkflowSpec> byName;

  /** The bundled examples, read with this class's class loader. */
  public WorkflowCatalog() {
    this(WorkflowCatalog.class.getClassLoader());
  }

  /**
   * @throws WorkflowException when a listed workflow is missing or invalid
   * @throws IllegalStateException when the index is missing or two workflows share a name
   */
  public WorkflowCatalog(ClassLoader loader) {
    var specs = new LinkedHashMap<String, WorkflowSpec>();
    for (String file : index(loader)) {
      WorkflowSpec spec = read(loader, DIRECTORY + file);
      CompiledWorkflow.compile(spec);
      if (specs.putIfAbsent(spec.name(), spec) != null) {
        throw new IllegalStateException("two bundled workflows are named '" + spec.name() + "' (" + file + ")");
      }
    }
    this.byName = Collections.unmodifiableMap(specs);
  }

  public Optional<WorkflowSpec> find(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /** All bundled workflows, in index order. */
  public List<WorkflowSpec> all() {
    return List.copyOf(byName.values());
  }

  private static List<String> index(ClassLoader loader) {
    try (InputStream in = loader.getResourceAsStream(INDEX)) {
      if (in == null) throw new IllegalStateException("no " + INDEX + " on the classpath");
      var files = new ArrayList<String>();
      var reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        String file = line.strip();
        if (!file.isEmpty() && !file.startsWith("#")) files.add(file);
      }
      return files;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + INDEX, e);
    }
  }

  private static WorkflowSpec read(ClassLoader loader, String resource) {
    try (InputStream in = loader.getResourceAsStream(resource)) {
      if (in == null) {
        throw new WorkflowException(new Problem(resource, WorkflowParser.PARSE_ERROR, INDEX + " lists '" + resource + "', which is missing"));
      }
      return WorkflowParser.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource, e);
    }
  }
}
