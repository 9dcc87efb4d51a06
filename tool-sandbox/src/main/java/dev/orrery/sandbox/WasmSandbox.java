package dev.orrery.sandbox;

import com.dylibso.chicory.runtime.ChicoryInterruptedException;
import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.wasi.WasiExitException;
import com.dylibso.chicory.wasi.WasiOptions;
import com.dylibso.chicory.wasi.WasiPreview1;
import com.dylibso.chicory.wasm.ChicoryException;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs a WASI command module (its {@code _start}) in Chicory's interpreter, inside the JVM. The module
 * gets stdin (the bytes given), stdout and stderr (capped), and nothing else: no preopened directory,
 * no environment, no arguments, no sockets (WASI preview 1 has none to grant). Limits: memory (the
 * module's memory is capped at {@code maxMemoryPages}; a module declaring more at start is refused,
 * {@code memory.grow} past it returns -1), output size, and wall-clock time — each run has its own
 * thread, which is interrupted at the deadline; Chicory's interpreter checks the interrupt flag at
 * every call and loop back-edge and stops with {@link ChicoryInterruptedException}.
 */
public final class WasmSandbox implements AutoCloseable {
  private final ToolSettings.Wasm settings;
  private final ExecutorService threads;

  public WasmSandbox(ToolSettings.Wasm settings) {
    this.settings = settings;
    AtomicInteger n = new AtomicInteger();
    this.threads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "orrery-wasm-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  public ToolSettings.Wasm settings() {
    return settings;
  }

  /** Runs {@code module} with {@code stdin}, stopping it after {@code timeout}. */
  public SandboxOutcome run(WasmModule module, byte[] stdin, Duration timeout) {
    MemoryLimits limits;
    if (module.memorySection().isPresent() && module.memorySection().get().memoryCount() > 0) {
      MemoryLimits declared = module.memorySection().get().getMemory(0).limits();
      if (declared.initialPages() > settings.maxMemoryPages()) {
        return SandboxOutcome.refused(ToolErrors.MEMORY_LIMIT, "the module asks for " + declared.initialPages()
            + " pages of memory at start; the limit is " + settings.maxMemoryPages() + " pages of 64 KiB");
      }
      limits = new MemoryLimits(declared.initialPages(), Math.min(declared.maximumPages(), settings.maxMemoryPages()));
    } else {
      limits = new MemoryLimits(0, 0);
    }
    var stdout = new CappedOutput(settings.maxOutputBytes());
    var stderr = new CappedOutput(settings.maxOutputBytes());
    Future<Integer> run = threads.submit(() -> execute(module, limits, stdin, stdout, stderr));
    boolean timedOut = false;
    int exit;
    String trap = null;
    try {
      exit = run.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException late) {
      run.cancel(true); // interrupts the thread; the interpreter stops at its next check
      timedOut = true;
      exit = -1;
    } catch (ExecutionException failed) {
      exit = -1;
      trap = String.valueOf(failed.getCause().getMessage());
    } catch (InterruptedException stopped) {
      run.cancel(true);
      Thread.currentThread().interrupt();
      timedOut = true;
      exit = -1;
    }
    return new SandboxOutcome(exit, stdout.textWithMarker(), stderr.textWithMarker(),
        stdout.truncated() || stderr.truncated(), timedOut,
        trap == null ? null : ToolErrors.TRAP, trap == null ? null : "the module trapped: " + trap);
  }

  private static int execute(WasmModule module, MemoryLimits limits, byte[] stdin, CappedOutput stdout,
      CappedOutput stderr) {
    WasiOptions options = WasiOptions.builder()
        .withStdin(new ByteArrayInputStream(stdin))
        .withStdout(stdout)
        .withStderr(stderr)
        .withArguments(List.of("tool"))
        .build();
    try (WasiPreview1 wasi = WasiPreview1.builder().withOptions(options).build()) {
      ImportValues imports = ImportValues.builder().addFunction(wasi.toHostFunctions()).build();
      Instance instance = Instance.builder(module)
          .withImportValues(imports)
          .withMemoryLimits(limits)
          .withStart(false)
          .build();
      instance.export("_start").apply();
      return 0;
    } catch (WasiExitException exit) {
      return exit.exitCode();
    } catch (ChicoryInterruptedException stopped) {
      return -1;
    } catch (ChicoryException | StackOverflowError trap) {
      throw new IllegalStateException(trap.getMessage() == null ? trap.getClass().getSimpleName() : trap.getMessage(), trap);
    }
  }

  @Override
  public void close() {
    threads.shutdownNow();
  }
}
