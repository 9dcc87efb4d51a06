package dev.orrery.k8s;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.Secret;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The environment a container gets, with where each variable comes from, resolved against the rendered
 * ConfigMaps and Secrets the way the kubelet does ({@code env} wins over {@code envFrom}). Resolving fails
 * on a reference to a ConfigMap, Secret or key that the rendering does not have.
 */
final class PodEnvironment {
  /** Where a variable's value comes from: a value, a field of the pod, one key, or all keys ({@code envFrom}). */
  enum Source { LITERAL, POD_IP, FIELD, CONFIG_MAP_KEY, CONFIG_MAP_ALL, SECRET_KEY, SECRET_ALL }

  /** A variable: its value (the pod IP is {@link #POD_IP}) and where it comes from. */
  record Variable(String value, Source source, String from) {}

  static final String POD_IP = "10.20.30.40";

  private final Map<String, Variable> variables;

  private PodEnvironment(Map<String, Variable> variables) {
    this.variables = variables;
  }

  Map<String, Variable> variables() {
    return variables;
  }

  /** Name → value, as the process sees it. */
  Map<String, String> values() {
    Map<String, String> values = new LinkedHashMap<>();
    variables.forEach((k, v) -> values.put(k, v.value()));
    return values;
  }

  String value(String name) {
    Variable v = variables.get(name);
    return v == null ? null : v.value();
  }

  static PodEnvironment of(Container container, String namespace, Manifests m) {
    Map<String, Variable> variables = new LinkedHashMap<>();
    String where = "container " + container.getName();
    for (EnvFromSource from : container.getEnvFrom()) {
      assertTrue(from.getPrefix() == null || from.getPrefix().isEmpty(),
          m.says(where + ": envFrom with a prefix renames variables; list them instead"));
      if (from.getConfigMapRef() != null) {
        ConfigMap cm = configMap(m, from.getConfigMapRef().getName(), namespace, where + " envFrom");
        if (cm.getData() != null) cm.getData().forEach((k, v) -> put(m, variables, k, new Variable(v, Source.CONFIG_MAP_ALL, "ConfigMap "
            + cm.getMetadata().getName()), where));
      } else if (from.getSecretRef() != null) {
        Secret s = secret(m, from.getSecretRef().getName(), namespace, where + " envFrom");
        decoded(s).forEach((k, v) -> put(m, variables, k, new Variable(v, Source.SECRET_ALL, "Secret "
            + s.getMetadata().getName()), where));
      } else {
        fail(m.says(where + ": envFrom without a ConfigMap or Secret"));
      }
    }
    Map<String, Variable> explicit = new LinkedHashMap<>();
    for (EnvVar env : container.getEnv()) {
      assertTrue(!explicit.containsKey(env.getName()), m.says(where + " lists " + env.getName() + " twice"));
      explicit.put(env.getName(), variable(env, namespace, m, where));
    }
    explicit.forEach((k, v) -> put(m, variables, k, v, where));
    return new PodEnvironment(variables);
  }

  private static void put(Manifests m, Map<String, Variable> variables, String name, Variable v, String where) {
    Variable before = variables.put(name, v);
    // Legal (env wins), but then the ConfigMap says one thing and the pod does another.
    assertTrue(before == null, m.says(where + " gets " + name + " from both " + before + " and " + v
        + "; set it in one place"));
  }

  private static Variable variable(EnvVar env, String namespace, Manifests m, String where) {
    EnvVarSource source = env.getValueFrom();
    if (source == null) return new Variable(env.getValue() == null ? "" : env.getValue(), Source.LITERAL, "value");
    if (source.getFieldRef() != null) {
      String path = source.getFieldRef().getFieldPath();
      return "status.podIP".equals(path) ? new Variable(POD_IP, Source.POD_IP, path)
          : new Variable("<" + path + ">", Source.FIELD, path);
    }
    if (source.getConfigMapKeyRef() != null) {
      var ref = source.getConfigMapKeyRef();
      ConfigMap cm = configMap(m, ref.getName(), namespace, where + " " + env.getName());
      String value = cm.getData() == null ? null : cm.getData().get(ref.getKey());
      assertNotNull(value, m.says(where + " reads " + env.getName() + " from key " + ref.getKey() + " of ConfigMap "
          + ref.getName() + ", which has only " + (cm.getData() == null ? "{}" : cm.getData().keySet())));
      return new Variable(value, Source.CONFIG_MAP_KEY, "ConfigMap " + ref.getName() + " key " + ref.getKey());
    }
    if (source.getSecretKeyRef() != null) {
      var ref = source.getSecretKeyRef();
      Secret s = secret(m, ref.getName(), namespace, where + " " + env.getName());
      String value = decoded(s).get(ref.getKey());
      assertNotNull(value, m.says(where + " reads " + env.getName() + " from key " + ref.getKey() + " of Secret "
          + ref.getName() + ", which has only " + decoded(s).keySet()));
      return new Variable(value, Source.SECRET_KEY, "Secret " + ref.getName() + " key " + ref.getKey());
    }
    return fail(m.says(where + ": " + env.getName() + " comes from " + source + ", which this test does not know"));
  }

  private static ConfigMap configMap(Manifests m, String name, String namespace, String referencedBy) {
    ConfigMap cm = m.require(ConfigMap.class, name, referencedBy);
    assertTrue(sameNamespace(namespace, cm.getMetadata().getNamespace()),
        m.says(referencedBy + ": ConfigMap " + name + " is in another namespace"));
    return cm;
  }

  private static Secret secret(Manifests m, String name, String namespace, String referencedBy) {
    Secret s = m.require(Secret.class, name, referencedBy);
    assertTrue(sameNamespace(namespace, s.getMetadata().getNamespace()),
        m.says(referencedBy + ": Secret " + name + " is in another namespace"));
    return s;
  }

  static boolean sameNamespace(String a, String b) {
    return a == null ? b == null : a.equals(b);
  }

  /** A Secret's keys with their values, from {@code data} (base64) and {@code stringData}. */
  static Map<String, String> decoded(Secret s) {
    Map<String, String> values = new LinkedHashMap<>();
    if (s.getData() != null) {
      s.getData().forEach((k, v) -> values.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
    }
    if (s.getStringData() != null) values.putAll(s.getStringData());
    return values;
  }
}
