package dev.orrery.k8s;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Fields the fabric8 model did not recognise (it keeps them in {@code additionalProperties}): a
 * misspelt {@code readinesProbe} or {@code terminationGracePeriod} that Kubernetes would ignore or refuse.
 */
final class UnknownFields {
  private UnknownFields() {}

  private static final String MODEL = "io.fabric8.kubernetes.api.model";

  /** Paths such as {@code spec.template.spec.containers[0].readinesProbe}. */
  static List<String> in(Object object) {
    List<String> found = new ArrayList<>();
    walk(object, "", found);
    return found;
  }

  private static void walk(Object o, String path, List<String> found) {
    if (o == null) return;
    if (o instanceof List<?> list) {
      for (int i = 0; i < list.size(); i++) walk(list.get(i), path + "[" + i + "]", found);
      return;
    }
    if (o instanceof Map<?, ?> map) {
      map.forEach((k, v) -> walk(v, path + "[" + k + "]", found));
      return;
    }
    if (!o.getClass().getName().startsWith(MODEL)
        || o instanceof io.fabric8.kubernetes.api.model.GenericKubernetesResource) {
      return;
    }
    for (Method getter : o.getClass().getMethods()) {
      if (getter.getParameterCount() != 0 || Modifier.isStatic(getter.getModifiers())
          || !getter.getName().startsWith("get") || getter.getName().equals("getClass")) {
        continue;
      }
      Object value;
      try {
        value = getter.invoke(o);
      } catch (IllegalAccessException | InvocationTargetException e) {
        continue; // a computed getter that does not apply to this object
      }
      if (getter.getName().equals("getAdditionalProperties")) {
        if (value instanceof Map<?, ?> extra) {
          extra.keySet().forEach(k -> found.add(join(path, String.valueOf(k))));
        }
        continue;
      }
      walk(value, join(path, property(getter.getName())), found);
    }
  }

  private static String property(String getter) {
    return Character.toLowerCase(getter.charAt(3)) + getter.substring(4);
  }

  private static String join(String path, String name) {
    return path.isEmpty() ? name : path + "." + name;
  }
}
