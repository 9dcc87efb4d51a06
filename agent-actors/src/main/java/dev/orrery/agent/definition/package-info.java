/**
 * Agent definitions (YAML or JSON, validated on load), the catalog of bundled and directory definitions
 * every tenant sees, and the per-tenant registry entity that keeps each created version durably.
 */
package dev.orrery.agent.definition;
