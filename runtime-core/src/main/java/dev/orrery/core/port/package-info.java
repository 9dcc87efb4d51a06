/**
 * The ports the Run entity calls through: a step knows a port, never an adapter. Adapters live in the
 * capability modules (the LLM router in llm-router-actors). Everything here is plain Java.
 */
package dev.orrery.core.port;
