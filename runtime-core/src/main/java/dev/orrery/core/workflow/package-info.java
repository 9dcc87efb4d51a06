/**
 * The workflow model as users write it (YAML or JSON), its parser and its compiler: validation that
 * reports every problem with its location, Mustache prompt templates and CEL conditions. Plain Java on
 * Jackson, CEL, jmustache and the JSON-schema validator; no actors, so the Run entity and the edge share it.
 */
package dev.orrery.core.workflow;
