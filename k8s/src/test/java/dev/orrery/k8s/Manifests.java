package dev.orrery.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The Kubernetes objects one kustomization renders to, parsed with the fabric8 model, and lookups over
 * them. {@link #name} (the kustomization's directory) starts every assertion message.
 */
final class Manifests {
  static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private final String name;
  private final List<HasMetadata> objects;

  Manifests(String name, List<HasMetadata> objects) {
    this.name = name;
    this.objects = new ArrayList<>(objects);
  }

  /** One more object, as if the kustomization rendered it too (tests of the rules use it). */
  void add(HasMetadata object) {
    objects.add(object);
  }

  /** Every document of a multi-document YAML stream (kubectl kustomize's output, or a file). */
  static List<HasMetadata> parse(String source, String yaml) {
    List<HasMetadata> objects = new ArrayList<>();
    for (String document : yaml.split("(?m)^---[ \\t]*$")) {
      if (document.lines().allMatch(l -> l.isBlank() || l.strip().startsWith("#"))) continue;
      Object parsed;
      try {
        parsed = SERIALIZATION.unmarshal(document);
      } catch (RuntimeException e) {
        throw new AssertionError(source + ": not a Kubernetes object: " + e.getMessage() + "\n" + document, e);
      }
      if (parsed instanceof KubernetesList list) {
        objects.addAll(list.getItems());
      } else if (parsed instanceof HasMetadata object) {
        objects.add(object);
      } else {
        fail(source + ": expected Kubernetes objects, got " + parsed + "\n" + document);
      }
    }
    return objects;
  }

  String name() {
    return name;
  }

  List<HasMetadata> all() {
    return List.copyOf(objects);
  }

  <T extends HasMetadata> List<T> all(Class<T> kind) {
    return objects.stream().filter(kind::isInstance).map(kind::cast).toList();
  }

  /** The only object of this kind; fails when there are none or several. */
  <T extends HasMetadata> T one(Class<T> kind) {
    List<T> found = all(kind);
    assertEquals(1, found.size(), () -> name + ": expected exactly one " + kind.getSimpleName() + ", found "
        + found.stream().map(o -> o.getMetadata().getName()).toList());
    return found.get(0);
  }

  <T extends HasMetadata> Optional<T> named(Class<T> kind, String objectName) {
    return all(kind).stream().filter(o -> objectName.equals(o.getMetadata().getName())).findFirst();
  }

  /** The object of this kind and name; fails naming what was looked for and from where. */
  <T extends HasMetadata> T require(Class<T> kind, String objectName, String referencedBy) {
    return named(kind, objectName).orElseGet(() -> fail(name + ": " + referencedBy + " refers to "
        + kind.getSimpleName() + " '" + objectName + "', which is not in the rendering (it has "
        + all(kind).stream().map(o -> o.getMetadata().getName()).toList() + ")"));
  }

  /** Assertion messages start with where the objects came from. */
  String says(String message) {
    return "[" + name + "] " + message;
  }
}
