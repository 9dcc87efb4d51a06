package dev.orrery.edge.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** A run's inputs from {@code --inputs-file} (a JSON or YAML object) and {@code --input k=v}, which win. */
final class Inputs {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private Inputs() {}

  /** @throws ClientCommand.UsageError naming the file or the input that is not usable */
  static ObjectNode of(Path file, Map<String, String> pairs) {
    ObjectNode inputs = OrreryClient.object();
    if (file != null) inputs.setAll(fromFile(file));
    if (pairs != null) pairs.forEach((name, text) -> inputs.set(name, value(text)));
    return inputs;
  }

  /**
   * The value of {@code --input name=value}: JSON when it parses as JSON (numbers, booleans, null, arrays,
   * objects, quoted strings), else the text itself as a string.
   */
  static JsonNode value(String text) {
    try {
      JsonNode parsed = OrreryClient.json().readTree(text);
      if (parsed != null && !parsed.isMissingNode()) return parsed;
    } catch (JsonProcessingException e) {
      // not JSON: the text is the value
    }
    return OrreryClient.json().getNodeFactory().textNode(text);
  }

  private static ObjectNode fromFile(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new ClientCommand.UsageError("cannot read the inputs file " + file + ": " + e.getMessage());
    }
    JsonNode tree;
    try {
      // YAML 1.2 reads JSON too.
      tree = YAML.readTree(text);
    } catch (JsonProcessingException e) {
      throw new ClientCommand.UsageError("the inputs file " + file + " is neither JSON nor YAML: " + e.getOriginalMessage());
    }
    if (tree == null || tree.isMissingNode() || tree.isNull()) return OrreryClient.object();
    if (!tree.isObject()) {
      throw new ClientCommand.UsageError("the inputs file " + file + " must hold an object of input names to values");
    }
    return (ObjectNode) tree;
  }
}
