package dev.orrery.core.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaException;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaId;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import com.networknt.schema.resource.DisallowSchemaLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * JSON Schema (draft 2020-12) for node outputs: checking that a workflow's {@code output_schema} is a
 * schema at all, and checking a node's output against it. Schemas come from users, so nothing is ever
 * fetched: a {@code $ref} or {@code $schema} pointing anywhere but the bundled meta-schemas is refused.
 */
public final class OutputSchemas {
  private static final JsonSchemaFactory FACTORY = JsonSchemaFactory.getInstance(
      SpecVersion.VersionFlag.V202012,
      builder -> builder.schemaLoaders(loaders -> loaders.add(iri ->
          // Meta-schemas are mapped to the validator's own classpath copies before loaders are asked.
          iri.toString().startsWith("classpath:draft") ? null : DisallowSchemaLoader.getInstance().getSchema(iri))));
  private static final int CACHE_LIMIT = 256;
  private static final Map<JsonNode, JsonSchema> CACHE = new ConcurrentHashMap<>();

  private OutputSchemas() {}

  /**
   * Validates a node's output against a schema.
   *
   * @param value a plain Java value (see {@link JsonValues}) or a tree
   * @return readable messages such as {@code $.label: does not have a value in the enumeration [...]};
   *     empty when the value is valid
   * @throws IllegalArgumentException when {@code schema} is not a usable schema (compiling a workflow
   *     rules that out)
   */
  public static List<String> validate(JsonNode schema, Object value) {
    return validate(load(schema), value);
  }

  static List<String> validate(JsonSchema schema, Object value) {
    var messages = new ArrayList<String>();
    for (ValidationMessage m : schema.validate(JsonValues.toTree(value))) messages.add(m.getMessage());
    return messages;
  }

  /** Why {@code schema} is not a usable JSON Schema; empty when it is. A usable one is cached. */
  static List<String> problems(JsonNode schema) {
    if (schema == null || !schema.isObject()) {
      return List.of("must be a JSON object (a JSON Schema), was "
          + (schema == null ? "null" : schema.getNodeType().name().toLowerCase()));
    }
    if (CACHE.containsKey(schema)) return List.of();
    var messages = new ArrayList<String>();
    for (ValidationMessage m : MetaSchema.INSTANCE.validate(schema)) messages.add(m.getMessage());
    if (!messages.isEmpty()) return messages;
    JsonSchema compiled;
    try {
      compiled = compile(schema);
    } catch (JsonSchemaException e) {
      return List.of(e.getMessage());
    }
    if (CACHE.size() >= CACHE_LIMIT) CACHE.clear(); // a crude bound; compiling again is cheap
    CACHE.put(schema.deepCopy(), compiled);
    return List.of();
  }

  /** A compiled schema; the same schema validates every output of a node, so it is compiled once. */
  static JsonSchema load(JsonNode schema) {
    List<String> problems = problems(schema);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("not a valid output schema: " + String.join("; ", problems));
    }
    JsonSchema compiled = CACHE.get(schema);
    // Another thread may have cleared the cache in between; compiling a valid schema again cannot fail.
    return compiled != null ? compiled : compile(schema);
  }

  private static JsonSchema compile(JsonNode schema) {
    JsonSchema compiled = FACTORY.getSchema(schema);
    compiled.initializeValidators(); // resolves every $ref now, so that validating later only reads
    return compiled;
  }

  /** Loaded on first use: reading the meta-schema takes a few milliseconds. */
  private static final class MetaSchema {
    static final JsonSchema INSTANCE = FACTORY.getSchema(SchemaLocation.of(SchemaId.V202012));
  }
}
