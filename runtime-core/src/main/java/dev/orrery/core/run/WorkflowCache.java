package dev.orrery.core.run;

import dev.orrery.core.workflow.CompiledWorkflow;
import dev.orrery.core.workflow.WorkflowSpec;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Compiled workflows by spec, shared by every run on a node: most runs use one of a few specs, and
 * compiling (CEL, templates, DAG checks) once per spec rather than once per run and recovery is what
 * keeps a run's start cheap. Bounded, least recently used out.
 */
public final class WorkflowCache {
  private final Map<WorkflowSpec, CompiledWorkflow> compiled;

  public WorkflowCache(int capacity) {
    if (capacity <= 0) throw new IllegalArgumentException("capacity must be > 0, was " + capacity);
    this.compiled = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<WorkflowSpec, CompiledWorkflow> eldest) {
        return size() > capacity;
      }
    };
  }

  /** @throws dev.orrery.core.workflow.WorkflowException when the spec is invalid */
  public CompiledWorkflow compile(WorkflowSpec spec) {
    synchronized (compiled) {
      CompiledWorkflow hit = compiled.get(spec);
      if (hit != null) return hit;
    }
    CompiledWorkflow fresh = CompiledWorkflow.compile(spec);
    synchronized (compiled) {
      compiled.put(spec, fresh);
    }
    return fresh;
  }
}
