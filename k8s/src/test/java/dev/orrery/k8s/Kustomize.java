package dev.orrery.k8s;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@code kubectl kustomize}, when kubectl is installed: the same rendering {@code kubectl apply -k} applies. */
final class Kustomize {
  private Kustomize() {}

  private static final boolean AVAILABLE = probe();

  /** Whether {@code kubectl} is on the PATH and answers. */
  static boolean available() {
    return AVAILABLE;
  }

  /** The objects {@code dir} renders to; fails with kubectl's own message when it cannot. */
  static Manifests render(Path dir, String name) {
    try {
      Path out = Files.createTempFile("kustomize-", ".yaml");
      Path err = Files.createTempFile("kustomize-", ".err");
      try {
        Process p = new ProcessBuilder(List.of("kubectl", "kustomize", dir.toString()))
            .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new AssertionError("kubectl kustomize " + name + " did not finish in 60 s");
        }
        if (p.exitValue() != 0) {
          throw new AssertionError("kubectl kustomize " + name + " failed (exit " + p.exitValue() + "): "
              + Files.readString(err, StandardCharsets.UTF_8));
        }
        return new Manifests(name, Manifests.parse(name, Files.readString(out, StandardCharsets.UTF_8)));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while rendering " + name, e);
    }
  }

  private static boolean probe() {
    try {
      Process p = new ProcessBuilder(List.of("kubectl", "version", "--client"))
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false; // not installed
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
