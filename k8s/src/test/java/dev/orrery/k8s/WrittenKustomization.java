package dev.orrery.k8s;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A kustomization of plain files read without kustomize: its resources as written, its ConfigMap and
 * Secret generators' literals, and its namespace. Enough for k8s/base (no patches, no bases of its own),
 * so its invariants are checked on a machine without kubectl too. Names get no hash suffix, which is what
 * the files refer to anyway.
 */
final class WrittenKustomization {
  private WrittenKustomization() {}

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  static Manifests read(Path dir, String name) {
    Map<String, Object> kustomization = yaml(dir.resolve("kustomization.yaml"));
    List<HasMetadata> objects = new ArrayList<>();
    for (String resource : strings(kustomization.get("resources"))) {
      Path file = dir.resolve(resource);
      assertTrue(Files.isRegularFile(file), name + ": resource " + resource
          + " is not a file; only a kustomization of files can be read without kustomize");
      objects.addAll(Manifests.parse(name + "/" + resource, read(file)));
    }
    for (Map<String, Object> generator : maps(kustomization.get("configMapGenerator"))) {
      objects.add(new ConfigMapBuilder().withNewMetadata().withName((String) generator.get("name")).endMetadata()
          .withData(literals(generator, name)).build());
    }
    for (Map<String, Object> generator : maps(kustomization.get("secretGenerator"))) {
      Map<String, String> data = new LinkedHashMap<>();
      literals(generator, name).forEach((k, v) ->
          data.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
      objects.add(new SecretBuilder().withNewMetadata().withName((String) generator.get("name")).endMetadata()
          .withType("Opaque").withData(data).build());
    }
    String namespace = (String) kustomization.get("namespace");
    if (namespace != null) {
      for (HasMetadata object : objects) {
        if (object instanceof Namespaced) object.getMetadata().setNamespace(namespace);
        if (object instanceof RoleBinding binding) {
          binding.getSubjects().stream().filter(s -> "ServiceAccount".equals(s.getKind()) && s.getNamespace() == null)
              .forEach(s -> s.setNamespace(namespace));
        }
      }
    }
    return new Manifests(name, objects);
  }

  /** Every {@code KEY=value} line of an env file, comments and blank lines left out. */
  static Map<String, String> envFile(Path file) {
    Map<String, String> values = new LinkedHashMap<>();
    for (String line : read(file).lines().toList()) {
      if (line.isBlank() || line.strip().startsWith("#")) continue;
      int eq = line.indexOf('=');
      if (eq < 1) fail(file + ": '" + line + "' is not KEY=value");
      values.put(line.substring(0, eq).strip(), line.substring(eq + 1));
    }
    return values;
  }

  private static Map<String, String> literals(Map<String, Object> generator, String name) {
    if (generator.containsKey("envs") || generator.containsKey("files")) {
      fail(name + ": generator " + generator.get("name") + " reads files; only literals are read without kustomize");
    }
    Map<String, String> data = new LinkedHashMap<>();
    for (String literal : strings(generator.get("literals"))) {
      int eq = literal.indexOf('=');
      if (eq < 1) fail(name + ": literal '" + literal + "' of " + generator.get("name") + " is not KEY=value");
      data.put(literal.substring(0, eq), literal.substring(eq + 1));
    }
    return data;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> yaml(Path file) {
    try {
      return YAML.readValue(file.toFile(), Map.class);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @SuppressWarnings("unchecked")
  private static List<String> strings(Object list) {
    return list == null ? List.of() : (List<String>) list;
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> maps(Object list) {
    return list == null ? List.of() : (List<Map<String, Object>>) list;
  }
}
