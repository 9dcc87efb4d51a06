package dev.orrery.core.port;

import com.fasterxml.jackson.databind.JsonNode;

/** A tool the model may call, in the shape every provider takes: a name, what it does, its JSON Schema. */
public record ToolSpec(String name, String description, JsonNode parameters) {}
